package architecture

import (
	"fmt"
	"maps"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
	"github.com/meridianhq/terraform-provider-meridian/internal/drill"
)

// FromBlueprints gathers the evidence of region pairs and DR policies as
// written (the provider's specs), compiled as the provider's resources
// compile them: each with the tags of the cost tag policy its pair names,
// the policy itself checked by Review rather than refusing to compile, so
// that a stack that breaks it can still be documented. drills holds the
// latest drill report of each pair, by pair name.
func FromBlueprints(name string, pairs []blueprint.RegionPair, policies []blueprint.DRPolicy, drills map[string]*drill.Report, defaultTags map[string]string, now time.Time) (Stack, error) {
	s := Stack{Name: name, Now: now, Prices: blueprint.DefaultPrices()}
	seen := map[string]bool{}
	for _, rp := range pairs {
		tags := maps.Clone(defaultTags)
		if tp := rp.CostTagPolicy; tp != nil {
			if !seen[tp.Name] {
				seen[tp.Name] = true
				s.TagPolicies = append(s.TagPolicies, *tp)
			}
			tags = merge(tags, tp.DefaultTags)
			rp.CostTagPolicy = nil
		}
		g, err := compile.RegionPair(rp, tags)
		if err != nil {
			return s, fmt.Errorf("region pair %q: %w", rp.Name, err)
		}
		address := "meridian_region_pair." + rp.Name
		s.Pairs = append(s.Pairs, Pair{Address: address, Blueprint: rp, Graph: g})
		s.Governed = append(s.Governed, Governed{Resource: address, Graph: g})
	}
	for _, p := range policies {
		tags := maps.Clone(defaultTags)
		if tp := p.RegionPair.CostTagPolicy; tp != nil {
			tags = merge(tags, tp.DefaultTags)
			p.RegionPair.CostTagPolicy = nil
		}
		g, rb, err := compile.DRPolicy(p, tags)
		if err != nil {
			return s, fmt.Errorf("DR policy %q: %w", p.Name, err)
		}
		address := "meridian_dr_policy." + p.Name
		s.Policies = append(s.Policies, Policy{Address: address, Blueprint: p, Graph: g, Runbook: rb, Drill: drills[p.RegionPair.Name]})
		s.Governed = append(s.Governed, Governed{Resource: address, Graph: g})
	}
	return s, nil
}

func merge(a, b map[string]string) map[string]string {
	out := maps.Clone(a)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, b)
	return out
}
