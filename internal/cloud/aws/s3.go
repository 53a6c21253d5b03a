package aws

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

type bucketProps struct {
	Bucket       string `json:"bucket"`
	Versioning   bool   `json:"versioning"`
	ForceDestroy bool   `json:"force_destroy"`
}

type bucketDriver struct{ c *Cloud }

func (bucketDriver) ForceNew() []string { return []string{"bucket"} }

// Marked: buckets carry the engine's ownership marks as tags.
func (bucketDriver) Marked() {}

func (d bucketDriver) Create(ctx context.Context, req engine.Request) (engine.Result, error) {
	var p bucketProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, err
	}
	client := d.c.S3(req.Region)
	// In us-east-1, S3 answers 200 to a CreateBucket by the owner of an
	// existing bucket, so the answer cannot tell a new bucket from one that
	// was there: look first.
	exists := false
	if regionOf(req.Region) == globalRegion {
		_, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(p.Bucket)})
		var re *awshttp.ResponseError
		switch err = classify(err); {
		case err == nil:
			exists = true
		case errors.Is(err, engine.ErrNotFound):
		case errors.As(err, &re) && re.HTTPStatusCode() == http.StatusForbidden:
			// Another account's bucket: CreateBucket says so (BucketAlreadyExists).
		default:
			return engine.Result{}, fmt.Errorf("look for bucket %s: %w", p.Bucket, err)
		}
	}
	if !exists {
		// The tags (the ownership marks among them) go with the create, so
		// that a create whose answer is lost leaves a bucket the engine's
		// retry can prove its own. Endpoints that ignore them (moto) get
		// them again from apply below.
		cfg := &s3types.CreateBucketConfiguration{}
		if regionOf(req.Region) != globalRegion {
			cfg.LocationConstraint = s3types.BucketLocationConstraint(req.Region)
		}
		for _, k := range sortedKeys(req.Tags) {
			cfg.Tags = append(cfg.Tags, s3types.Tag{Key: aws.String(k), Value: aws.String(req.Tags[k])})
		}
		in := &s3.CreateBucketInput{Bucket: aws.String(p.Bucket)}
		if cfg.LocationConstraint != "" || len(cfg.Tags) > 0 {
			in.CreateBucketConfiguration = cfg
		}
		_, err := client.CreateBucket(ctx, in)
		switch code(err) {
		case "":
		case "BucketAlreadyOwnedByYou":
			exists = true
		case "BucketAlreadyExists":
			return engine.Result{}, fmt.Errorf("S3 bucket %q belongs to another AWS account; bucket names are global, choose another name: %w: %w", p.Bucket, engine.ErrExists, err)
		default:
			return engine.Result{}, classify(err)
		}
	}
	var have map[string]string
	if exists {
		// A bucket this account owns already may be one a create cut short
		// made a moment ago (its answer lost): it may not be visible yet.
		var tags map[string]string
		notYet := func(err error) bool { return errors.Is(err, engine.ErrNotFound) || worthRetry(err) }
		err := retryWhile(ctx, bucketPropagation, notYet, func() (err error) {
			tags, err = bucketTags(ctx, client, p.Bucket)
			return err
		})
		if err != nil {
			return engine.Result{}, err
		}
		if err := engine.Claim(req, bucketWhat(p.Bucket, req.Region), tags); err != nil {
			return engine.Result{}, err
		}
		have = tags
	}
	// Fresh or just claimed, the bucket may still be propagating.
	if err := d.apply(ctx, client, p, have, req.Tags, true); err != nil {
		return engine.Result{}, err
	}
	return engine.Result{ID: p.Bucket, Outputs: bucketOutputs(p.Bucket, req.Region)}, nil
}

func bucketWhat(bucket, region string) string {
	return fmt.Sprintf("S3 bucket %q in %s", bucket, regionOf(region))
}

