package aws

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed/strict"
)

// TestReplicationTimeControl: the DR policy's RPO rule credits S3
// replication with 15 minutes, which only Replication Time Control bounds.
// The replication driver turns it on with its metrics, in a configuration S3
// takes (the strict layer refuses what S3 refuses: RTC without metrics, on
// a V1 rule), and a read reports it so that refresh sees it switched off.
// The old driver wrote no RTC at all.
func TestReplicationTimeControl(t *testing.T) {
	e := startStrictEnv(t, only(strict.ReplicationRules))
	const region = "us-east-1"
	layer := e.s3(e.layer, region)
	for _, b := range []string{"rtc-primary", "rtc-secondary"} {
		must[*s3.CreateBucketOutput](t, "create "+b)(layer.CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}))
		must[*s3.PutBucketVersioningOutput](t, "version "+b)(layer.PutBucketVersioning(e.ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(b), VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}))
	}
	d := e.cloud.Drivers()[primitive.S3BucketReplication]
	props := map[string]any{
		"bucket": "rtc-primary", "role_arn": "arn:aws:iam::123456789012:role/meridian-rtc-replication",
		"destination_bucket_arn": "arn:aws:s3:::rtc-secondary", "replication_time_control": true,
	}
	req := request("aws_s3_bucket_replication.primary", primitive.S3BucketReplication, region, props, nil)
	res, err := d.Create(e.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	out := must[*s3.GetBucketReplicationOutput](t, "get replication from moto")(e.s3(e.moto, region).GetBucketReplication(e.ctx, &s3.GetBucketReplicationInput{Bucket: aws.String("rtc-primary")}))
	if n := len(out.ReplicationConfiguration.Rules); n != 1 {
		t.Fatalf("%d rules, want 1", n)
	}
	dest := out.ReplicationConfiguration.Rules[0].Destination
	if rt := dest.ReplicationTime; rt == nil || rt.Status != s3types.ReplicationTimeStatusEnabled || rt.Time == nil || aws.ToInt32(rt.Time.Minutes) != 15 {
		t.Errorf("ReplicationTime = %+v, want Enabled, 15 minutes", rt)
	}
	if m := dest.Metrics; m == nil || m.Status != s3types.MetricsStatusEnabled || m.EventThreshold == nil || aws.ToInt32(m.EventThreshold.Minutes) != 15 {
		t.Errorf("Metrics = %+v, want Enabled, EventThreshold 15 minutes", m)
	}
	rec := engine.Record{Name: req.Name, Type: req.Type, Region: region, ID: res.ID, Inputs: req.Properties}
	obs, err := d.Read(e.ctx, rec)
	if err != nil {
		t.Fatal(err)
	}
	if obs.Properties["replication_time_control"] != true {
		t.Errorf("read: replication_time_control = %v, want true", obs.Properties["replication_time_control"])
	}

	// Someone rewrites the rule without RTC: a read says so.
	must[*s3.PutBucketReplicationOutput](t, "rewrite")(layer.PutBucketReplication(e.ctx, &s3.PutBucketReplicationInput{Bucket: aws.String("rtc-primary"), ReplicationConfiguration: &s3types.ReplicationConfiguration{
		Role: aws.String(props["role_arn"].(string)),
		Rules: []s3types.ReplicationRule{{ID: aws.String("meridian"), Status: s3types.ReplicationRuleStatusEnabled, Priority: aws.Int32(1),
			Filter:                  &s3types.ReplicationRuleFilter{Prefix: aws.String("")},
			DeleteMarkerReplication: &s3types.DeleteMarkerReplication{Status: s3types.DeleteMarkerReplicationStatusEnabled},
			Destination:             &s3types.Destination{Bucket: aws.String("arn:aws:s3:::rtc-secondary")}}},
	}}))
	if obs, err = d.Read(e.ctx, rec); err != nil {
		t.Fatal(err)
	} else if obs.Properties["replication_time_control"] != false {
		t.Errorf("read after RTC was switched off: replication_time_control = %v, want false", obs.Properties["replication_time_control"])
	}
	// A configuration recorded without the key reads back without it.
	delete(rec.Inputs, "replication_time_control")
	if obs, err = d.Read(e.ctx, rec); err != nil {
		t.Fatal(err)
	} else if v, ok := obs.Properties["replication_time_control"]; ok {
		t.Errorf("read of a record without replication_time_control reports %v: a perpetual diff", v)
	}
}
