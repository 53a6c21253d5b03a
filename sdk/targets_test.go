package sdk_test

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"testing"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/sdk"
)

// TestTargetedDestroyIncludesDependents: a destroy limited to a pair's
// role plans the records that depend on it (transitively), says why, and
// leaves the rest; a target that matches nothing is a *TargetError with
// the closest names.
func TestTargetedDestroyIncludesDependents(t *testing.T) {
	ctx := context.Background()
	drivers, mem := memoryDrivers()
	ws, err := sdk.Open(ctx, sdk.Options{Stack: "dev", State: t.TempDir(), Drivers: drivers})
	if err != nil {
		t.Fatal(err)
	}
	prog := func(c *sdk.Context) error {
		c.RegionPair(pair("alpha"))
		c.RegionPair(pair("beta"))
		return nil
	}
	if _, err := ws.Up(ctx, prog, nil); err != nil {
		t.Fatal(err)
	}
	pv, err := ws.PreviewDestroy(ctx, "alpha/aws_iam_role.replication")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range pv.Steps {
		if s.Op != engine.OpDelete {
			t.Errorf("step %s is a %s", s.Name, s.Op)
		}
		got[s.Name] = s.IncludedBecause
	}
	want := map[string]string{
		"alpha/aws_iam_role.replication":          "",
		"alpha/aws_iam_role_policy.replication":   "it depends on alpha/aws_iam_role.replication",
		"alpha/aws_s3_bucket_replication.primary": "it depends on alpha/aws_iam_role.replication",
		"alpha/aws_ssm_parameter.manifest":        "it depends on alpha/aws_iam_role.replication",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("targeted destroy plans\n %v\nwant\n %v", got, want)
	}

	// A secondary bucket takes the replication that points at it, and
	// the policy that names it.
	before := mem.Len()
	res, err := ws.Destroy(ctx, "beta/aws_s3_bucket.secondary")
	if err != nil {
		t.Fatal(err)
	}
	var deleted []string
	for _, s := range res.Steps {
		deleted = append(deleted, s.Name)
	}
	sort.Strings(deleted)
	wantDeleted := []string{"beta/aws_iam_role_policy.replication", "beta/aws_s3_bucket.secondary", "beta/aws_s3_bucket_replication.primary", "beta/aws_ssm_parameter.manifest"}
	if !reflect.DeepEqual(deleted, wantDeleted) {
		t.Fatalf("destroy of the secondary bucket deleted %v, want %v", deleted, wantDeleted)
	}
	if mem.Len() != before-4 || res.Records != 24-4 {
		t.Fatalf("memory holds %d (was %d), state %d records", mem.Len(), before, res.Records)
	}

	_, err = ws.PreviewDestroy(ctx, "alpha/aws_iam_rol.replication")
	var te *sdk.TargetError
	if !errors.As(err, &te) || len(te.Closest) == 0 || te.Closest[0] != "alpha/aws_iam_role.replication" {
		t.Fatalf("mistyped target: %v", err)
	}
}
