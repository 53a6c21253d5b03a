package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
)

// The provider's cost_center and a resource's cost-center, without a cost
// tag policy, plan with a warning on tags that names both (the README's
// "reported as a conflict, never merged"); with a policy it is an error.
func TestKeyConflictWarningWithoutPolicy(t *testing.T) {
	r := &regionPair{data: &providerData{defaultTags: map[string]string{"cost_center": "cc-1"}}}
	rp := blueprint.RegionPair{Name: "spelt", PrimaryRegion: "us-east-1", SecondaryRegion: "us-west-2",
		ObjectStore: &blueprint.ObjectStore{BucketPrefix: "spelt"}, Tags: map[string]string{"cost-center": "cc-2"}}
	g, diags := r.graph(context.Background(), modelOf(rp))
	if g == nil || diags.HasError() {
		t.Fatalf("without a policy the plan goes on: %v", diags)
	}
	if !hasDiag(diags.Warnings(), "Tag key conflict", `"cost-center", "cost_center"`) {
		t.Errorf("no warning on tags naming both keys: %v", diags)
	}

	rp.CostTagPolicy = &blueprint.TagPolicy{Name: "p", Exemptions: map[string]string{"aws_s3_bucket_replication": "x", "aws_iam_role_policy": "x"}}
	_, diags = r.graph(context.Background(), modelOf(rp))
	if !hasDiag(diags.Errors(), "Tag key conflict", `"cost-center", "cost_center"`) {
		t.Errorf("with a policy the conflict is an error: %v", diags)
	}
}

func hasDiag(ds diag.Diagnostics, summary, detail string) bool {
	for _, d := range ds {
		wp, ok := d.(diag.DiagnosticWithPath)
		if d.Summary() == summary && strings.Contains(d.Detail(), detail) && ok && wp.Path().Equal(path.Root("tags")) {
			return true
		}
	}
	return false
}
