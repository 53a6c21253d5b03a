package provider

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

// Issue 11's situations 1, 3 and 4 through terraform (2, 8 and 9 are in
// partial_test.go, data_test.go and crash_test.go; 5-7 concern the CLI's
// targets, stacks and locks, which terraform does itself). moto is read
// with the AWS SDK alone.

// ownPair is a region pair "<name>" whose bucket prefix, force_destroy and
// health check interval a test changes.
type ownPair struct {
	name, prefix string
	forceDestroy bool
	interval     int
}

func (p ownPair) config(endpoint string) string {
	return providerConfig(endpoint, "{}") + fmt.Sprintf(`
resource "meridian_region_pair" "test" {
  name             = %[1]q
  primary_region   = "us-east-1"
  secondary_region = "us-west-2"

  object_store {
    bucket_prefix = %[2]q
    force_destroy = %[3]t
  }

  kv_table {
    hash_key = "id"
  }

  dns {
    zone_name          = "%[1]s.example.com"
    record_name        = "api"
    primary_endpoint   = "primary.%[1]s.example.com"
    secondary_endpoint = "secondary.%[1]s.example.com"

    health_check {
      interval = %[4]d
    }
  }
}
`, p.name, p.prefix, p.forceDestroy, p.interval)
}

// objectIn reads the object key of bucket, or says why it cannot.
func (c cloud) objectIn(region, bucket, key string) (string, error) {
	out, err := c.s3(region).GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)},
		func(o *s3.Options) { o.DisableLogOutputChecksumValidationSkipped = true })
	if err != nil {
		return "", fmt.Errorf("object %s in %s: %w", key, bucket, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	return string(b), err
}

// TestAccRegionPair_existingBucket (situation 1): a bucket the pair would
// create already exists in us-east-1, where S3 answers 200 to its owner's
// CreateBucket, and holds an object. The plan fails naming it, before any
// change; with another prefix the pair applies; destroy leaves the user's
// bucket, untagged, with its object.
func TestAccRegionPair_existingBucket(t *testing.T) {
	endpoint := acceptance(t)
	c := cloud{endpoint}
	ctx := context.Background()
	const taken = "acc-taken-us-east-1"
	if _, err := c.s3("us-east-1").CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(taken)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.s3("us-east-1").PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(taken), Key: aws.String("precious.txt"), Body: strings.NewReader("keep me")}); err != nil {
		t.Fatal(err)
	}
	untouched := func(*terraform.State) error {
		if got, err := c.objectIn("us-east-1", taken, "precious.txt"); err != nil || got != "keep me" {
			return fmt.Errorf("the user's bucket lost its object: %q %v", got, err)
		}
		if tags, err := c.s3("us-east-1").GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(taken)}); err == nil {
			return fmt.Errorf("the user's bucket was tagged: %v", tags.TagSet)
		}
		return nil
	}
	p := ownPair{name: "taken", prefix: "acc-taken", forceDestroy: true, interval: 30}
	free := p
	free.prefix = "acc-free"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		CheckDestroy: func(s *terraform.State) error {
			if err := untouched(s); err != nil {
				return err
			}
			for _, region := range inventoryRegions {
				if _, err := c.s3(region).HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("acc-free-" + region)}); err == nil {
					return fmt.Errorf("bucket acc-free-%s is left after destroy", region)
				}
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config:      p.config(endpoint),
				ExpectError: wrapped(`acc-taken-us-east-1.*already exists and not created by this resource`),
			},
			{
				PreConfig: func() {
					if err := untouched(nil); err != nil {
						t.Fatal(err)
					}
				},
				Config: free.config(endpoint),
				Check:  untouched,
			},
		},
	})
}

