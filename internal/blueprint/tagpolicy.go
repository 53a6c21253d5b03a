package blueprint

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// TagPolicy is the tags every primitive of a resource must carry.
type TagPolicy struct {
	Name         string   `json:"name"`
	RequiredTags []string `json:"required_tags,omitempty"`
	// AllowedValues restricts the values of a key to a list or a pattern.
	AllowedValues map[string]AllowedValues `json:"allowed_values,omitempty"`
	// KeyCase is the casing every key must follow: KeyCaseAny, or one of KeyCases.
	KeyCase string `json:"key_case,omitempty"`
	// DefaultTags come between the provider's default tags and the resource's own.
	DefaultTags map[string]string `json:"default_tags,omitempty"`
	// Exemptions are primitive types that cannot carry tags, each with the
	// reason written down.
	Exemptions map[string]string `json:"exemptions,omitempty"`
	// EnforceInCloud, if set, makes the policy an AWS Organizations tag
	// policy attached to a target (root, organizational unit or account).
	EnforceInCloud *Enforcement `json:"enforce_in_cloud,omitempty"`
}

// Enforcement is where the policy is attached in AWS Organizations.
type Enforcement struct {
	TargetID string `json:"target_id"`
}

// TagProblem is one rule that one set of tags breaks.
type TagProblem struct {
	Tag     string `json:"tag"`
	Summary string `json:"summary"`
	Detail  string `json:"detail"`
}

// Check returns every rule that tags break. Derived tags (meridian:*) are
// exempt from the casing rule; nothing else is.
func (p TagPolicy) Check(tags map[string]string) []TagProblem {
	p = p.WithDefaults()
	var out []TagProblem
	add := func(tag, summary, detail string) {
		out = append(out, TagProblem{Tag: tag, Summary: summary, Detail: detail})
	}
	canonical := map[string][]string{}
	for _, k := range sortedKeys(tags) {
		canonical[CanonicalKey(k)] = append(canonical[CanonicalKey(k)], k)
	}
	for _, req := range p.RequiredTags {
		if _, ok := tags[req]; ok {
			continue
		}
		if near := canonical[CanonicalKey(req)]; len(near) > 0 {
			add(req, "Tag key conflict", fmt.Sprintf("required tag %q is spelt %q here; the policy does not merge spellings, rename the key", req, near[0]))
			continue
		}
		add(req, "Missing required tag", fmt.Sprintf("required tag %q is not set (set it in tags, the policy's default_tags or the provider's default_tags)", req))
	}
	for _, k := range sortedKeys(tags) {
		if !p.Allows(k, tags[k]) {
			add(k, "Tag value not allowed", fmt.Sprintf("%s = %q is not allowed; %s", k, tags[k], p.AllowedValues[k].text()))
		}
		if !strings.HasPrefix(k, ReservedTagPrefix) && !p.CaseFits(k) {
			add(k, "Tag key does not follow key_case", fmt.Sprintf("%q is not %s", k, p.KeyCase))
		}
	}
	for _, c := range sortedKeys(canonical) {
		if keys := canonical[c]; len(keys) > 1 {
			add(keys[0], "Tag key conflict", fmt.Sprintf("keys %s are the same key spelt differently; they are reported, not merged: keep one", quoteAll(keys)))
		}
	}
	return out
}

func (av AllowedValues) text() string {
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

// AllowedValues is either a list of values or a regular expression.
type AllowedValues struct {
	Values  []string `json:"values,omitempty"`
	Pattern string   `json:"pattern,omitempty"`
}

// Key casings a policy can require.
const (
	KeyCaseAny    = "any"
	KeyCaseKebab  = "kebab-case"
	KeyCaseSnake  = "snake_case"
	KeyCaseCamel  = "camelCase"
	KeyCasePascal = "PascalCase"
)

var keyCases = map[string]*regexp.Regexp{
	KeyCaseKebab:  regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`),
	KeyCaseSnake:  regexp.MustCompile(`^[a-z0-9]+(_[a-z0-9]+)*$`),
	KeyCaseCamel:  regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`),
	KeyCasePascal: regexp.MustCompile(`^[A-Z][a-zA-Z0-9]*$`),
}

