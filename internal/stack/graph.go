package stack

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// Separator joins a region pair's name and a primitive's name in a stack's
// graph: the compiler names primitives within one resource
// ("aws_s3_bucket.primary"), and a stack holds many resources.
const Separator = "/"

// PrimitiveName is the name of a resource's primitive within a stack.
func PrimitiveName(pair, name string) string { return pair + Separator + name }

// Resources are what a stack deploys.
type Resources struct {
	RegionPairs []blueprint.RegionPair
	DRPolicies  []blueprint.DRPolicy
	// TagPolicies deploy an AWS Organizations tag policy each when they
	// enforce in the cloud, and nothing otherwise.
	TagPolicies []blueprint.TagPolicy
	Capacities  []Capacity
	// AllowDataLoss holds, by Prefix, the resources whose plans may delete
	// or replace objects that hold data (allow_data_loss = true).
	AllowDataLoss map[string]bool
}

// allowDataLoss records that the resource typ.name allows data loss.
func (r *Resources) allowDataLoss(typ, name string, allowed bool) {
	if !allowed {
		return
	}
	if r.AllowDataLoss == nil {
		r.AllowDataLoss = map[string]bool{}
	}
	r.AllowDataLoss[Prefix(typ, name)] = true
}

// Capacity is a capacity reservation with its history read, and its prices.
type Capacity struct {
	Spec   blueprint.Capacity
	Prices blueprint.PriceTable
}

// Prefix names a resource's primitives in a stack's graph: a region pair's
// by its name, as stacks always have, any other by its type and name, so
// that a DR policy may share its pair's name.
func Prefix(typ, name string) string {
	if typ == ResourceType {
		return name
	}
	return typ + "." + name
}

// Compile compiles the region pairs into one graph (see CompileResources).
func Compile(pairs []blueprint.RegionPair, defaultTags map[string]string) (primitive.Graph, error) {
	return CompileResources(Resources{RegionPairs: pairs}, defaultTags)
}

// CompileResources compiles every resource as the provider does, cost tag
// policies enforced, and joins their graphs into one, each primitive named
// after its resource (see Prefix), with its references renamed to match.
func CompileResources(r Resources, defaultTags map[string]string) (primitive.Graph, error) {
	var out primitive.Graph
	add := func(typ, name string, g primitive.Graph, err error) error {
		if err != nil {
			return fmt.Errorf("%s %s: %w", typ, name, err)
		}
		out.Primitives = append(out.Primitives, namespace(Prefix(typ, name), g).Primitives...)
		return nil
	}
	for _, rp := range r.RegionPairs {
		g, err := compile.RegionPair(rp, defaultTags)
		if err := add(ResourceType, rp.Name, g, err); err != nil {
			return primitive.Graph{}, err
		}
	}
	for _, p := range r.DRPolicies {
		g, _, err := compile.DRPolicy(p, defaultTags)
		if err := add(DRPolicyType, p.Name, g, err); err != nil {
			return primitive.Graph{}, err
		}
	}
	for _, p := range r.TagPolicies {
		g, err := compile.TagPolicy(p, defaultTags)
		if err := add(CostTagPolicyType, p.Name, g, err); err != nil {
			return primitive.Graph{}, err
		}
	}
	for _, c := range r.Capacities {
		g, _, err := compile.Capacity(c.Spec, c.Prices, defaultTags)
		if err := add(CapacityReservationType, c.Spec.Name, g, err); err != nil {
			return primitive.Graph{}, err
		}
	}
	sort.Slice(out.Primitives, func(i, j int) bool { return out.Primitives[i].Name < out.Primitives[j].Name })
	if err := out.Check(); err != nil {
		return primitive.Graph{}, err
	}
	return out, nil
}

// Resources resolves what the stack deploys: capacity reservations read
// their demand history and price table here.
func (st *Stack) Resources() (Resources, hcl.Diagnostics) {
	var r Resources
	var diags hcl.Diagnostics
	for _, rp := range st.RegionPairs {
		r.RegionPairs = append(r.RegionPairs, rp.Blueprint)
		r.allowDataLoss(ResourceType, rp.Blueprint.Name, rp.AllowDataLoss)
	}
	for _, p := range st.DRPolicies {
		r.DRPolicies = append(r.DRPolicies, p.Blueprint)
		r.allowDataLoss(DRPolicyType, p.Blueprint.Name, p.AllowDataLoss)
	}
	for _, p := range st.CostTagPolicies {
		r.TagPolicies = append(r.TagPolicies, p.Blueprint)
	}
	for i := range st.CapacityReservations {
		spec, prices, d := st.CapacityReservations[i].resolve()
		diags = append(diags, d...)
		r.Capacities = append(r.Capacities, Capacity{Spec: spec, Prices: prices})
	}
	return r, diags
}

// Graph compiles the stack.
func (st *Stack) Graph() (primitive.Graph, error) {
	r, diags := st.Resources()
	if diags.HasErrors() {
		return primitive.Graph{}, errors.New(FormatDiagnostics(diags))
	}
	return CompileResources(r, st.DefaultTags)
}

func namespace(prefix string, g primitive.Graph) primitive.Graph {
	var r *strings.Replacer
	{
		var oldnew []string
		for _, p := range g.Primitives {
			oldnew = append(oldnew, "${"+p.Name+".", "${"+PrimitiveName(prefix, p.Name)+".")
		}
		r = strings.NewReplacer(oldnew...)
	}
	var rename func(v any) any
	rename = func(v any) any {
		switch t := v.(type) {
		case string:
			return r.Replace(t)
		case map[string]any:
			m := make(map[string]any, len(t))
			for k, x := range t {
				m[k] = rename(x)
			}
			return m
		case []any:
			s := make([]any, len(t))
			for i, x := range t {
				s[i] = rename(x)
			}
			return s
		default:
			return t
		}
	}
	out := primitive.Graph{Primitives: make([]primitive.Primitive, len(g.Primitives))}
	for i, p := range g.Primitives {
		p.Name = PrimitiveName(prefix, p.Name)
		p.Properties = rename(p.Properties).(map[string]any)
		deps := make([]string, len(p.DependsOn))
		for j, d := range p.DependsOn {
			deps[j] = PrimitiveName(prefix, d)
		}
		if len(deps) > 0 {
			p.DependsOn = deps
		} else {
			p.DependsOn = nil
		}
		out.Primitives[i] = p
	}
	return out
}
