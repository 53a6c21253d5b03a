package aws

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// TestPickZone: the zone is the first by name of the available zones that
// offers every type, not region+"a": that zone may not exist for the
// account, be unavailable (then DescribeAvailabilityZones leaves it out), or
// lack a type.
func TestPickZone(t *testing.T) {
	offers := func(types ...string) map[string]bool {
		m := map[string]bool{}
		for _, ty := range types {
			m[ty] = true
		}
		return m
	}
	offered := map[string]map[string]bool{
		"us-west-1a": offers("m5.large"),
		"us-west-1b": offers("m5.large", "mac1.metal"),
		"us-west-1c": offers("m5.large", "mac1.metal"),
	}
	tests := []struct {
		desc   string
		zones  []string
		types  []string
		prefer string
		want   string
	}{
		{"first by name, whatever order the API answers in", []string{"us-west-1c", "us-west-1a", "us-west-1b"}, []string{"m5.large"}, "", "us-west-1a"},
		{"the a zone lacks a type", []string{"us-west-1a", "us-west-1b", "us-west-1c"}, []string{"m5.large", "mac1.metal"}, "", "us-west-1b"},
		{"the a zone is not available to the account", []string{"us-west-1c", "us-west-1b"}, []string{"m5.large"}, "", "us-west-1b"},
		{"no zone offers every type", []string{"us-west-1a", "us-west-1b"}, []string{"m5.large", "x9.large"}, "", ""},
		{"no zone at all", nil, []string{"m5.large"}, "", ""},
		{"the deployed zone is kept though another sorts first", []string{"us-west-1a", "us-west-1b", "us-west-1c"}, []string{"m5.large", "mac1.metal"}, "us-west-1c", "us-west-1c"},
		{"the deployed zone no longer offers a type", []string{"us-west-1a", "us-west-1b", "us-west-1c"}, []string{"mac1.metal"}, "us-west-1a", "us-west-1b"},
		{"the deployed zone is no longer available", []string{"us-west-1a", "us-west-1b"}, []string{"m5.large"}, "us-west-1c", "us-west-1a"},
	}
	for _, tt := range tests {
		if got := pickZone(tt.zones, offered, tt.types, tt.prefer); got != tt.want {
			t.Errorf("%s: pickZone = %q, want %q", tt.desc, got, tt.want)
		}
	}
}

// TestCapacityZoneAgainstMoto: the zone comes from DescribeAvailabilityZones
// and DescribeInstanceTypeOfferings (moto's offerings are AWS's: a1 is not
// in eu-west-1a, mac1.metal only in us-east-1b and c), and a type offered
// nowhere in the region is ErrNotOffered, naming it.
func TestCapacityZoneAgainstMoto(t *testing.T) {
	e := startOwnEnv(t)
	c, err := New(e.ctx, Config{Endpoint: e.moto.Endpoint(), AccessKey: "test", SecretKey: "test", SkipCredentialsValidation: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		region string
		types  []string
		want   string
	}{
		{"us-east-1", []string{"m5.large", "m6i.large"}, "us-east-1a"},
		{"us-east-1", []string{"m5.large", "mac1.metal"}, "us-east-1b"},
		{"eu-west-1", []string{"a1.large"}, "eu-west-1b"},
	} {
		got, err := c.CapacityZone(e.ctx, tt.region, tt.types, "")
		if err != nil || got != tt.want {
			t.Errorf("CapacityZone(%s, %v) = %q, %v; want %q", tt.region, tt.types, got, err, tt.want)
		}
	}
	if got, err := c.CapacityZone(e.ctx, "us-east-1", []string{"m5.large", "mac1.metal"}, "us-east-1c"); err != nil || got != "us-east-1c" {
		t.Errorf("CapacityZone preferring the deployed us-east-1c = %q, %v", got, err)
	}
	_, err = c.CapacityZone(e.ctx, "us-east-1", []string{"m5.large", "hpc6a.48xlarge"}, "")
	if !errors.Is(err, ErrNotOffered) || !strings.Contains(err.Error(), "hpc6a.48xlarge not offered in any available zone of us-east-1") {
		t.Errorf("a type offered nowhere in the region: %v, want ErrNotOffered naming it", err)
	}
}

// TestBucketARNPartition: a bucket's ARN is in its region's partition; the
// old driver named every bucket arn:aws:s3:::, so a replication rule or a
// policy in China or GovCloud pointed at a bucket AWS does not know.
func TestBucketARNPartition(t *testing.T) {
	e := startOwnEnv(t)
	d := e.drivers[primitive.S3Bucket]
	for region, want := range map[string]string{"cn-north-1": "arn:aws-cn:s3:::", "us-gov-west-1": "arn:aws-us-gov:s3:::", "eu-west-1": "arn:aws:s3:::"} {
		bucket := "partition-" + region
		res, err := d.Create(e.ctx, ownReq(primitive.S3Bucket, region, "aws_s3_bucket."+region, "tok-"+region, map[string]any{"bucket": bucket, "versioning": true}))
		if err != nil {
			t.Fatalf("%s: %v", region, err)
		}
		if got := res.Outputs["arn"]; got != want+bucket {
			t.Errorf("%s: arn %q, want %q", region, got, want+bucket)
		}
	}
}

// TestGlobalServicesInTheCredentialsPartition: IAM and Route 53 are called
// in the partition of the credentials (the ARN sts:GetCallerIdentity gives):
// China and GovCloud credentials are not valid in us-east-1, where every
// global call went before.
func TestGlobalServicesInTheCredentialsPartition(t *testing.T) {
	for _, tt := range []struct{ arn, partition, region string }{
		{"arn:aws:iam::123456789012:user/ci", "aws", "us-east-1"},
		{"arn:aws-cn:iam::123456789012:user/ci", "aws-cn", "cn-north-1"},
		{"arn:aws-us-gov:sts::123456789012:assumed-role/ci/s", "aws-us-gov", "us-gov-west-1"},
	} {
		p, err := partitionOf(tt.arn)
		if err != nil || p != tt.partition {
			t.Errorf("partitionOf(%q) = %q, %v; want %q", tt.arn, p, err, tt.partition)
			continue
		}
		c, err := New(context.Background(), Config{Endpoint: "http://127.0.0.1:9", AccessKey: "k", SecretKey: "s", SkipCredentialsValidation: true})
		if err != nil {
			t.Fatal(err)
		}
		c.partition = p
		if got := c.IAM().Options().Region; got != tt.region {
			t.Errorf("%s: IAM in %s, want %s", p, got, tt.region)
		}
		if got := c.Route53().Options().Region; got != tt.region {
			t.Errorf("%s: Route 53 in %s, want %s", p, got, tt.region)
		}
	}
	for _, arn := range []string{"", "not-an-arn", "arn:aws-iso-x:iam::1:user/u"} {
		if _, err := partitionOf(arn); err == nil {
			t.Errorf("partitionOf(%q) took it", arn)
		}
	}
}
