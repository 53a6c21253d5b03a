package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// Preflight is what a plan cannot see from the records alone and must be
// read from the cloud before anything is applied.
type Preflight struct {
	// Taken are the creates whose name an object not ours already holds:
	// each error wraps ErrNotOwned and names the step.
	Taken []error
	// Data are the deletes and replaces of objects that hold data.
	Data []DataLoss
}

// DataLoss is a step that would destroy the data an object holds.
type DataLoss struct {
	Step  Step
	ID    string
	Holds string
}

func (d DataLoss) String() string {
	return fmt.Sprintf("%s %s (%s %s in %s) holds %s", d.Step.Op, d.Step.Name, d.Step.Type, d.ID, d.Step.Region, d.Holds)
}

// Preflight reads, for the plan's creates, whether their names are taken
// (through Finder), and for its deletes and replaces, whether the objects
// hold data (through DataHolder), at most Parallelism reads at a time and
// within each service's limits. It changes nothing.
func (e *Engine) Preflight(ctx context.Context, p Plan, st State) (Preflight, error) {
	var (
		mu  sync.Mutex
		out Preflight
	)
	checks := map[string]func(context.Context) error{}
	for _, s := range p.Changes() {
		d := e.Drivers[s.Type]
		rec, recorded := st.Get(s.Name)
		if h, ok := d.(DataHolder); ok && recorded && rec.ID != "" && (s.Op == OpDelete || s.Op == OpReplace) {
			checks["data "+s.Name] = func(ctx context.Context) error {
				var holds string
				err := e.retry(ctx, s, func(ctx context.Context) (err error) { holds, err = h.HoldsData(ctx, rec); return err })
				if errors.Is(err, ErrNotFound) || holds == "" {
					return nil
				}
				if err != nil {
					return fmt.Errorf("%s: read whether it holds data: %w", s.Name, err)
				}
				mu.Lock()
				out.Data = append(out.Data, DataLoss{Step: s, ID: rec.ID, Holds: holds})
				mu.Unlock()
				return nil
			}
		}
		f, ok := d.(Finder)
		if !ok || !(s.Op == OpCreate || s.Op == OpReplace) || (recorded && rec.Pending != "" && s.Op == OpCreate) {
			continue
		}
		// Only names known before apply can be looked up.
		props, missing := primitive.Resolve(s.desired.Properties, st.outputs)
		if len(missing) > 0 {
			continue
		}
		req := Request{Name: s.Name, Type: s.Type, Region: s.Region, Properties: props, Tags: e.withMarks(d, s.Name, "", s.desired.Tags)}
		checks["name "+s.Name] = func(ctx context.Context) error {
			err := e.retry(ctx, s, func(ctx context.Context) (err error) { _, _, err = f.Find(ctx, req); return err })
			switch {
			case errors.Is(err, ErrNotOwned):
				mu.Lock()
				out.Taken = append(out.Taken, fmt.Errorf("%s: %w", s.Name, err))
				mu.Unlock()
				return nil
			case err != nil:
				return fmt.Errorf("%s: look up whether its name is taken: %w", s.Name, err)
			}
			return nil
		}
	}
	nodes := map[string][]string{}
	for name := range checks {
		nodes[name] = nil
	}
	steps := func(yield func(Step) bool) {
		for _, s := range p.Changes() {
			if !yield(s) {
				return
			}
		}
	}
	err := schedule(ctx, nodes, e.slots(steps), func(ctx context.Context, name string) error {
		return checks[name](ctx)
	})
	sort.Slice(out.Data, func(i, j int) bool { return out.Data[i].Step.Name < out.Data[j].Step.Name })
	sort.Slice(out.Taken, func(i, j int) bool { return out.Taken[i].Error() < out.Taken[j].Error() })
	return out, err
}
