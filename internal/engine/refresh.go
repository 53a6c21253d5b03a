package engine

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// Drift is a difference between a record and what the cloud holds.
type Drift struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	Region string `json:"region"`
	ID     string `json:"id"`
	// Gone is set when the object no longer exists.
	Gone bool `json:"gone,omitempty"`
	// Changes are the properties (and "tags") that changed outside meridian.
	Changes []string `json:"changes,omitempty"`
}

func (d Drift) String() string {
	if d.Gone {
		return fmt.Sprintf("%s (%s %s in %s) was deleted outside meridian", d.Name, d.Type, d.ID, d.Region)
	}
	return fmt.Sprintf("%s (%s %s in %s) was changed outside meridian: %s", d.Name, d.Type, d.ID, d.Region, strings.Join(d.Changes, ", "))
}

// Refresh reads every recorded primitive and brings st up to what the cloud
// holds: records of deleted objects are removed and observed properties
// replace recorded ones, so the next Diff plans to put them back. It returns
// what drifted and the drivers' warnings.
//
// Records whose driver is a BatchReader are read a type and region at a
// time with ReadAll, one batch after the other, each batch allowed the whole
// parallelism for the calls it makes per object; a batch that fails is read
// again one record at a time. The other records are read one by one with
// Read, at most Parallelism at once.
func (e *Engine) Refresh(ctx context.Context, st *State) ([]Drift, []string, error) {
	var (
		mu       sync.Mutex
		drifts   []Drift
		warnings []string
	)
	// observed brings rec up to what a read of it returned.
	observed := func(rec Record, obs Observation, err error) error {
		mu.Lock()
		defer mu.Unlock()
		drift := Drift{Name: rec.Name, Type: rec.Type, Region: rec.Region, ID: rec.ID}
		switch {
		case errors.Is(err, ErrNotFound):
			drift.Gone = true
			drifts = append(drifts, drift)
			st.Remove(rec.Name)
			return nil
		case err != nil:
			return fmt.Errorf("read %s: %w", rec.Name, err)
		}
		warnings = append(warnings, obs.Warnings...)
		inputs := map[string]any{}
		for k, v := range rec.Inputs {
			inputs[k] = v
		}
		seen := primitive.Sealed(primitive.Normalize(obs.Properties), rec.Sensitive, rec.Token)
		for k, v := range seen {
			if !reflect.DeepEqual(v, rec.Inputs[k]) {
				drift.Changes = append(drift.Changes, k)
			}
			inputs[k] = v
		}
		rec.Inputs = inputs
		if obs.Tags != nil {
			obs.Tags, _, _ = stripMarks(obs.Tags)
			if !reflect.DeepEqual(obs.Tags, nonNil(rec.Tags)) {
				drift.Changes = append(drift.Changes, "tags ("+tagChanges(nonNil(rec.Tags), obs.Tags)+")")
			}
			rec.Tags = obs.Tags
		}
		for k, v := range obs.Outputs {
			if rec.Outputs == nil {
				rec.Outputs = map[string]string{}
			}
			rec.Outputs[k] = v
		}
		if len(drift.Changes) > 0 {
			sort.Strings(drift.Changes)
			drifts = append(drifts, drift)
		}
		st.Put(rec)
		return nil
	}

	var recs []Record
	for _, rec := range st.Records {
		if rec.Pending == "" {
			recs = append(recs, rec)
		}
	}
	batches, single := e.batches(recs)
	var errs []error
	for _, b := range batches {
		if ctx.Err() != nil {
			break
		}
		var seen map[string]Observation
		step := Step{Name: fmt.Sprintf("%s in %s (%d records)", b.typ, b.region, len(b.recs)), Type: b.typ, Region: b.region}
		err := e.retry(ctx, step, func() (err error) {
			seen, err = b.reader.ReadAll(e.withFanOut(ctx, b.typ, b.region), b.recs)
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				errs = append(errs, fmt.Errorf("read %s: %w", step.Name, err))
				break
			}
			mu.Lock()
			warnings = append(warnings, fmt.Sprintf("batched read of %s failed, so its records were read one by one: %v", step.Name, err))
			mu.Unlock()
			single = append(single, b.recs...)
			continue
		}
		for _, rec := range b.recs {
			obs, ok := seen[rec.Name]
			var err error
			if !ok {
				err = fmt.Errorf("%s (%s %s in %s): %w", rec.Name, rec.Type, rec.ID, rec.Region, ErrNotFound)
			}
			_ = observed(rec, obs, err) // only a read error fails
		}
	}

	nodes := map[string][]string{}
	byName := map[string]Record{}
	for _, rec := range single {
		nodes[rec.Name] = nil
		byName[rec.Name] = rec
	}
	if ctx.Err() == nil {
		reads := func(yield func(Step) bool) {
			for _, rec := range single {
				if !yield(Step{Name: rec.Name, Type: rec.Type, Region: rec.Region}) {
					return
				}
			}
		}
		errs = append(errs, schedule(ctx, nodes, e.slots(reads), func(ctx context.Context, name string) error {
			rec := byName[name]
			d, ok := e.Drivers[rec.Type]
			if !ok {
				return fmt.Errorf("%s: no driver for type %q", rec.Name, rec.Type)
			}
			var obs Observation
			err := e.retry(ctx, Step{Name: rec.Name, Type: rec.Type, Region: rec.Region}, func() (err error) {
				obs, err = d.Read(ctx, rec)
				return err
			})
			return observed(rec, obs, err)
		}))
	} else {
		errs = append(errs, ctx.Err())
	}
	err := errors.Join(errs...)
	sort.Slice(drifts, func(i, j int) bool { return drifts[i].Name < drifts[j].Name })
	sort.Strings(warnings)
	// Journal what was learnt even when some reads failed: the records of
	// objects found gone are gone whatever happened to the others.
	if e.Journal != nil {
		if jerr := e.Journal(st.Clone()); jerr != nil {
			err = errors.Join(err, fmt.Errorf("journal: %w", jerr))
		}
	}
	return drifts, warnings, err
}

// tagChanges says how tags went from was to now: "+owner=bob, -team, cost-centre=cc-1 -> cc-2".
func tagChanges(was, now map[string]string) string {
	var out []string
	for _, k := range sortedKeys(now) {
		old, ok := was[k]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("+%s=%s", k, now[k]))
		case old != now[k]:
			out = append(out, fmt.Sprintf("%s=%s -> %s", k, old, now[k]))
		}
	}
	for _, k := range sortedKeys(was) {
		if _, ok := now[k]; !ok {
			out = append(out, "-"+k)
		}
	}
	return strings.Join(out, ", ")
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
