package k8s

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
)

// maxLabel is the longest label name or value Kubernetes accepts.
const maxLabel = 63

// maxPrefix is the longest label key prefix (a DNS subdomain).
const maxPrefix = 253

// LabelKey turns a cost tag key into a valid label key; see the package
// documentation for the rules. It fails only when nothing usable is left.
func LabelKey(tag string) (string, error) {
	prefix, name := "", tag
	switch {
	case strings.Contains(tag, "/"):
		prefix, name, _ = strings.Cut(tag, "/")
	case strings.Contains(tag, ":"):
		prefix, name, _ = strings.Cut(tag, ":")
	}
	name = labelPart(name)
	if name == "" {
		return "", fmt.Errorf("tag key %q has no characters a label key can use", tag)
	}
	if prefix == "" {
		return name, nil
	}
	prefix = dnsSubdomain(prefix)
	if prefix == "" {
		return name, nil
	}
	return prefix + "/" + name, nil
}

// LabelValue turns a tag value into a valid label value (possibly empty).
func LabelValue(v string) string { return labelPart(v) }

// Labels turns cost tags into labels. Two tags that would land on the same
// label key are an error, because one would silently hide the other.
func Labels(tags map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(tags))
	from := map[string]string{}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		lk, err := LabelKey(k)
		if err != nil {
			return nil, err
		}
		if other, dup := from[lk]; dup {
			return nil, fmt.Errorf("tags %q and %q both become label %q; rename one", other, k, lk)
		}
		from[lk] = k
		out[lk] = LabelValue(tags[k])
	}
	return out, nil
}

// labelPart maps s onto [A-Za-z0-9._-], starting and ending with an
// alphanumeric, at most 63 characters. A shortened result ends with a hash
// of the whole input, so long values that share a beginning stay distinct.
func labelPart(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_':
			b.WriteRune(r)
			dash = false
		case r == '-' || !dash:
			// Any run of other characters becomes one dash.
			b.WriteByte('-')
			dash = r != '-'
		}
	}
	out := trimEnds(b.String())
	if len(out) > maxLabel {
		sum := sha256.Sum256([]byte(s))
		h := hex.EncodeToString(sum[:])[:8]
		out = trimEnds(out[:maxLabel-len(h)-1]) + "-" + h
	}
	return out
}

func trimEnds(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return !isAlnum(r) })
}

func isAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// dnsSubdomain lowercases s and keeps [a-z0-9.-], each dot-separated part
// starting and ending with an alphanumeric.
func dnsSubdomain(s string) string {
	var parts []string
	for _, p := range strings.Split(strings.ToLower(s), ".") {
		var b strings.Builder
		for _, r := range p {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
				b.WriteRune(r)
			} else {
				b.WriteByte('-')
			}
		}
		if q := trimEnds(b.String()); q != "" {
			parts = append(parts, q)
		}
	}
	out := strings.Join(parts, ".")
	if len(out) > maxPrefix {
		out = strings.TrimRight(out[:maxPrefix], ".-")
	}
	return out
}
