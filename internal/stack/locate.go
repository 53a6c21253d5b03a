package stack

import (
	"errors"

	"github.com/hashicorp/hcl/v2"

	"github.com/meridianhq/terraform-provider-meridian/internal/deploy"
)

// Locate turns the problems that the application layer found in the
// stack's resources (err holds *deploy.Problems, alone or joined) into
// diagnostics at the file and line where each attribute is written. It
// returns nil when err holds none.
func (st *Stack) Locate(err error) hcl.Diagnostics {
	var diags hcl.Diagnostics
	var walk func(error)
	walk = func(err error) {
		var ps *deploy.Problems
		if joined, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range joined.Unwrap() {
				walk(e)
			}
			return
		}
		if !errors.As(err, &ps) {
			return
		}
		address, declRange, ranges, ok := st.declaration(ps.Type, ps.Name)
		if !ok {
			return
		}
		v := &values{resource: address, ranges: ranges}
		v.problems(declRange, ps.List)
		diags = append(diags, v.diags...)
	}
	walk(err)
	return diags
}

// declaration finds the block of the resource of type typ whose name
// attribute is name.
func (st *Stack) declaration(typ, name string) (address string, declRange hcl.Range, ranges map[string]hcl.Range, ok bool) {
	switch typ {
	case ResourceType:
		for _, rp := range st.RegionPairs {
			if rp.Blueprint.Name == name {
				return rp.Address(), rp.DeclRange, rp.ranges, true
			}
		}
	case DRPolicyType:
		for _, p := range st.DRPolicies {
			if p.Blueprint.Name == name {
				return p.Address(), p.DeclRange, p.ranges, true
			}
		}
	case CapacityReservationType:
		for _, c := range st.CapacityReservations {
			if c.Blueprint.Name == name {
				return c.Address(), c.DeclRange, c.ranges, true
			}
		}
	}
	return "", hcl.Range{}, nil, false
}
