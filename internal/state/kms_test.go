package state_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/state"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed"
)

// createKMSKey makes a KMS key on moto with a raw JSON call (no meridian
// code, no KMS client needed) and returns its ARN.
func createKMSKey(t *testing.T, endpoint string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint+"/", strings.NewReader(`{"Description":"meridian state"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "TrentService.CreateKey")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ KeyMetadata struct{ Arn string } }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.KeyMetadata.Arn == "" {
		t.Fatalf("CreateKey: status %d, %v, %+v", resp.StatusCode, err, out)
	}
	return out.KeyMetadata.Arn
}

// encryption lists every object under prefix with how it is encrypted, as
// a raw S3 client reads it with HeadObject.
func encryption(t *testing.T, client *s3.Client, bucket, prefix string) map[string]string {
	t.Helper()
	ctx := context.Background()
	list, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, o := range list.Contents {
		head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: o.Key})
		if err != nil {
			t.Fatal(err)
		}
		out[aws.ToString(o.Key)] = fmt.Sprintf("%s %s", head.ServerSideEncryption, aws.ToString(head.SSEKMSKeyId))
	}
	return out
}

// TestS3KMSKey: with KMSKeyID set, the lock, every journal entry and the
// state are written SSE-KMS under that key, as HeadObject on moto shows;
// without it, they are not (so the check can fail).
func TestS3KMSKey(t *testing.T) {
	testbed.RequireTool(t, "moto_server")
	ctx := context.Background()
	m, err := testbed.StartMoto(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Stop() })
	client := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(m.Endpoint()), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("kms-state")}); err != nil {
		t.Fatal(err)
	}
	key := createKMSKey(t, m.Endpoint())

	// run takes the lock, journals two changes, and reports the objects
	// as they are at that point (lock and journal present), then saves and
	// reports the state object.
	run := func(store state.S3Store) (during, after map[string]string) {
		b, err := store.Stack("dev")
		if err != nil {
			t.Fatal(err)
		}
		l, err := b.Lock(ctx, "up")
		if err != nil {
			t.Fatal(err)
		}
		d, err := b.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			rec := engine.Record{Name: fmt.Sprintf("obj.%d", i), Type: "t", Region: "r", ID: "id"}
			if err := b.Append(ctx, engine.Changes{Put: []engine.Record{rec}}); err != nil {
				t.Fatal(err)
			}
			d.Records = append(d.Records, rec)
		}
		during = encryption(t, client, store.Bucket, store.Prefix+"/")
		if err := b.Save(ctx, d); err != nil {
			t.Fatal(err)
		}
		if err := b.Unlock(ctx, l); err != nil {
			t.Fatal(err)
		}
		return during, encryption(t, client, store.Bucket, store.Prefix+"/")
	}

	want := string(s3types.ServerSideEncryptionAwsKms) + " " + key
	during, after := run(state.S3Store{Client: client, Bucket: "kms-state", Prefix: "encrypted", KMSKeyID: key})
	kinds := map[string]bool{}
	for k, got := range during {
		switch {
		case strings.HasSuffix(k, ".lock"):
			kinds["lock"] = true
		case strings.Contains(k, ".journal/"):
			kinds["journal"] = true
		}
		if got != want {
			t.Errorf("%s is encrypted as %q, want %q", k, got, want)
		}
	}
	if !kinds["lock"] || !kinds["journal"] {
		t.Fatalf("while the run held the stack, found %v: want the lock and journal entries", during)
	}
	if got := after["encrypted/dev.json"]; got != want {
		t.Errorf("state is encrypted as %q, want %q (objects: %v)", got, want, after)
	}

	// The same run without a key writes no SSE-KMS object.
	during, after = run(state.S3Store{Client: client, Bucket: "kms-state", Prefix: "plain"})
	for k, got := range during {
		if strings.HasPrefix(got, string(s3types.ServerSideEncryptionAwsKms)) {
			t.Errorf("without a key, %s is encrypted as %q", k, got)
		}
	}
	if len(after) != 1 {
		t.Errorf("after the plain run: %v, want the state only", after)
	}
}
