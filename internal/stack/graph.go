package stack

import (
	"fmt"
	"sort"
	"strings"

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

// Compile compiles every region pair and joins their graphs into one, each
// primitive named after its pair, with its references renamed to match.
func Compile(pairs []blueprint.RegionPair, defaultTags map[string]string) (primitive.Graph, error) {
	var out primitive.Graph
	for _, rp := range pairs {
		g, err := compile.RegionPair(rp, defaultTags)
		if err != nil {
			return primitive.Graph{}, fmt.Errorf("meridian_region_pair %s: %w", rp.Name, err)
		}
		out.Primitives = append(out.Primitives, namespace(rp.Name, g).Primitives...)
	}
	sort.Slice(out.Primitives, func(i, j int) bool { return out.Primitives[i].Name < out.Primitives[j].Name })
	if err := out.Check(); err != nil {
		return primitive.Graph{}, err
	}
	return out, nil
}

// Graph compiles the stack.
func (st *Stack) Graph() (primitive.Graph, error) {
	pairs := make([]blueprint.RegionPair, len(st.RegionPairs))
	for i, rp := range st.RegionPairs {
		pairs[i] = rp.Blueprint
	}
	return Compile(pairs, st.DefaultTags)
}

func namespace(pair string, g primitive.Graph) primitive.Graph {
	var r *strings.Replacer
	{
		var oldnew []string
		for _, p := range g.Primitives {
			oldnew = append(oldnew, "${"+p.Name+".", "${"+PrimitiveName(pair, p.Name)+".")
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
		p.Name = PrimitiveName(pair, p.Name)
		p.Properties = rename(p.Properties).(map[string]any)
		deps := make([]string, len(p.DependsOn))
		for j, d := range p.DependsOn {
			deps[j] = PrimitiveName(pair, d)
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
