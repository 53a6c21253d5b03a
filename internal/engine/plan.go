package engine

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// Op is what a step does to a primitive.
type Op string

const (
	OpSame    Op = "same"
	OpCreate  Op = "create"
	OpUpdate  Op = "update"
	OpReplace Op = "replace"
	OpDelete  Op = "delete"
)

// interruptedDelete is the change shown for a wanted record whose delete
// was cut short: the object may be there or not, so it is created again
// with the record's token, which adopts the object if it is still there.
const interruptedDelete = "(interrupted delete: adopted if still there)"

// Step is one primitive's part of a plan.
type Step struct {
	Op     Op     `json:"op"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	Region string `json:"region"`
	// Changes are the properties (and "tags") that differ from the record.
	Changes []string `json:"changes,omitempty"`
	// ReplaceBecause are the changes that cannot be made in place.
	ReplaceBecause []string `json:"replace_because,omitempty"`
	// desired is the primitive for every op but delete.
	desired *primitive.Primitive
}

func (s Step) String() string {
	out := fmt.Sprintf("%s %s in %s", s.Op, s.Name, s.Region)
	switch {
	case len(s.ReplaceBecause) > 0:
		out += ": cannot change " + strings.Join(s.ReplaceBecause, ", ") + " in place"
	case len(s.Changes) > 0:
		out += ": " + strings.Join(s.Changes, ", ")
	}
	return out
}

// Plan is the ordered list of steps that takes the recorded state to the desired graph.
type Plan struct {
	Steps []Step `json:"steps"`
}

// Changes returns the steps that do something.
func (p Plan) Changes() []Step {
	var out []Step
	for _, s := range p.Steps {
		if s.Op != OpSame {
			out = append(out, s)
		}
	}
	return out
}

// Count returns how many steps there are of each op.
func (p Plan) Count() map[Op]int {
	out := map[Op]int{}
	for _, s := range p.Steps {
		out[s.Op]++
	}
	return out
}

// Diff compares the desired graph with the recorded state. It is pure.
func Diff(desired primitive.Graph, st State, drivers Drivers) (Plan, error) {
	levels, err := desired.Levels()
	if err != nil {
		return Plan{}, err
	}
	byName := map[string]primitive.Primitive{}
	for _, p := range desired.Primitives {
		if _, ok := drivers[p.Type]; !ok {
			return Plan{}, fmt.Errorf("primitive %s: no driver for type %q", p.Name, p.Type)
		}
		byName[p.Name] = p
	}
	// A reference to a primitive that is created or replaced is not known
	// until apply, so such primitives are left out of the outputs.
	renewed := map[string]bool{}
	outputs := func(name string) (map[string]string, bool) {
		if renewed[name] {
			return nil, false
		}
		return st.outputs(name)
	}
	var plan Plan
	for _, level := range levels {
		for _, name := range level {
			p := byName[name]
			step := diffOne(p, st, outputs, drivers[p.Type])
			if step.Op == OpCreate || step.Op == OpReplace {
				renewed[name] = true
			}
			plan.Steps = append(plan.Steps, step)
		}
	}
	var gone []Step
	for _, r := range st.Records {
		if _, ok := byName[r.Name]; !ok {
			gone = append(gone, Step{Op: OpDelete, Name: r.Name, Type: r.Type, Region: r.Region})
		}
	}
	plan.Steps = append(plan.Steps, gone...)
	replaceDependents(plan, st, drivers)
	return plan, nil
}

// replaceDependents turns every update or no-op of a record that depends,
// as recorded, on a replaced primitive whose driver is InUse into a
// replace too. The cloud will not delete such an object while others use
// it (a health check a failover record names, a zone that holds records, a
// role with policies), so its dependents are deleted before it and created
// again after the new one. Dependents of other replaced primitives are
// updated in place, after the new object exists.
func replaceDependents(plan Plan, st State, drivers Drivers) {
	index := map[string]int{}
	for i, s := range plan.Steps {
		index[s.Name] = i
	}
	held := func(j int) bool {
		_, ok := drivers[plan.Steps[j].Type].(InUse)
		return plan.Steps[j].Op == OpReplace && ok
	}
	for changed := true; changed; {
		changed = false
		for i, s := range plan.Steps {
			if s.Op != OpSame && s.Op != OpUpdate {
				continue
			}
			rec, ok := st.Get(s.Name)
			if !ok {
				continue
			}
			for _, d := range rec.DependsOn {
				if j, ok := index[d]; ok && held(j) {
					because := d + " is replaced"
					s.Op, s.ReplaceBecause = OpReplace, []string{because}
					if !slices.Contains(s.Changes, because) {
						s.Changes = append(s.Changes, because)
						sort.Strings(s.Changes)
					}
					plan.Steps[i] = s
					// A replaced dependent may itself be in use.
					changed = true
					break
				}
			}
		}
	}
}

func diffOne(p primitive.Primitive, st State, outputs primitive.Outputs, d Driver) Step {
	step := Step{Name: p.Name, Type: p.Type, Region: p.Region, desired: &p}
	rec, ok := st.Get(p.Name)
	if !ok || rec.Pending == OpCreate {
		step.Op = OpCreate
		return step
	}
	if rec.Pending == OpDelete {
		// A delete was cut short: the object may be gone or not. Trusting
		// the record would leave dependents pointing at nothing, and
		// deleting it again would destroy what may still be whole; a create
		// with the record's token finds out, and adopts what is there.
		step.Op, step.Changes = OpCreate, []string{interruptedDelete}
		return step
	}
	if rec.Type != p.Type {
		step.Op, step.Changes, step.ReplaceBecause = OpReplace, []string{"type"}, []string{"type"}
		return step
	}
	if rec.Region != p.Region {
		step.Op, step.Changes, step.ReplaceBecause = OpReplace, []string{"region"}, []string{"region"}
		return step
	}
	props, unknown := primitive.Resolve(p.Properties, outputs)
	// A sensitive value is compared by its seal: the record keeps no other.
	// One the record keeps in clear (recorded before it was sensitive)
	// differs from its seal, so the update that follows seals it.
	changed := changedKeys(primitive.Sealed(props, p.Sensitive, rec.Token), rec.Inputs)
	for _, ref := range unknown {
		// An unknown value counts as a change of every key that holds it.
		for k, v := range p.Properties {
			if holdsRef(v, ref) {
				changed[k] = true
			}
		}
	}
	if !reflect.DeepEqual(nonNil(p.Tags), nonNil(rec.Tags)) {
		changed["tags"] = true
	}
	force := map[string]bool{}
	for _, k := range d.ForceNew() {
		force[k] = true
	}
	for k := range changed {
		step.Changes = append(step.Changes, k)
		if force[k] {
			step.ReplaceBecause = append(step.ReplaceBecause, k)
		}
	}
	sort.Strings(step.Changes)
	sort.Strings(step.ReplaceBecause)
	switch {
	case len(step.ReplaceBecause) > 0:
		step.Op = OpReplace
	case len(step.Changes) > 0:
		step.Op = OpUpdate
	default:
		step.Op = OpSame
	}
	return step
}

func changedKeys(want, have map[string]any) map[string]bool {
	out := map[string]bool{}
	for k, v := range want {
		if !reflect.DeepEqual(v, have[k]) {
			out[k] = true
		}
	}
	for k := range have {
		if _, ok := want[k]; !ok {
			out[k] = true
		}
	}
	return out
}

func holdsRef(v any, ref string) bool {
	found := false
	var walk func(any)
	walk = func(v any) {
		switch t := v.(type) {
		case string:
			if strings.Contains(t, "${"+ref+"}") {
				found = true
			}
		case map[string]any:
			for _, x := range t {
				walk(x)
			}
		case []any:
			for _, x := range t {
				walk(x)
			}
		}
	}
	walk(v)
	return found
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