// WithDefaults fills in what a policy may leave out.
func (p TagPolicy) WithDefaults() TagPolicy {
	if p.KeyCase == "" {
		p.KeyCase = KeyCaseAny
	}
	return p
}

// Validate checks the policy itself (not the tags it governs).
func (p TagPolicy) Validate() []Problem {
	var ps []Problem
	add := func(summary, detail string, paths ...string) {
		ps = append(ps, Problem{Paths: paths, Summary: summary, Detail: detail})
	}
	if strings.TrimSpace(p.Name) == "" {
		add("Invalid name", "A tag policy needs a name.", "name")
	}
	if _, ok := keyCases[p.KeyCase]; !ok && p.KeyCase != KeyCaseAny {
		add("Invalid key case", fmt.Sprintf("%q is not a casing; expected one of %s.", p.KeyCase, strings.Join(append([]string{KeyCaseAny}, sortedKeys(keyCases)...), ", ")), "key_case")
	}
	for _, k := range sortedKeys(p.AllowedValues) {
		av := p.AllowedValues[k]
		switch {
		case len(av.Values) > 0 && av.Pattern != "":
			add("Ambiguous allowed values", fmt.Sprintf("%q sets both values and pattern; set one.", k), "allowed_values")
		case len(av.Values) == 0 && av.Pattern == "":
			add("Empty allowed values", fmt.Sprintf("%q allows nothing; set values or pattern.", k), "allowed_values")
		case av.Pattern != "":
			if _, err := regexp.Compile(av.Pattern); err != nil {
				add("Invalid pattern", fmt.Sprintf("%q: %v.", k, err), "allowed_values")
			}
		}
	}
	if e := p.EnforceInCloud; e != nil && strings.TrimSpace(e.TargetID) == "" {
		add("Missing enforcement target", "enforce_in_cloud needs target_id: the root, organizational unit or account the Organizations tag policy is attached to.", "enforce_in_cloud.target_id")
	}
	for _, t := range sortedKeys(p.Exemptions) {
		if strings.TrimSpace(p.Exemptions[t]) == "" {
			add("Exemption without a reason", fmt.Sprintf("%q is exempted without a reason: every exception to the policy must be written down.", t), "exemptions")
		}
	}
	seen := map[string]string{}
	for _, k := range p.RequiredTags {
		if other, ok := seen[CanonicalKey(k)]; ok {
			add("Tag key conflict", fmt.Sprintf("required tags %q and %q are the same key spelt two ways; keep one.", other, k), "required_tags")
		}
		seen[CanonicalKey(k)] = k
	}
	return ps
}

// Allows reports whether value is allowed for key.
func (p TagPolicy) Allows(key, value string) bool {
	av, ok := p.AllowedValues[key]
	if !ok {
		return true
	}
	if av.Pattern != "" {
		re, err := regexp.Compile(av.Pattern)
		return err == nil && re.MatchString(value)
	}
	for _, v := range av.Values {
		if v == value {
			return true
		}
	}
	return false
}

// CaseFits reports whether key follows the policy's key casing.
func (p TagPolicy) CaseFits(key string) bool {
	re, ok := keyCases[p.KeyCase]
	return !ok || re.MatchString(key)
}

// britishToAmerican maps the spellings that make two keys look different
// when they mean the same thing ("cost-centre" and "CostCenter").
var britishToAmerican = strings.NewReplacer("centre", "center", "organisation", "organization", "colour", "color", "licence", "license")

// CanonicalKey is what a key means, ignoring case, separators and spelling:
// two keys with the same canonical form are a conflict, never merged.
func CanonicalKey(key string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(key) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == ':' {
			b.WriteRune(r)
		}
	}
	return britishToAmerican.Replace(b.String())
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
