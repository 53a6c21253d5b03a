package sdk_test

import (
	"context"
	"strings"
	"testing"

	"github.com/meridianhq/terraform-provider-meridian/sdk"
)

// TestNameClashFailsBeforeAnyCall: a Go program that declares two pairs
// with one bucket prefix gets an error naming both primitives from Preview
// and Up, and Up calls no driver and records nothing.
func TestNameClashFailsBeforeAnyCall(t *testing.T) {
	ctx := context.Background()
	drivers, mem := memoryDrivers()
	ws, err := sdk.Open(ctx, sdk.Options{Stack: "dev", State: t.TempDir(), Drivers: drivers})
	if err != nil {
		t.Fatal(err)
	}
	prog := func(c *sdk.Context) error {
		a, b := pair("alpha"), pair("beta")
		b.ObjectStore.BucketPrefix = a.ObjectStore.BucketPrefix
		c.RegionPair(a)
		c.RegionPair(b)
		return nil
	}
	want := `S3 bucket "sdk-test-alpha-us-east-1" (unique in every account) is claimed by both alpha/aws_s3_bucket.primary and beta/aws_s3_bucket.primary`
	if _, err := ws.Preview(ctx, prog); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("preview: %v, want %q", err, want)
	}
	if _, err := ws.Up(ctx, prog, nil); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("up: %v, want %q", err, want)
	}
	if n := mem.Len(); n != 0 {
		t.Fatalf("up with a name clash created %d objects", n)
	}
	doc, err := ws.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Records) != 0 {
		t.Fatalf("up with a name clash recorded %d primitives", len(doc.Records))
	}
}

// TestTagOverAWSLimitFailsThePlan: a tag value longer than AWS allows (256
// characters) fails Preview and Up, naming the tag and the primitives,
// before any driver call; the ownership marks count against the limits.
func TestTagOverAWSLimitFailsThePlan(t *testing.T) {
	ctx := context.Background()
	drivers, mem := memoryDrivers()
	ws, err := sdk.Open(ctx, sdk.Options{Stack: "dev", State: t.TempDir(), Drivers: drivers})
	if err != nil {
		t.Fatal(err)
	}
	prog := func(c *sdk.Context) error {
		p := pair("alpha")
		p.Tags = map[string]string{"team": strings.Repeat("x", 257)}
		c.RegionPair(p)
		return nil
	}
	for _, op := range []string{"preview", "up"} {
		var err error
		if op == "preview" {
			_, err = ws.Preview(ctx, prog)
		} else {
			_, err = ws.Up(ctx, prog, nil)
		}
		if err == nil || !strings.Contains(err.Error(), `Tag value too long`) || !strings.Contains(err.Error(), `alpha/aws_s3_bucket.primary`) {
			t.Fatalf("%s with a 257-character tag: %v", op, err)
		}
	}
	if n := mem.Len(); n != 0 {
		t.Fatalf("up created %d objects", n)
	}
}
