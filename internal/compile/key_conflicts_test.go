package compile

import (
	"strings"
	"testing"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
)

// The provider's cost_center and the resource's cost-center are one key
// spelt two ways: reported on every primitive that carries both, never
// silently merged, even without a policy.
func TestKeyConflictsWithoutPolicy(t *testing.T) {
	rp := fullActivePassive()
	rp.CostTagPolicy = nil
	rp.Tags = map[string]string{"cost-center": "cc-2"}
	g, err := RegionPair(rp, map[string]string{"cost_center": "cc-1"})
	if err != nil {
		t.Fatal(err)
	}
	vs := KeyConflicts("meridian_region_pair.checkout", g)
	if len(vs) != 1 || vs[0].Summary != "Tag key conflict" || !strings.Contains(vs[0].Detail, `"cost-center", "cost_center"`) || len(vs[0].Primitives) < 5 {
		t.Fatalf("conflicts: %+v", vs)
	}
	rp.Tags = map[string]string{"cost_center": "cc-2"}
	g, _ = RegionPair(rp, map[string]string{"cost_center": "cc-1"})
	if vs := KeyConflicts("meridian_region_pair.checkout", g); len(vs) != 0 {
		t.Errorf("one key overriding itself is no conflict: %+v", vs)
	}
	// With a policy the same tags are an error.
	rp.Tags = map[string]string{"cost-center": "cc-2"}
	rp.CostTagPolicy = &blueprint.TagPolicy{Name: "p", Exemptions: map[string]string{
		"aws_s3_bucket_replication": "x", "aws_iam_role_policy": "x", "aws_dynamodb_table_replica": "x", "aws_route53_record": "x",
	}}
	if _, err := RegionPair(rp, map[string]string{"cost_center": "cc-1"}); err == nil || !strings.Contains(err.Error(), "Tag key conflict") {
		t.Errorf("with a policy: %v, want a tag key conflict", err)
	}
}