// Find looks for the bucket req names, without creating it.
func (d bucketDriver) Find(ctx context.Context, req engine.Request) (engine.Result, bool, error) {
	var p bucketProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, false, err
	}
	client := d.c.S3(req.Region)
	_, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(p.Bucket)})
	if err = classify(err); errors.Is(err, engine.ErrNotFound) {
		return engine.Result{}, false, nil
	} else if err != nil {
		return engine.Result{}, false, err
	}
	tags, err := bucketTags(ctx, client, p.Bucket)
	if err != nil {
		return engine.Result{}, false, err
	}
	if err := engine.Claim(req, bucketWhat(p.Bucket, req.Region), tags); err != nil {
		return engine.Result{}, true, err
	}
	return engine.Result{ID: p.Bucket, Outputs: bucketOutputs(p.Bucket, req.Region)}, true, nil
}

// HoldsData reports whether the bucket holds any object version or delete marker.
func (d bucketDriver) HoldsData(ctx context.Context, rec engine.Record) (string, error) {
	out, err := d.c.S3(rec.Region).ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(rec.ID), MaxKeys: aws.Int32(1)})
	if err = classify(err); errors.Is(err, engine.ErrNotFound) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("list object versions of %s: %w", rec.ID, err)
	}
	if len(out.Versions) > 0 || len(out.DeleteMarkers) > 0 {
		return "objects", nil
	}
	return "", nil
}

func bucketOutputs(bucket, region string) map[string]string {
	return map[string]string{"bucket": bucket, "arn": blueprint.ARN(region, "s3", "", "", bucket), "region": region}
}

// apply sets tags and versioning; have are the tags the bucket carries now.
// fresh says the bucket was made, or claimed, by a Create (whose bucket may
// come from a create cut short a moment ago): S3 may answer NoSuchBucket for
// a while after CreateBucket, and only then is that worth waiting out.
// The tags (the ownership marks among them) go first, and on a fresh bucket
// are retried on transient errors too: an engine retry of Create would meet
// an unmarked bucket it could not claim.
func (bucketDriver) apply(ctx context.Context, client *s3.Client, p bucketProps, have, want map[string]string, fresh bool) error {
	propagating := func(err error) bool { return fresh && (noSuchBucket(err) || worthRetry(err)) }
	if set, remove := tagDiff(have, want); len(set) > 0 || len(remove) > 0 || have == nil {
		err := retryWhile(ctx, bucketPropagation, propagating, func() (err error) {
			if len(want) == 0 {
				_, err = client.DeleteBucketTagging(ctx, &s3.DeleteBucketTaggingInput{Bucket: aws.String(p.Bucket)})
				return err
			}
			tagging := &s3types.Tagging{}
			for _, k := range sortedKeys(want) {
				tagging.TagSet = append(tagging.TagSet, s3types.Tag{Key: aws.String(k), Value: aws.String(want[k])})
			}
			_, err = client.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(p.Bucket), Tagging: tagging})
			return err
		})
		if err != nil {
			return fmt.Errorf("tags: %w", classify(err))
		}
	}
	status := s3types.BucketVersioningStatusSuspended
	if p.Versioning {
		status = s3types.BucketVersioningStatusEnabled
	}
	if err := retryWhile(ctx, bucketPropagation, propagating, func() error {
		_, err := client.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
			Bucket:                  aws.String(p.Bucket),
			VersioningConfiguration: &s3types.VersioningConfiguration{Status: status},
		})
		return err
	}); err != nil {
		return fmt.Errorf("versioning: %w", classify(err))
	}
	return nil
}

func (d bucketDriver) Read(ctx context.Context, rec engine.Record) (engine.Observation, error) {
	client := d.c.S3(rec.Region)
	if _, err := client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(rec.ID)}); err != nil {
		return engine.Observation{}, classify(err)
	}
	return d.observe(ctx, client, rec)
}

