package state_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/state"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed/strict"
)

// TestS3StateInAnyRegion: a team's state bucket in eu-west-1, reached with
// a client made for us-east-1 (the default). S3 serves a bucket only in its
// region (the strict layer answers 301 PermanentRedirect, as S3 does, where
// moto serves any region), so the store must find the bucket's region and
// talk to it there. The old backend only worked with a bucket in us-east-1.
func TestS3StateInAnyRegion(t *testing.T) {
	var opts strict.Options
	for _, b := range strict.Behaviours() {
		if b != strict.BucketRegion {
			opts.Off = append(opts.Off, b)
		}
	}
	s := testbed.StartStrict(t, opts)
	ctx := context.Background()
	client := func(endpoint, region string) *s3.Client {
		return s3.New(s3.Options{
			Region: region, BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
			Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		})
	}
	const region = "eu-west-1"
	if _, err := client(s.Moto.Endpoint(), region).CreateBucket(ctx, &s3.CreateBucketInput{
		Bucket: aws.String("team-state-eu"), CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: region},
	}); err != nil {
		t.Fatal(err)
	}
	store, err := state.S3Store{Client: client(s.Endpoint(), "us-east-1"), Bucket: "team-state-eu", Prefix: "stacks"}.Located(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := store.Client.Options().Region; got != region {
		t.Errorf("the store talks to its bucket in %q, want %q", got, region)
	}
	b, err := store.Stack("web")
	if err != nil {
		t.Fatal(err)
	}
	l, err := b.Lock(ctx, "up")
	if err != nil {
		t.Fatalf("lock: %v", err)
	}
	rec := engine.Record{Name: "obj.a", Type: "t", Region: "r", ID: "id"}
	if err := b.Append(ctx, engine.Changes{Put: []engine.Record{rec}}); err != nil {
		t.Fatalf("append: %v", err)
	}
	var doc state.Document
	doc.Records = []engine.Record{rec}
	if err := b.Save(ctx, doc); err != nil {
		t.Fatalf("save: %v", err)
	}
	if err := b.Unlock(ctx, l); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	if stacks, err := store.Stacks(ctx); err != nil || len(stacks) != 1 || stacks[0] != "web" {
		t.Errorf("stacks: %v, %v", stacks, err)
	}
	// Read back on moto itself, past the layer.
	back, _ := state.S3Store{Client: client(s.Moto.Endpoint(), region), Bucket: "team-state-eu", Prefix: "stacks"}.Stack("web")
	if d, err := back.Load(ctx); err != nil || len(d.Records) != 1 {
		t.Errorf("state on moto: %+v, %v", d, err)
	}
	if s.Server.Counts()[strict.BucketRegion] == 0 {
		t.Error("the layer never redirected: the test did not exercise bucket-region")
	}

	// A bucket that is not there: the store stays as it was, and its first
	// use says the bucket is missing, as before.
	missing, err := state.S3Store{Client: client(s.Endpoint(), "us-east-1"), Bucket: "no-such-state"}.Located(ctx)
	if err != nil || missing.Client.Options().Region != "us-east-1" {
		t.Errorf("located a missing bucket: %v, %v", missing.Client.Options().Region, err)
	}
}
