package strict_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/meridianhq/terraform-provider-meridian/internal/testbed/strict"
)

// TestReplicationRules: S3 refuses Replication Time Control without its
// metrics, with a time other than 15 minutes or on a V1 rule, and a V2 rule
// without DeleteMarkerReplication; moto takes them all, so a driver that
// wrote one would pass on moto and fail on AWS.
func TestReplicationRules(t *testing.T) {
	setup := func(s *strict.Server) *s3.Client {
		c := s3Client(s.Endpoint())
		for _, b := range []string{"rtc-source", "rtc-destination"} {
			_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)})
			ok(t, "CreateBucket "+b, err)
			_, err = c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(b), VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}})
			ok(t, "PutBucketVersioning "+b, err)
		}
		return c
	}
	rtc := func(minutes int32) *s3types.ReplicationTime {
		return &s3types.ReplicationTime{Status: s3types.ReplicationTimeStatusEnabled, Time: &s3types.ReplicationTimeValue{Minutes: aws.Int32(minutes)}}
	}
	metrics := &s3types.Metrics{Status: s3types.MetricsStatusEnabled, EventThreshold: &s3types.ReplicationTimeValue{Minutes: aws.Int32(15)}}
	v2 := func(dest s3types.Destination) s3types.ReplicationRule {
		dest.Bucket = aws.String("arn:aws:s3:::rtc-destination")
		return s3types.ReplicationRule{
			ID: aws.String("r"), Status: s3types.ReplicationRuleStatusEnabled, Priority: aws.Int32(1),
			Filter:                  &s3types.ReplicationRuleFilter{Prefix: aws.String("")},
			DeleteMarkerReplication: &s3types.DeleteMarkerReplication{Status: s3types.DeleteMarkerReplicationStatusEnabled},
			Destination:             &dest,
		}
	}
	put := func(c *s3.Client, rule s3types.ReplicationRule) error {
		_, err := c.PutBucketReplication(ctx, &s3.PutBucketReplicationInput{Bucket: aws.String("rtc-source"), ReplicationConfiguration: &s3types.ReplicationConfiguration{
			Role: aws.String("arn:aws:iam::123456789012:role/replication"), Rules: []s3types.ReplicationRule{rule}}})
		return err
	}
	noMetrics := v2(s3types.Destination{ReplicationTime: rtc(15)})
	thirty := v2(s3types.Destination{ReplicationTime: rtc(30), Metrics: metrics})
	v1 := v2(s3types.Destination{ReplicationTime: rtc(15), Metrics: metrics})
	v1.Filter, v1.DeleteMarkerReplication, v1.Prefix = nil, nil, aws.String("") //nolint:staticcheck // the V1 schema is the point
	noMarkers := v2(s3types.Destination{})
	noMarkers.DeleteMarkerReplication = nil
	refused := map[string]s3types.ReplicationRule{
		"RTC without metrics": noMetrics, "RTC of 30 minutes": thirty, "RTC on a V1 rule": v1, "V2 without DeleteMarkerReplication": noMarkers,
	}

	s := start(t, only(strict.Options{}, strict.ReplicationRules))
	c := setup(s)
	for what, rule := range refused {
		wantCode(t, what, put(c, rule), "InvalidRequest")
	}
	ok(t, "RTC with metrics", put(c, v2(s3types.Destination{ReplicationTime: rtc(15), Metrics: metrics})))
	ok(t, "a V2 rule without RTC", put(c, v2(s3types.Destination{})))
	if n := s.Counts()[strict.ReplicationRules]; n != len(refused) {
		t.Errorf("replication-rules answered %d times, want %d", n, len(refused))
	}

	s = start(t, none())
	c = setup(s)
	for what, rule := range refused {
		ok(t, what+" with replication-rules off (moto takes it)", put(c, rule))
	}
}