// TestAccRegionPair_refusedDelete (situation 3): destroying a bucket that
// holds an object without force_destroy is refused with what to do. The
// resource is not stuck: its next plan is an update that puts back what
// the destroy removed before the refusal, not a replacement; with
// force_destroy set and applied, destroy removes everything.
func TestAccRegionPair_refusedDelete(t *testing.T) {
	endpoint := acceptance(t)
	c := cloud{endpoint}
	p := ownPair{name: "refused", prefix: "acc-refused", forceDestroy: false, interval: 30}
	forced := p
	forced.forceDestroy = true
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		CheckDestroy: func(*terraform.State) error {
			return sameObjects(c.inventory(t, "refused"), map[string]int{})
		},
		Steps: []resource.TestStep{
			{
				Config: p.config(endpoint),
				Check: func(*terraform.State) error {
					_, err := c.s3("us-east-1").PutObject(context.Background(), &s3.PutObjectInput{
						Bucket: aws.String("acc-refused-us-east-1"), Key: aws.String("precious.txt"), Body: strings.NewReader("keep me")})
					return err
				},
			},
			{
				Config:      p.config(endpoint),
				Destroy:     true,
				ExpectError: wrapped(`(?s)BucketNotEmpty.*force_destroy`),
			},
			{
				PreConfig: func() {
					if got, err := c.objectIn("us-east-1", "acc-refused-us-east-1", "precious.txt"); err != nil || got != "keep me" {
						t.Fatalf("the refused delete lost the object: %q %v", got, err)
					}
				},
				Config: p.config(endpoint),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error { return sameObjects(c.inventory(t, "refused"), pairObjects("refused")) },
			},
			{
				Config: forced.config(endpoint),
			},
		},
	})
}

// TestAccRegionPair_replaceWithDependents (situation 4): a new health check
// interval replaces the check that both failover records use (AWS refuses
// to delete a check in use): the records go first and come back pointing
// at the new check, leaving exactly one of each object and an empty plan.
func TestAccRegionPair_replaceWithDependents(t *testing.T) {
	endpoint := acceptance(t)
	c := cloud{endpoint}
	p := ownPair{name: "deps", prefix: "acc-deps", forceDestroy: true, interval: 30}
	faster := p
	faster.interval = 10
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		CheckDestroy: func(*terraform.State) error {
			return sameObjects(c.inventory(t, "deps"), map[string]int{})
		},
		Steps: []resource.TestStep{
			{Config: p.config(endpoint)},
			{
				Config: faster.config(endpoint),
				Check:  func(*terraform.State) error { return sameObjects(c.inventory(t, "deps"), pairObjects("deps")) },
			},
		},
	})
}

// TestAccRegionPair_nameClaimedTwice (situation 6 through terraform): two
// region pairs of one configuration that would claim the same bucket names,
// or the same zone, fail the plan naming both, and nothing is created.
func TestAccRegionPair_nameClaimedTwice(t *testing.T) {
	endpoint := acceptance(t)
	c := cloud{endpoint}
	two := func(prefixB, zoneB string) string {
		a := ownPair{name: "clash-a", prefix: "acc-clash", forceDestroy: true, interval: 30}.config(endpoint)
		b := strings.Replace(ownPair{name: "clash-b", prefix: prefixB, forceDestroy: true, interval: 30}.config(""), `"meridian_region_pair" "test"`, `"meridian_region_pair" "other"`, 1)
		b = b[strings.Index(b, `resource "meridian_region_pair"`):]
		return a + strings.ReplaceAll(b, "clash-b.example.com", zoneB)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{
			{
				Config:      two("acc-clash", "clash-b.example.com"),
				ExpectError: wrapped(`(?s)Name claimed twice.*S3 bucket "acc-clash-us-east-1".*meridian_region_pair "clash-`),
			},
			{
				Config:      two("acc-clash-b", "clash-a.example.com"),
				ExpectError: wrapped(`(?s)Name claimed twice.*Route 53 hosted zone "clash-a.example.com"`),
			},
			{
				PreConfig: func() {
					if err := sameObjects(c.inventory(t, "clash-a", "clash-b"), map[string]int{}); err != nil {
						t.Fatalf("a refused plan created objects: %v", err)
					}
				},
				// Distinct names apply, plan empty and destroy as usual.
				Config: two("acc-clash-b", "clash-b.example.com"),
			},
		},
	})
}
