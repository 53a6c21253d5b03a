package sdk

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/agext/levenshtein"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
	"github.com/meridianhq/terraform-provider-meridian/internal/stack"
)

// TargetError is a target that names no declared primitive and no record:
// a run limited to it would do nothing and look successful.
type TargetError struct {
	Target string
	// Closest are the resource prefixes and primitive names nearest to
	// Target, nearest first.
	Closest []string
}

func (e *TargetError) Error() string {
	msg := fmt.Sprintf("target %q matches no resource or primitive of the stack", e.Target)
	if len(e.Closest) > 0 {
		msg += "; closest: " + strings.Join(e.Closest, ", ")
	}
	return msg
}

// targetMatches says whether a primitive's name is targeted by t: a
// resource's prefix ("pair", "meridian_dr_policy.pair") targets all of its
// primitives, "prefix/primitive" one.
func targetMatches(name, t string) bool {
	return name == t || strings.HasPrefix(name, t+stack.Separator)
}

// checkTargets returns a *TargetError for the first target that matches
// none of names.
func checkTargets(targets, names []string) error {
	for _, t := range targets {
		if !slices.ContainsFunc(names, func(n string) bool { return targetMatches(n, t) }) {
			candidates := map[string]bool{}
			for _, n := range names {
				candidates[n] = true
				if prefix, _, ok := strings.Cut(n, stack.Separator); ok {
					candidates[prefix] = true
				}
			}
			return &TargetError{Target: t, Closest: Closest(t, candidates)}
		}
	}
	return nil
}

// Closest returns the three candidates nearest to s by edit distance,
// nearest first (ties by name).
func Closest(s string, candidates map[string]bool) []string {
	type scored struct {
		name string
		d    int
	}
	var all []scored
	for c := range candidates {
		all = append(all, scored{c, levenshtein.Distance(s, c, nil)})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].d != all[j].d {
			return all[i].d < all[j].d
		}
		return all[i].name < all[j].name
	})
	var out []string
	for _, c := range all[:min(3, len(all))] {
		out = append(out, c.name)
	}
	return out
}

// selectTargets keeps the steps of the targeted primitives, of what they
// depend on (so that their references resolve), and of every recorded
// primitive whose delete the deletes of the targets would break: a record
// that depends on a deleted one, transitively, is deleted with it, first
// (Apply orders deletes by the records' DependsOn). included says, for
// each step kept that was not targeted, why it was.
func selectTargets(p engine.Plan, g primitive.Graph, st engine.State, targets []string) (engine.Plan, map[string]string, error) {
	var names []string
	for _, prim := range g.Primitives {
		names = append(names, prim.Name)
	}
	for _, r := range st.Records {
		names = append(names, r.Name)
	}
	if err := checkTargets(targets, names); err != nil {
		return engine.Plan{}, nil, err
	}
	matches := func(name string) bool {
		return slices.ContainsFunc(targets, func(t string) bool { return targetMatches(name, t) })
	}
	deps := map[string][]string{}
	for _, prim := range g.Primitives {
		deps[prim.Name] = prim.Dependencies()
	}
	keep := map[string]bool{}
	included := map[string]string{}
	var add func(name, why string)
	add = func(n, why string) {
		if keep[n] {
			return
		}
		keep[n] = true
		if why != "" {
			included[n] = why
		}
		for _, d := range deps[n] {
			add(d, n+" depends on it")
		}
	}
	for _, prim := range g.Primitives {
		if matches(prim.Name) {
			add(prim.Name, "")
		}
	}
	for _, r := range st.Records {
		if matches(r.Name) {
			keep[r.Name] = true
			delete(included, r.Name)
		}
	}
	ops := map[string]engine.Op{}
	for _, s := range p.Steps {
		ops[s.Name] = s.Op
	}
	records := map[string]engine.Record{}
	for _, r := range st.Records {
		records[r.Name] = r
	}
	var deleted []string
	for _, s := range p.Steps {
		if keep[s.Name] && s.Op == engine.OpDelete {
			deleted = append(deleted, s.Name)
		}
	}
	for len(deleted) > 0 {
		gone := records[deleted[0]]
		deleted = deleted[1:]
		for _, r := range st.Records {
			if !keep[r.Name] && ops[r.Name] == engine.OpDelete && dependsOn(r, gone) {
				keep[r.Name] = true
				included[r.Name] = "it depends on " + gone.Name
				deleted = append(deleted, r.Name)
			}
		}
	}
	var out engine.Plan
	for _, s := range p.Steps {
		if keep[s.Name] {
			out.Steps = append(out.Steps, s)
		}
	}
	return out, included, nil
}

// dependsOn says whether the record r depends on the record of on: through
// the dependencies recorded with it, or, for a bucket's replication
// configuration, by naming the bucket as its source or destination (a
// configuration left pointing at a deleted bucket replicates nowhere).
func dependsOn(r, on engine.Record) bool {
	if slices.Contains(r.DependsOn, on.Name) {
		return true
	}
	if r.Type == primitive.S3BucketReplication && on.Type == primitive.S3Bucket && on.ID != "" {
		return r.Inputs["bucket"] == on.ID || r.Inputs["destination_bucket_arn"] == blueprint.ARN(on.Region, "s3", "", "", on.ID)
	}
	return false
}

// Forget removes the records of targets (resource prefixes or primitive
// names) from the stack's state, holding its lock, and touches nothing in
// the cloud: the objects stay where they are, no longer managed. It is the
// explicit consent a refused delete asks for when an object is not
// meridian's to delete. It returns the names of the records removed.
func (w *Workspace) Forget(ctx context.Context, targets []string) ([]string, error) {
	var forgotten []string
	err := w.withLock(ctx, "forget", func() error {
		doc, err := w.backend.Load(ctx)
		if err != nil {
			return err
		}
		var names []string
		for _, r := range doc.Records {
			names = append(names, r.Name)
		}
		if err := checkTargets(targets, names); err != nil {
			return err
		}
		for _, name := range names {
			if slices.ContainsFunc(targets, func(t string) bool { return targetMatches(name, t) }) {
				doc.Remove(name)
				forgotten = append(forgotten, name)
			}
		}
		return w.backend.Save(ctx, doc)
	})
	return forgotten, err
}
