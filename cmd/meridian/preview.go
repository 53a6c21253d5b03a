package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/sdk"
)

// showPreview prints the plan: each resource's steps with their property changes, then the counts.
func (p *project) showPreview(pv sdk.Preview) {
	counts := map[string]int{}
	for _, op := range []engine.Op{engine.OpCreate, engine.OpUpdate, engine.OpReplace, engine.OpDelete, engine.OpSame} {
		counts[string(op)] = pv.Counts[op]
	}
	if p.f.json {
		for _, s := range pv.Steps {
			m := map[string]any{"event": "plan_step", "op": s.Op, "name": s.Name, "type": s.Type, "region": s.Region,
				"changes": s.Changes, "replace_because": s.ReplaceBecause, "diffs": s.Diffs}
			if s.IncludedBecause != "" {
				m["included_because"] = s.IncludedBecause
			}
			p.emit(m)
		}
		p.warn(pv.Warnings)
		// The plan event is the preview's summary: the last line.
		p.emit(map[string]any{"event": "plan", "stack": p.name, "counts": counts, "changes": len(pv.Plan.Changes())})
		return
	}
	if p.live != nil {
		p.live.plan(pv.Plan.Changes())
	}
	p.printf("%s", planText(pv, p.groupOf))
	p.printf("stack %s: %d to create, %d to update, %d to replace, %d to delete, %d unchanged\n",
		p.name, counts["create"], counts["update"], counts["replace"], counts["delete"], counts["same"])
	p.warn(pv.Warnings)
}

// planText is the plan as text, grouped by resource (sorted by address):
// a resource without changes is one line, and a resource with changes
// heads its steps with its counts. A value known only after apply reads
// "(known after apply)", and a JSON document (a policy, the SSM manifest)
// is shown by key, indented on create and as the keys that change on update.
func planText(pv sdk.Preview, group func(string) (string, string)) string {
	type res struct {
		steps  []sdk.StepDetail
		counts map[engine.Op]int
	}
	byRes := map[string]*res{}
	var names []string
	get := func(name string) *res {
		r, ok := byRes[name]
		if !ok {
			r = &res{counts: map[engine.Op]int{}}
			byRes[name] = r
			names = append(names, name)
		}
		return r
	}
	for _, s := range pv.Plan.Steps {
		g, _ := group(s.Name)
		get(g).counts[s.Op]++
	}
	for _, s := range pv.Steps {
		g, _ := group(s.Name)
		get(g).steps = append(get(g).steps, s)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		r := byRes[name]
		var parts []string
		for _, op := range []engine.Op{engine.OpCreate, engine.OpUpdate, engine.OpReplace, engine.OpDelete, engine.OpSame} {
			if n := r.counts[op]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, map[engine.Op]string{engine.OpCreate: "to create", engine.OpUpdate: "to update",
					engine.OpReplace: "to replace", engine.OpDelete: "to delete", engine.OpSame: "unchanged"}[op]))
			}
		}
		fmt.Fprintf(&b, "%s: %s\n", name, strings.Join(parts, ", "))
		sort.SliceStable(r.steps, func(i, j int) bool { return r.steps[i].Name < r.steps[j].Name })
		for _, s := range r.steps {
			_, short := group(s.Name)
			fmt.Fprintf(&b, "  %-3s %s (%s in %s)\n", opSymbol[s.Op], short, s.Type, s.Region)
			if s.IncludedBecause != "" {
				fmt.Fprintf(&b, "        included because %s\n", s.IncludedBecause)
			}
			if len(s.ReplaceBecause) > 0 {
				fmt.Fprintf(&b, "        replaced because %s cannot change in place\n", strings.Join(s.ReplaceBecause, ", "))
			}
			for _, d := range s.Diffs {
				if s.Op == engine.OpCreate {
					fmt.Fprintf(&b, "        %s = %s\n", d.Key, indent(shown(document(d.New)), "        "))
					continue
				}
				if d.Sensitive {
					// Both sides are redacted: say that it changes, not how.
					fmt.Fprintf(&b, "        %s: %s changed\n", d.Key, d.New)
					continue
				}
				for _, c := range leafChanges(d.Key, document(asJSON(d.Old)), document(asJSON(d.New))) {
					fmt.Fprintf(&b, "        %s\n", c)
				}
			}
		}
	}
	return b.String()
}

var opSymbol = map[engine.Op]string{engine.OpCreate: "+", engine.OpUpdate: "~", engine.OpReplace: "-/+", engine.OpDelete: "-"}

// afterApply stands for a value that is known only once its dependency
// exists: the engine's ${...} placeholders.
const afterApply = "(known after apply)"

// document turns a string holding a JSON object (a policy, the SSM
// manifest) into the object, recursively, so that it is shown and diffed
// by key rather than as one long line.
func document(v any) any {
	switch x := v.(type) {
	case string:
		t := strings.TrimSpace(x)
		if strings.HasPrefix(t, "{") {
			var m map[string]any
			if json.Unmarshal([]byte(t), &m) == nil {
				return document(m)
			}
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = document(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = document(e)
		}
		return out
	}
	return v
}

// shown is a value as the preview prints it: placeholders as "(known
// after apply)", objects indented.
func shown(v any) string {
	switch x := v.(type) {
	case string:
		if strings.Contains(x, "${") {
			return afterApply
		}
		return fmt.Sprintf("%q", x)
	case map[string]any, []any:
		b, err := json.MarshalIndent(placeholders(x), "", "  ")
		if err != nil {
			return fmt.Sprint(x)
		}
		return strings.ReplaceAll(string(b), `"`+afterApply+`"`, afterApply)
	}
	return value(v)
}

// placeholders replaces every string with a ${...} in v by afterApply.
func placeholders(v any) any {
	switch x := v.(type) {
	case string:
		if strings.Contains(x, "${") {
			return afterApply
		}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = placeholders(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = placeholders(e)
		}
		return out
	}
	return v
}

func indent(s, prefix string) string { return strings.ReplaceAll(s, "\n", "\n"+prefix) }

func value(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func asJSON(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return v
	}
	return out
}

// leafChanges lists "path: old => new" for every leaf that differs.
func leafChanges(path string, old, new any) []string {
	om, ook := old.(map[string]any)
	nm, nok := new.(map[string]any)
	if !ook || !nok {
		if fmt.Sprint(old) == fmt.Sprint(new) && value(old) == value(new) {
			return nil
		}
		switch {
		case old == nil:
			return []string{fmt.Sprintf("%s: + %s", path, shown(new))}
		case new == nil:
			return []string{fmt.Sprintf("%s: - %s", path, shown(old))}
		}
		return []string{fmt.Sprintf("%s: %s => %s", path, shown(old), shown(new))}
	}
	keys := map[string]bool{}
	for k := range om {
		keys[k] = true
	}
	for k := range nm {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	var out []string
	for _, k := range sorted {
		out = append(out, leafChanges(path+"."+k, om[k], nm[k])...)
	}
	return out
}
