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

// Enforce checks the tags of every primitive of g against the policy, and
// that every untaggable primitive type is exempted with a reason.
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
		for _, tp := range p.Check(prim.Tags) {
			report(tp.Tag, tp.Summary, tp.Detail, prim)
		}
	}
	var out Violations
	for _, k := range order {
		out = append(out, *found[k])
	}
	return out
}

// KeyConflicts reports the keys of g's primitives that are one key spelt two
// ways (cost_center from the provider's default_tags, cost-center from the
// resource). Merging cannot tell which one is meant, so both are applied and
// reported: with a cost tag policy Enforce makes them errors; without one
// the caller shows these as warnings.
func KeyConflicts(resource string, g primitive.Graph) Violations {
	var out Violations
	for _, v := range Enforce(blueprint.TagPolicy{}, resource, g) {
		if v.Tag != "" { // an empty policy breaks only the conflict rule; the rest is about exemptions
			out = append(out, v)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func init() {
	untaggable[primitive.OrganizationsPolicyAttachment] = "an attachment is part of its policy, which is tagged"
}

// TagPolicy compiles a cost tag policy. It has primitives only when the
// policy is enforced in the cloud: an Organizations TAG_POLICY and its attachment.
func TagPolicy(p blueprint.TagPolicy, defaultTags map[string]string) (primitive.Graph, error) {
	p = p.WithDefaults()
	if ps := p.Validate(); len(ps) > 0 {
		return primitive.Graph{}, ps[0]
	}
	b := &graphBuilder{resource: "meridian_cost_tag_policy." + p.Name, tags: mergeTags(defaultTags, p.DefaultTags)}
	if e := p.EnforceInCloud; e != nil {
		policy := primitive.OrganizationsPolicy + ".tag"
		b.add(primitive.Primitive{
			Name: policy, Type: primitive.OrganizationsPolicy, Region: primitive.Global,
			Properties: map[string]any{
				"name":        "meridian-" + p.Name,
				"type":        "TAG_POLICY",
				"description": "Managed by meridian: cost tag policy " + p.Name,
				"content":     OrganizationsContent(p),
			},
		}, "")
		b.add(primitive.Primitive{
			Name: primitive.OrganizationsPolicyAttachment + ".tag", Type: primitive.OrganizationsPolicyAttachment, Region: primitive.Global,
			Properties: map[string]any{"policy_id": primitive.Ref(policy, "id"), "target_id": e.TargetID},
		}, "")
	}
	g := b.graph()
	return g, g.Check()
}

// OrganizationsContent is the policy in AWS Organizations' tag policy
// language: each governed key with its exact casing, and its allowed values
// where they are a list. Patterns have no equivalent there (only a trailing
// wildcard), so they are enforced by meridian at plan time only.
func OrganizationsContent(p blueprint.TagPolicy) map[string]any {
	tags := map[string]any{}
	keys := append([]string(nil), p.RequiredTags...)
	for k := range p.AllowedValues {
		keys = append(keys, k)
	}
	for _, k := range keys {
		rule := map[string]any{"tag_key": map[string]any{"@@assign": k}}
		if av, ok := p.AllowedValues[k]; ok && len(av.Values) > 0 {
			values := make([]any, len(av.Values))
			for i, v := range av.Values {
				values[i] = v
			}
			rule["tag_value"] = map[string]any{"@@assign": values}
		}
		tags[strings.ToLower(k)] = rule
	}
	return map[string]any{"tags": tags}
}