// observe reads what Read reports of a bucket that exists: its versioning and tags.
func (bucketDriver) observe(ctx context.Context, client *s3.Client, rec engine.Record) (engine.Observation, error) {
	v, err := client.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(rec.ID)})
	if err != nil {
		return engine.Observation{}, classify(err)
	}
	tags, err := bucketTags(ctx, client, rec.ID)
	if err != nil {
		return engine.Observation{}, err
	}
	return engine.Observation{
		Properties: map[string]any{"bucket": rec.ID, "versioning": v.Status == s3types.BucketVersioningStatusEnabled},
		Tags:       tags,
		Outputs:    bucketOutputs(rec.ID, rec.Region),
	}, nil
}

func bucketTags(ctx context.Context, client *s3.Client, bucket string) (map[string]string, error) {
	out, err := client.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(bucket)})
	if code(err) == "NoSuchTagSet" {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tags: %w", classify(err))
	}
	tags := map[string]string{}
	for _, t := range out.TagSet {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return tags, nil
}

func (d bucketDriver) Update(ctx context.Context, rec engine.Record, req engine.Request) (engine.Result, error) {
	var p bucketProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, err
	}
	client := d.c.S3(req.Region)
	have, err := bucketTags(ctx, client, rec.ID)
	if err != nil {
		return engine.Result{}, err
	}
	if err := d.apply(ctx, client, p, have, req.Tags, false); err != nil {
		return engine.Result{}, err
	}
	return engine.Result{ID: rec.ID, Outputs: bucketOutputs(rec.ID, req.Region)}, nil
}

func (d bucketDriver) Delete(ctx context.Context, rec engine.Record) error {
	var p bucketProps
	if err := primitive.Decode(rec.Inputs, &p); err != nil {
		return err
	}
	client := d.c.S3(rec.Region)
	if p.ForceDestroy {
		if err := emptyBucket(ctx, client, rec.ID); err != nil {
			return err
		}
	}
	_, err := client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(rec.ID)})
	if err = classify(err); errors.Is(err, engine.ErrNotFound) {
		return nil
	}
	if code(err) == "BucketNotEmpty" {
		// Not worth a retry: the bucket stays until someone empties it.
		return fmt.Errorf("S3 refused to delete bucket %s (BucketNotEmpty): it still holds objects. Set object_store.force_destroy = true and apply, then destroy; or empty the bucket yourself: %w", rec.ID, err)
	}
	return err
}

// emptyBucket deletes every version and delete marker, a page at a time.
func emptyBucket(ctx context.Context, client *s3.Client, bucket string) error {
	pages := s3.NewListObjectVersionsPaginator(client, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err = classify(err); errors.Is(err, engine.ErrNotFound) {
			return nil
		} else if err != nil {
			return fmt.Errorf("list object versions of %s: %w", bucket, err)
		}
		var ids []s3types.ObjectIdentifier
		for _, v := range page.Versions {
			ids = append(ids, s3types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
		}
		for _, m := range page.DeleteMarkers {
			ids = append(ids, s3types.ObjectIdentifier{Key: m.Key, VersionId: m.VersionId})
		}
		if len(ids) == 0 {
			continue
		}
		if _, err := client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)}}); err != nil {
			return fmt.Errorf("empty %s: %w", bucket, classify(err))
		}
	}
	return nil
}

type replicationProps struct {
	Bucket               string `json:"bucket"`
	RoleArn              string `json:"role_arn"`
	DestinationBucketArn string `json:"destination_bucket_arn"`
	// ReplicationTimeControl turns on S3 Replication Time Control: 99.99%
	// of objects replicated within 15 minutes, with the metrics that show
	// it. The DR policy's RPO rule counts on that bound.
	ReplicationTimeControl bool `json:"replication_time_control,omitempty"`
}

// rtcMinutes is the only time S3 Replication Time Control and its metrics
// threshold accept.
const rtcMinutes = 15

type replicationDriver struct{ c *Cloud }

func (replicationDriver) ForceNew() []string { return []string{"bucket"} }

