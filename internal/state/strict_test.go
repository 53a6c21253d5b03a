package state_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/state"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed/strict"
)

// TestS3UnderFaults runs the S3 backend through the strict layer with
// connection resets on a share of the calls, some after S3 made the write:
// with the SDK's standard retries (as the aws package's clients outside the
// engine have), a retried conditional write fails its condition against its
// own first try, and the backend must see that it landed rather than report
// a lock held by someone else or a state changed by another run.
func TestS3UnderFaults(t *testing.T) {
	opts := strict.Options{FaultRate: 0.3, FaultKinds: []strict.Fault{strict.FaultReset}, Seed: 7}
	for _, b := range strict.Behaviours() {
		if b != strict.Faults {
			opts.Off = append(opts.Off, b)
		}
	}
	s := testbed.StartStrict(t, opts)
	ctx := context.Background()
	newClient := func(endpoint string, attempts int) *s3.Client {
		return s3.New(s3.Options{
			Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
			Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
			Retryer:     retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = attempts }),
		})
	}
	onMoto := newClient(s.Moto.Endpoint(), 1)
	if _, err := onMoto.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("state")}); err != nil {
		t.Fatal(err)
	}
	store := state.S3Store{Client: newClient(s.Endpoint(), 10), Bucket: "state"}
	const runs, changes = 5, 8
	for run := range runs {
		b, _ := store.Stack("faulty")
		l, err := b.Lock(ctx, "up")
		if err != nil {
			t.Fatalf("run %d: lock: %v", run, err)
		}
		d, err := b.Load(ctx)
		if err != nil {
			t.Fatalf("run %d: load: %v", run, err)
		}
		for i := range changes {
			rec := engine.Record{Name: fmt.Sprintf("obj.%d.%d", run, i), Type: "t", Region: "r", ID: "id"}
			if err := b.Append(ctx, engine.Changes{Put: []engine.Record{rec}}); err != nil {
				t.Fatalf("run %d: append %d: %v", run, i, err)
			}
			d.Records = append(d.Records, rec)
		}
		if err := b.Save(ctx, d); err != nil {
			t.Fatalf("run %d: save: %v", run, err)
		}
		if err := b.Unlock(ctx, l); err != nil {
			t.Fatalf("run %d: unlock: %v", run, err)
		}
	}
	if s.Server.Counts()[strict.Faults] == 0 {
		t.Fatal("no fault was injected: the test proves nothing")
	}
	// Read back on moto itself, past the layer.
	got, err := state.S3Store{Client: onMoto, Bucket: "state"}.Stack("faulty")
	if err != nil {
		t.Fatal(err)
	}
	d, err := got.Load(ctx)
	if err != nil || len(d.Records) != runs*changes || d.Serial != runs {
		t.Fatalf("state on moto: %d records, serial %d (%v); want %d records, serial %d", len(d.Records), d.Serial, err, runs*changes, runs)
	}
}
