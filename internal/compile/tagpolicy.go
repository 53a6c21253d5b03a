package compile

import (
	"fmt"
	"sort"
	"strings"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// Violation is a broken tag rule, with every primitive that breaks it.
type Violation struct {
	Resource string `json:"resource"`
	// Tag is the key concerned; empty for an untaggable type.
	Tag     string `json:"tag,omitempty"`
	Summary string `json:"summary"`
	Detail  string `json:"detail"`
	// Primitives are "name (type)".
	Primitives []string `json:"primitives"`
}

func (v Violation) Error() string {
	return fmt.Sprintf("%s: %s: %s: %s", v.Resource, v.Summary, v.Detail, strings.Join(v.Primitives, ", "))
}

// Violations is every broken tag rule of one graph; as an error it stops compilation.
type Violations []Violation

func (vs Violations) Error() string {
	var lines []string
	for _, v := range vs {
		lines = append(lines, v.Error())
	}
	return strings.Join(lines, "\n")
}

// Enforce checks every primitive of g against the policy. Derived tags
// (meridian:*) are exempt from the casing rule; nothing else is.
func Enforce(p blueprint.TagPolicy, resource string, g primitive.Graph) Violations {
	p = p.WithDefaults()
	found := map[[2]string]*Violation{}
	var order [][2]string
	report := func(tag, summary, detail string, prim primitive.Primitive) {
		k := [2]string{summary, detail}
		v, ok := found[k]
		if !ok {
			v = &Violation{Resource: resource, Tag: tag, Summary: summary, Detail: detail}
			found[k] = v
			order = append(order, k)
		}
		v.Primitives = append(v.Primitives, fmt.Sprintf("%s (%s)", prim.Name, prim.Type))
	}
	for _, prim := range g.Primitives {
		if !Taggable(prim.Type) {
			if _, ok := p.Exemptions[prim.Type]; !ok {
				report("", "Untaggable primitive not exempted",
					fmt.Sprintf("%s cannot carry tags (%s); add it to the policy's exemptions with the reason, so the exception is written down", prim.Type, untaggable[prim.Type]), prim)
			}
			continue
		}
		canonical := map[string][]string{}
		for _, k := range sortedKeys(prim.Tags) {
			canonical[blueprint.CanonicalKey(k)] = append(canonical[blueprint.CanonicalKey(k)], k)
		}
		for _, req := range p.RequiredTags {
			if _, ok := prim.Tags[req]; ok {
				continue
			}
			if near := canonical[blueprint.CanonicalKey(req)]; len(near) > 0 {
				report(req, "Tag key conflict", fmt.Sprintf("required tag %q is spelt %q here; the policy does not merge spellings, rename the key", req, near[0]), prim)
				continue
			}
			report(req, "Missing required tag", fmt.Sprintf("required tag %q is not set (set it in tags, the policy's default_tags or the provider's default_tags)", req), prim)
		}
		for _, k := range sortedKeys(prim.Tags) {
			if !p.Allows(k, prim.Tags[k]) {
				report(k, "Tag value not allowed", fmt.Sprintf("%s = %q is not allowed; %s", k, prim.Tags[k], allowedText(p.AllowedValues[k])), prim)
			}
			if !strings.HasPrefix(k, blueprint.ReservedTagPrefix) && !p.CaseFits(k) {
				report(k, "Tag key does not follow key_case", fmt.Sprintf("%q is not %s", k, p.KeyCase), prim)
			}
		}
		for _, c := range sortedKeys(canonical) {
			if keys := canonical[c]; len(keys) > 1 {
				report(keys[0], "Tag key conflict", fmt.Sprintf("keys %s are the same key spelt differently; they are reported, not merged: keep one", quoteAll(keys)), prim)
			}
		}
	}
	var out Violations
	for _, k := range order {
		out = append(out, *found[k])
	}
	return out
}

func allowedText(av blueprint.AllowedValues) string {
	if av.Pattern != "" {
		return fmt.Sprintf("values must match %s", av.Pattern)
	}
	return "allowed: " + quoteAll(av.Values)
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
