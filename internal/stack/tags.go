package stack

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
)

// CheckTags holds each resource to the cost tag policy it is under (a
// region pair's cost_tag_policy; a DR policy's pair's), as the provider's
// plan does, on the graphs `meridian cost` checks (TagGraphs): every
// violation is an error at the resource's tags (else its block), named by
// its address. Keys spelt two ways (cost_center and cost-center) are
// reported, never merged: an error under a policy, a warning without one
// (compile.KeyConflicts), as in the provider. It makes no cloud call. A
// stack that does not compile gives no diagnostics here; the plan reports it.
func (st *Stack) CheckTags() hcl.Diagnostics {
	graphs, d := st.TagGraphs()
	if d.HasErrors() {
		return nil
	}
	type governed struct {
		policy *blueprint.TagPolicy
		at     hcl.Range
	}
	at := func(decl hcl.Range, ranges map[string]hcl.Range) hcl.Range {
		if r, ok := ranges["tags"]; ok {
			return r
		}
		return decl
	}
	by := map[string]governed{}
	for _, rp := range st.RegionPairs {
		by[rp.Address()] = governed{rp.Blueprint.CostTagPolicy, at(rp.DeclRange, rp.ranges)}
	}
	for _, p := range st.DRPolicies {
		by[p.Address()] = governed{p.Blueprint.RegionPair.CostTagPolicy, at(p.DeclRange, p.ranges)}
	}
	for _, c := range st.CapacityReservations {
		by[c.Address()] = governed{nil, at(c.DeclRange, c.ranges)} // it takes no cost tag policy
	}
	var diags hcl.Diagnostics
	for _, g := range graphs {
		r := by[g.Resource]
		if r.policy != nil {
			for _, v := range compile.Enforce(*r.policy, g.Resource, g.Graph) {
				diags = append(diags, errAt(r.at, "Cost tag policy violation", v.Error()))
			}
			continue
		}
		for _, v := range compile.KeyConflicts(g.Resource, g.Graph) {
			rr := r.at
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Tag key conflict", Detail: v.Error(), Subject: &rr})
		}
	}
	return diags
}