func (d replicationDriver) Create(ctx context.Context, req engine.Request) (engine.Result, error) {
	var p replicationProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, err
	}
	// The replication role is usually made in the same apply: S3 cannot
	// assume it until IAM has propagated it.
	// The rule is in the V2 schema (Filter, Priority,
	// DeleteMarkerReplication), which Replication Time Control requires.
	dest := &s3types.Destination{Bucket: aws.String(p.DestinationBucketArn)}
	if p.ReplicationTimeControl {
		// S3 refuses Replication Time Control without its metrics.
		dest.ReplicationTime = &s3types.ReplicationTime{
			Status: s3types.ReplicationTimeStatusEnabled,
			Time:   &s3types.ReplicationTimeValue{Minutes: aws.Int32(rtcMinutes)},
		}
		dest.Metrics = &s3types.Metrics{
			Status:         s3types.MetricsStatusEnabled,
			EventThreshold: &s3types.ReplicationTimeValue{Minutes: aws.Int32(rtcMinutes)},
		}
	}
	err := retryWhile(ctx, rolePropagation, roleNotAssumable, func() error {
		_, err := d.c.S3(req.Region).PutBucketReplication(ctx, &s3.PutBucketReplicationInput{
			Bucket: aws.String(p.Bucket),
			ReplicationConfiguration: &s3types.ReplicationConfiguration{
				Role: aws.String(p.RoleArn),
				Rules: []s3types.ReplicationRule{{
					ID:                      aws.String("meridian"),
					Status:                  s3types.ReplicationRuleStatusEnabled,
					Priority:                aws.Int32(1),
					Filter:                  &s3types.ReplicationRuleFilter{Prefix: aws.String("")},
					DeleteMarkerReplication: &s3types.DeleteMarkerReplication{Status: s3types.DeleteMarkerReplicationStatusEnabled},
					Destination:             dest,
				}},
			},
		})
		return err
	})
	if err != nil {
		return engine.Result{}, classify(err)
	}
	return engine.Result{ID: p.Bucket}, nil
}

func (d replicationDriver) Read(ctx context.Context, rec engine.Record) (engine.Observation, error) {
	out, err := d.c.S3(rec.Region).GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: aws.String(rec.ID)})
	if err != nil {
		return engine.Observation{}, classify(err)
	}
	props := map[string]any{"bucket": rec.ID, "role_arn": aws.ToString(out.ReplicationConfiguration.Role)}
	for _, r := range out.ReplicationConfiguration.Rules {
		if aws.ToString(r.ID) == "meridian" && r.Destination != nil {
			props["destination_bucket_arn"] = aws.ToString(r.Destination.Bucket)
			if rtc := rtcOn(r.Destination); rtc || rec.Inputs["replication_time_control"] != nil {
				// Only where asked for or on: a configuration written
				// without it reads back as it was written.
				props["replication_time_control"] = rtc
			}
		}
	}
	return engine.Observation{Properties: props}, nil
}

// rtcOn says whether a rule's destination has Replication Time Control on
// with the 15-minute bound and its metrics: anything less does not keep
// the bound the RPO rule counts on.
func rtcOn(d *s3types.Destination) bool {
	rt, m := d.ReplicationTime, d.Metrics
	return rt != nil && rt.Status == s3types.ReplicationTimeStatusEnabled && rt.Time != nil && aws.ToInt32(rt.Time.Minutes) == rtcMinutes &&
		m != nil && m.Status == s3types.MetricsStatusEnabled
}

func (d replicationDriver) Update(ctx context.Context, _ engine.Record, req engine.Request) (engine.Result, error) {
	return d.Create(ctx, req)
}

func (d replicationDriver) Delete(ctx context.Context, rec engine.Record) error {
	_, err := d.c.S3(rec.Region).DeleteBucketReplication(ctx, &s3.DeleteBucketReplicationInput{Bucket: aws.String(rec.ID)})
	if err = classify(err); errors.Is(err, engine.ErrNotFound) {
		return nil
	}
	return err
}
