package main_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// emptyPlan fails unless preview plans no change.
func emptyPlan(t *testing.T, c *cli, endpoint string) {
	t.Helper()
	r := c.must("preview", endpoint)
	if !strings.Contains(r.stdout, "0 to create, 0 to update, 0 to replace, 0 to delete") {
		t.Fatalf("preview after convergence is not empty:\n%s", tail(r.stdout, 30))
	}
}

// isCode says whether err is an AWS error with one of codes.
func isCode(err error, codes ...string) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	for _, c := range codes {
		if ae.ErrorCode() == c {
			return true
		}
	}
	return false
}

// TestTargetedDestroyTakesDependents is issue 11, situation 5: a destroy
// limited to a pair's IAM role also deletes what depends on it (its inline
// policy first, so IAM does not answer DeleteConflict, and the replication
// configurations that use it); a destroy of a secondary bucket also removes
// the primary's replication configuration that points at it. Both show why
// they included them. A target that matches nothing is an error naming the
// closest addresses, for preview, up, destroy and refresh. Then up converges
// and destroy leaves nothing.
func TestTargetedDestroyTakesDependents(t *testing.T) {
	m := startMoto(t)
	dir := t.TempDir()
	writeStack(t, dir, "tgt", 2, 10)
	c := newCLI(t, dir, "MERIDIAN_STATE=")
	endpoint := "--var=aws_endpoint=" + m.Endpoint()
	cloud := motoClients(t, m.Moto.Endpoint())
	ctx := context.Background()
	c.must("stack", "init", "dev")
	c.must("up", "--yes", endpoint)

	// A refresh limited to one pair keeps the other pair's records.
	if r := c.must("refresh", "--target", "tgt-00", endpoint); !strings.Contains(r.stdout, "0 drifted") {
		t.Fatalf("refresh --target: %s", r.stdout)
	}
	if s := readState(t, filepath.Join(dir, ".meridian/stacks/dev.json")); len(s.Records) != 24 {
		t.Fatalf("after refresh --target tgt-00 the state holds %d records, want 24", len(s.Records))
	}

	// Typos: exit non-zero, with the closest names.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"destroy", "--yes", "--target", "tgt-00/aws_iam_rol.replication"}, "closest: tgt-00/aws_iam_role.replication"},
		{[]string{"preview", "--target", "tgt-0"}, `target "tgt-0" matches no resource or primitive of the stack; closest: tgt-00, tgt-01`},
		{[]string{"up", "--yes", "--target", "tgt-02"}, "closest: tgt-00, tgt-01"},
		{[]string{"refresh", "--target", "tgt-00/aws_s3_bucket.primry"}, "closest: tgt-00/aws_s3_bucket.primary"},
		{[]string{"destroy", "--yes", "--target", "meridian_region_pair.p0"}, "--target meridian_region_pair.p0: no such resource in the stack; closest: meridian_region_pair.p00, meridian_region_pair.p01"},
	} {
		r := c.run(append(tc.args, endpoint)...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("meridian %s: exit %d, want an error with %q:\n%s", strings.Join(tc.args, " "), r.code, tc.want, r.stderr)
		}
	}
	if left := inventory(t, cloud); len(left[primitive.S3Bucket]) != 4 || len(left[primitive.IAMRole]) != 2 {
		t.Fatalf("a mistyped target changed moto: %v", left)
	}

	// The role of tgt-00: its policy and the replication go first. The
	// confirmation shows them, and why (it then refuses: no terminal).
	r := c.run("destroy", "--target", "tgt-00/aws_iam_role.replication", endpoint)
	if want := "  -   aws_iam_role_policy.replication (aws_iam_role_policy in global)\n        included because it depends on tgt-00/aws_iam_role.replication\n"; r.code == 0 || !strings.Contains(r.stdout, want) {
		t.Errorf("destroy's confirmation lacks %q (exit %d):\n%s", want, r.code, r.stdout)
	}
	r = c.must("destroy", "--yes", "--target", "tgt-00/aws_iam_role.replication", endpoint)
	for _, want := range []string{
		"delete tgt-00/aws_iam_role_policy.replication was included because it depends on tgt-00/aws_iam_role.replication",
		"delete tgt-00/aws_s3_bucket_replication.primary was included because it depends on tgt-00/aws_iam_role.replication",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("destroy output lacks %q:\n%s", want, r.stdout)
		}
	}
	policyDone := strings.Index(r.stdout, "delete  tgt-00/aws_iam_role_policy.replication done")
	roleStart := strings.Index(r.stdout, "delete  tgt-00/aws_iam_role.replication ...")
	if policyDone < 0 || roleStart < 0 || policyDone > roleStart {
		t.Errorf("the policy was not deleted before the role was:\n%s", r.stdout)
	}
	t.Logf("destroy --target tgt-00/aws_iam_role.replication:\n%s", r.stdout)
	iamc := cloud.IAM()
	if _, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("meridian-tgt-00-replication")}); !isCode(err, "NoSuchEntity") {
		t.Errorf("the targeted role still exists: %v", err)
	}
	if _, err := cloud.S3("us-east-1").GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: aws.String("tgt-00-us-east-1")}); err == nil {
		t.Error("the primary bucket still replicates with the deleted role")
	}
	for _, b := range []struct{ name, region string }{{"tgt-00-us-east-1", "us-east-1"}, {"tgt-00-us-west-2", "us-west-2"}} {
		if _, err := cloud.S3(b.region).HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(b.name)}); err != nil {
			t.Errorf("bucket %s, which does not depend on the role, was deleted: %v", b.name, err)
		}
	}
	if _, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("meridian-tgt-01-replication")}); err != nil {
		t.Errorf("the other pair's role was touched: %v", err)
	}

	// The secondary bucket of tgt-01: the primary's replication to it goes too.
	r = c.must("destroy", "--yes", "--target", "tgt-01/aws_s3_bucket.secondary", endpoint)
	if !strings.Contains(r.stdout, "delete tgt-01/aws_s3_bucket_replication.primary was included because it depends on tgt-01/aws_s3_bucket.secondary") {
		t.Errorf("destroy output does not show the replication as a dependent:\n%s", r.stdout)
	}
	if _, err := cloud.S3("us-west-2").HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("tgt-01-us-west-2")}); err == nil {
		t.Error("the targeted secondary bucket still exists")
	}
	if _, err := cloud.S3("us-east-1").GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: aws.String("tgt-01-us-east-1")}); err == nil {
		t.Error("the primary bucket still replicates to the deleted secondary bucket")
	}
	if _, err := cloud.S3("us-east-1").HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("tgt-01-us-east-1")}); err != nil {
		t.Errorf("the primary bucket was deleted: %v", err)
	}

	// Up puts everything back, without duplicates; destroy leaves nothing.
	c.must("up", "--yes", endpoint)
	checkInventory(t, cloud, readState(t, filepath.Join(dir, ".meridian/stacks/dev.json")))
	emptyPlan(t, c, endpoint)
	c.must("destroy", "--yes", endpoint)
	if left := inventory(t, cloud); total(left) != 0 {
		t.Fatalf("after destroy, moto still holds %v", left)
	}
}
