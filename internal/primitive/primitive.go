// Package primitive holds the unit that meridian compiles to and the engine
// deploys: one cloud object of one type in one region, and the graph of them.
package primitive

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Primitive is one cloud object as the compiler wants it to be.
type Primitive struct {
	// Name is unique within a graph and stable across runs, e.g. "s3_bucket.primary".
	Name   string `json:"name"`
	Type   string `json:"type"`
	Region string `json:"region"`
	// Properties are the driver's inputs. A string value of the form
	// "${other.output}" refers to an output of another primitive.
	Properties map[string]any    `json:"properties"`
	Tags       map[string]string `json:"tags,omitempty"`
	// DependsOn lists primitives that must exist first beyond those
	// implied by references.
	DependsOn []string `json:"depends_on,omitempty"`
	// Sensitive lists the properties whose values are secrets (a
	// workload's env). The engine records them only sealed (Seal), and
	// plans, previews and events show them as Redacted.
	Sensitive []string `json:"sensitive,omitempty"`
}

// Redacted is how a sensitive value is shown.
const Redacted = "(sensitive)"

// sealPrefix starts every sealed value, so that one is told from a value
// kept in clear.
const sealPrefix = "sha256:"

// Seal returns what a record keeps of a sensitive value: the SHA-256 of
// salt and the value's JSON. A change of the value is a change of the seal,
// so the engine still sees drift and plans updates, while the value itself
// is kept nowhere. The salt (the record's token) keeps equal values in two
// records from sealing alike, and a table of hashes of common values from
// applying to any record.
func Seal(value any, salt string) string {
	b, err := json.Marshal(value)
	if err != nil {
		panic(fmt.Sprintf("primitive property is not JSON: %v", err))
	}
	h := sha256.New()
	h.Write([]byte(salt))
	h.Write([]byte{0})
	h.Write(b)
	return sealPrefix + hex.EncodeToString(h.Sum(nil))
}

// Sealed returns a copy of props with the value of every sensitive key
// that props has replaced by its seal.
func Sealed(props map[string]any, sensitive []string, salt string) map[string]any {
	if len(sensitive) == 0 {
		return props
	}
	out := make(map[string]any, len(props))
	for k, v := range props {
		out[k] = v
		if slices.Contains(sensitive, k) {
			out[k] = Seal(v, salt)
		}
	}
	return out
}

// Graph is the set of primitives a blueprint compiles into.
type Graph struct {
	Primitives []Primitive `json:"primitives"`
}

// Ref is the property value that stands for an output of another primitive.
func Ref(name, output string) string { return "${" + name + "." + output + "}" }

var refPattern = regexp.MustCompile(`\$\{([^}.]+(?:\.[^}.]+)*)\.([^}.]+)\}`)

// refs returns the (name, output) pairs referenced anywhere in s.
func refs(s string) [][2]string {
	var out [][2]string
	for _, m := range refPattern.FindAllStringSubmatch(s, -1) {
		out = append(out, [2]string{m[1], m[2]})
	}
	return out
}

// Dependencies returns the names p depends on, explicit and through references, sorted.
func (p Primitive) Dependencies() []string {
	seen := map[string]bool{}
	for _, d := range p.DependsOn {
		seen[d] = true
	}
	walk(p.Properties, func(s string) {
		for _, r := range refs(s) {
			seen[r[0]] = true
		}
	})
	out := make([]string, 0, len(seen))
	for d := range seen {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

func walk(v any, visit func(string)) {
	switch t := v.(type) {
	case string:
		visit(t)
	case map[string]any:
		for _, x := range t {
			walk(x, visit)
		}
	case []any:
		for _, x := range t {
			walk(x, visit)
		}
	}
}

// Outputs looks up the recorded outputs of a primitive by name.
type Outputs func(name string) (map[string]string, bool)

// Resolve returns a copy of props with every reference replaced by its value.
// References that cannot be resolved yet are returned by name.output.
func Resolve(props map[string]any, outputs Outputs) (map[string]any, []string) {
	var missing []string
	var resolve func(v any) any
	resolve = func(v any) any {
		switch t := v.(type) {
		case string:
			return refPattern.ReplaceAllStringFunc(t, func(ref string) string {
				r := refs(ref)[0]
				if outs, found := outputs(r[0]); found {
					if val, has := outs[r[1]]; has {
						return val
					}
				}
				missing = append(missing, r[0]+"."+r[1])
				return ref
			})
		case map[string]any:
			m := make(map[string]any, len(t))
			for k, x := range t {
				m[k] = resolve(x)
			}
			return m
		case []any:
			s := make([]any, len(t))
			for i, x := range t {
				s[i] = resolve(x)
			}
			return s
		default:
			return t
		}
	}
	out, _ := resolve(Normalize(props)).(map[string]any)
	sort.Strings(missing)
	return out, slices.Compact(missing)
}

// Normalize returns props in the shape a JSON round trip gives them (numbers
// as float64, slices as []any), so that values compare equal however they
// were built.
func Normalize(props map[string]any) map[string]any {
	if props == nil {
		return map[string]any{}
	}
	b, err := json.Marshal(props)
	if err != nil {
		panic(fmt.Sprintf("primitive properties are not JSON: %v", err))
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

// Decode fills a typed struct from properties; drivers use it to read their inputs.
func Decode(props map[string]any, into any) error {
	b, err := json.Marshal(props)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, into)
}

// Check reports duplicate names, dangling dependencies and cycles.
func (g Graph) Check() error {
	_, err := g.Levels()
	return err
}

// Levels groups primitive names so that every primitive comes after all of
// its dependencies; names within a level may be created in parallel.
func (g Graph) Levels() ([][]string, error) {
	deps := map[string][]string{}
	for _, p := range g.Primitives {
		if _, dup := deps[p.Name]; dup {
			return nil, fmt.Errorf("primitive %q is declared twice", p.Name)
		}
		deps[p.Name] = p.Dependencies()
	}
	for name, ds := range deps {
		for _, d := range ds {
			if _, ok := deps[d]; !ok {
				return nil, fmt.Errorf("primitive %q depends on %q, which is not in the graph", name, d)
			}
		}
	}
	return levels(deps)
}

// levels is Kahn's algorithm, grouped by depth.
func levels(deps map[string][]string) ([][]string, error) {
	done := map[string]bool{}
	var out [][]string
	for len(done) < len(deps) {
		var level []string
		for name, ds := range deps {
			if done[name] {
				continue
			}
			ready := true
			for _, d := range ds {
				if !done[d] {
					ready = false
					break
				}
			}
			if ready {
				level = append(level, name)
			}
		}
		if len(level) == 0 {
			var stuck []string
			for name := range deps {
				if !done[name] {
					stuck = append(stuck, name)
				}
			}
			sort.Strings(stuck)
			return nil, fmt.Errorf("dependency cycle among %s", strings.Join(stuck, ", "))
		}
		sort.Strings(level)
		for _, n := range level {
			done[n] = true
		}
		out = append(out, level)
	}
	return out, nil
}
