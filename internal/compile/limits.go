package compile

import (
	"fmt"
	"strings"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// AWS's tag limits, the same for every service meridian tags: a key of at
// most 128 characters, a value of at most 256, at most 50 tags on one
// object. AWS refuses more at apply time, halfway through a plan; checking
// them at plan time refuses the whole plan before anything is made.
const (
	MaxTagKey   = 128
	MaxTagValue = 256
	MaxTags     = 50
)

// markTokenLen is the length of the engine's meridian:token mark (24 hex
// characters), which the engine adds to every tag set at apply time.
const markTokenLen = 24

// checkManifest refuses, at compile time, a manifest that no SSM tier can
// hold. References in it still read ${name.id}; the ids they become are
// of about that length.
func checkManifest(resource string, p primitive.Primitive) error {
	doc, _ := p.Properties["value"].(map[string]any)
	if _, err := primitive.EncodeManifest(doc); err != nil {
		return fmt.Errorf("%s: %s (%s): %w", resource, p.Name, p.Type, err)
	}
	return nil
}

// checkManifests refuses a graph whose SSM manifests do not fit a parameter.
func checkManifests(resource string, g primitive.Graph) error {
	for _, p := range g.Primitives {
		if p.Type == primitive.SSMParameter {
			if err := checkManifest(resource, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// CheckLimits checks, before anything is applied, the tags of every
// taggable primitive of g against AWS's limits, counting the ownership
// marks the engine adds at apply time (meridian:owner is scope + "/" + the
// primitive's name, meridian:token 24 characters), and that every SSM
// manifest fits a parameter. Each violation names the tag and the
// primitives that break the limit.
func CheckLimits(resource, scope string, g primitive.Graph) Violations {
	var out Violations
	add := func(tag, summary, detail string, p primitive.Primitive) {
		out = append(out, Violation{Resource: resource, Tag: tag, Summary: summary, Detail: detail,
			Primitives: []string{fmt.Sprintf("%s (%s)", p.Name, p.Type)}})
	}
	for _, p := range g.Primitives {
		if p.Type == primitive.SSMParameter {
			if err := checkManifest(resource, p); err != nil {
				add("", "Manifest too large", err.Error(), p)
			}
		}
		if !Taggable(p.Type) {
			continue
		}
		owner := p.Name
		if scope != "" {
			owner = scope + "/" + p.Name
		}
		tags := map[string]string{}
		for k, v := range p.Tags {
			tags[k] = v
		}
		tags[engine.OwnerTag] = owner
		tags[engine.TokenTag] = strings.Repeat("0", markTokenLen)
		for _, k := range sortedKeys(tags) {
			if n := len([]rune(k)); n > MaxTagKey {
				add(k, "Tag key too long", fmt.Sprintf("tag key %q is %d characters; AWS allows at most %d", short(k), n, MaxTagKey), p)
			}
			if n := len([]rune(tags[k])); n > MaxTagValue {
				what := fmt.Sprintf("the value of tag %q is %d characters; AWS allows at most %d", short(k), n, MaxTagValue)
				if k == engine.OwnerTag {
					what += " (meridian:owner is the stack or scope name, \"/\" and the primitive's name: shorten the stack name)"
				}
				add(k, "Tag value too long", what, p)
			}
		}
		if len(tags) > MaxTags {
			add("", "Too many tags", fmt.Sprintf("%d tags, counting meridian's 2 ownership marks; AWS allows at most %d on one object", len(tags), MaxTags), p)
		}
	}
	return out
}

// short cuts a long key for a message.
func short(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "..."
	}
	return s
}
