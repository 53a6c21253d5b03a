package main_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	awscloud "github.com/meridianhq/terraform-provider-meridian/internal/cloud/aws"
)

// motoClients are raw aws-sdk-go-v2 clients on moto: the tests count what
// moto holds with them, not with meridian's drivers.
func motoClients(t *testing.T, endpoint string) *awscloud.Cloud {
	t.Helper()
	cloud, err := awscloud.New(context.Background(), awscloud.Config{
		Endpoint: endpoint, AccessKey: "test", SecretKey: "test", S3UsePathStyle: true, SkipCredentialsValidation: true, Emulator: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return cloud
}

// TestNameClashStopsThePlan is issue 11, situation 6: two region pairs that
// claim the same buckets, table and hosted zone. preview fails with an
// error at both declarations (file:line), and up fails the same way before
// any cloud call: moto stays empty and the state holds no record.
func TestNameClashStopsThePlan(t *testing.T) {
	m := startMoto(t)
	dir := t.TempDir()
	writeStack(t, dir, "clash", 2, 10)
	// Give the second pair the first's bucket_prefix, table and zone.
	raw, err := os.ReadFile(filepath.Join(dir, "stack.tf"))
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(raw), `bucket_prefix = "clash-01"`, `bucket_prefix = "clash-00"`, 1)
	src = strings.Replace(src, `zone_name          = "clash-01.example.com"`, `zone_name          = "clash-00.example.com"`, 1)
	src = strings.ReplaceAll(src, "  kv_table {\n    hash_key = \"id\"\n  }", "  kv_table {\n    name     = \"orders\"\n    hash_key = \"id\"\n  }")
	if err := os.WriteFile(filepath.Join(dir, "stack.tf"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	// lineOf is the line of the nth (from 0) line holding text.
	lineOf := func(text string, nth int) int {
		for i, l := range strings.Split(src, "\n") {
			if strings.Contains(l, text) {
				if nth == 0 {
					return i + 1
				}
				nth--
			}
		}
		t.Fatalf("the stack has no line %q", text)
		return 0
	}
	c := newCLI(t, dir, "MERIDIAN_STATE=")
	endpoint := "--var=aws_endpoint=" + m.Endpoint()
	cloud := motoClients(t, m.Moto.Endpoint())
	c.must("stack", "init", "dev")

	for _, cmd := range [][]string{{"preview"}, {"up", "--yes"}} {
		r := c.run(append(cmd, endpoint)...)
		if r.code == 0 {
			t.Fatalf("meridian %s with clashing names exited 0:\n%s", cmd[0], r.stdout)
		}
		t.Logf("meridian %s: exit %d:\n%s", cmd[0], r.code, r.stderr)
		for _, at := range []struct {
			text string
			nth  int
		}{
			{`bucket_prefix = "clash-00"`, 0}, {`bucket_prefix = "clash-00"`, 1},
			{`name     = "orders"`, 0}, {`name     = "orders"`, 1},
			{`zone_name          = "clash-00.example.com"`, 0}, {`zone_name          = "clash-00.example.com"`, 1},
		} {
			want := "stack.tf:" + strconv.Itoa(lineOf(at.text, at.nth)) + ","
			if !strings.Contains(r.stderr, want) {
				t.Errorf("meridian %s: no error at %s (%s):\n%s", cmd[0], want, at.text, r.stderr)
			}
		}
		for _, want := range []string{`S3 bucket "clash-00-us-east-1"`, `DynamoDB table "orders" (unique in us-east-1)`, `Route 53 hosted zone "clash-00.example.com"`, "meridian_region_pair.p00", "meridian_region_pair.p01"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("meridian %s: the error does not name %s:\n%s", cmd[0], want, r.stderr)
			}
		}
	}
	if inv := inventory(t, cloud); total(inv) != 0 {
		t.Fatalf("up with clashing names changed moto: %v", inv)
	}
	if s := readState(t, filepath.Join(dir, ".meridian/stacks/dev.json")); len(s.Records) != 0 {
		t.Fatalf("up with clashing names recorded %d primitives", len(s.Records))
	}
}
