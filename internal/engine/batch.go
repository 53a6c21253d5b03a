package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
)

// BatchReader is implemented by drivers that can observe many objects of
// their type in one region with fewer calls than one Read each (a list or
// describe-many call, a Kubernetes list by label). Refresh uses it when the
// driver has it, so that the number of calls grows with the number of types
// and regions rather than with the number of records.
type BatchReader interface {
	// ReadAll observes the objects of recs, which all have the driver's type
	// and one region. The result maps a record's Name to what was seen of
	// its object, exactly as Read would report it; a record missing from the
	// result is gone, as if Read had returned ErrNotFound. An error fails
	// the whole batch: Refresh then reads its records one by one with Read.
	//
	// Calls a driver makes for each object after its batched call (tags
	// that no list returns) should go through ForEach, which keeps them
	// within the engine's parallelism and the limit of their service.
	ReadAll(ctx context.Context, recs []Record) (map[string]Observation, error)
}

// ReadMissing completes a batched read: seen holds what the batched calls
// observed, by record name; the records of recs they did not see (a list
// that lags behind creates, a page cut short, an object without the label
// a list selects on) are read again with ReadEach.
func ReadMissing(ctx context.Context, recs []Record, seen map[string]Observation, read func(context.Context, Record) (Observation, error)) (map[string]Observation, error) {
	var missing []Record
	for _, rec := range recs {
		if _, ok := seen[rec.Name]; !ok {
			missing = append(missing, rec)
		}
	}
	more, err := ReadEach(ctx, missing, read)
	maps.Copy(seen, more)
	return seen, err
}

// ReadEach reads every record of recs with read, in name order, through
// ForEach, and returns what it observed by record name; those found gone
// are left out.
func ReadEach(ctx context.Context, recs []Record, read func(context.Context, Record) (Observation, error)) (map[string]Observation, error) {
	recs = slices.Clone(recs)
	sort.Slice(recs, func(i, j int) bool { return recs[i].Name < recs[j].Name })
	seen := map[string]Observation{}
	var mu sync.Mutex
	err := ForEach(ctx, len(recs), func(ctx context.Context, i int) error {
		obs, err := read(ctx, recs[i])
		if errors.Is(err, ErrNotFound) {
			return nil
		} else if err != nil {
			return fmt.Errorf("%s: %w", recs[i].Name, err)
		}
		mu.Lock()
		seen[recs[i].Name] = obs
		mu.Unlock()
		return nil
	})
	return seen, err
}

type fanOutKey struct{}

// fanOut is how many of a batch's per-object calls may run at once.
type fanOut struct{ n int }

// withFanOut lets the per-object calls of a batch run as the engine's
// calls do: Parallelism at once. Their requests take their service's
// tokens themselves (Limiters.Wait).
func (e *Engine) withFanOut(ctx context.Context) context.Context {
	return context.WithValue(ctx, fanOutKey{}, fanOut{n: e.parallelism()})
}

// ForEach calls f for 0..n-1, as many at once as the engine allows the
// batch running under ctx (one at a time outside a batch), and
// returns the errors of the calls, joined in index order. It stops starting
// calls once ctx is done.
func ForEach(ctx context.Context, n int, f func(ctx context.Context, i int) error) error {
	fo, _ := ctx.Value(fanOutKey{}).(fanOut)
	par := max(1, min(fo.n, n))
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = f(ctx, i)
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return errors.Join(append(errs, err)...)
	}
	return errors.Join(errs...)
}

// batch is the records of one type in one region read by one ReadAll.
type batch struct {
	typ, region string
	reader      BatchReader
	recs        []Record
}

// batches groups the records whose drivers can read in batches by type and
// region, sorted; the other records are returned as they are.
func (e *Engine) batches(recs []Record) ([]*batch, []Record) {
	groups := map[[2]string]*batch{}
	var single []Record
	for _, rec := range recs {
		br, ok := e.Drivers[rec.Type].(BatchReader)
		if !ok {
			single = append(single, rec)
			continue
		}
		key := [2]string{rec.Type, rec.Region}
		b := groups[key]
		if b == nil {
			b = &batch{typ: rec.Type, region: rec.Region, reader: br}
			groups[key] = b
		}
		b.recs = append(b.recs, rec)
	}
	out := make([]*batch, 0, len(groups))
	for _, b := range groups {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].typ != out[j].typ {
			return out[i].typ < out[j].typ
		}
		return out[i].region < out[j].region
	})
	return out, single
}
