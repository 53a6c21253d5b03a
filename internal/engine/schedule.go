package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"sync"
)

// schedule runs do for every node after all of its dependencies have
// succeeded, with at most parallel running at once. A node whose dependency
// failed is skipped, and so are its dependents; other nodes go on.
func schedule(ctx context.Context, deps map[string][]string, parallel int, do func(context.Context, string) error) error {
	waiting := map[string]int{}
	dependents := map[string][]string{}
	for name, ds := range deps {
		waiting[name] = len(ds)
		for _, d := range ds {
			dependents[d] = append(dependents[d], name)
		}
	}
	type result struct {
		name string
		err  error
	}
	results := make(chan result)
	var ready []string
	for name, n := range waiting {
		if n == 0 {
			ready = append(ready, name)
		}
	}
	sort.Strings(ready)
	var (
		errs     []error
		running  int
		finished = map[string]bool{}
		wg       sync.WaitGroup
	)
	var skip func(string)
	skip = func(name string) {
		for _, d := range dependents[name] {
			if !finished[d] {
				finished[d] = true
				errs = append(errs, fmt.Errorf("%s: skipped because %s failed", d, name))
				skip(d)
			}
		}
	}
	for len(finished) < len(deps) {
		for len(ready) > 0 && running < parallel && ctx.Err() == nil {
			name := ready[0]
			ready = ready[1:]
			running++
			wg.Add(1)
			go func() {
				defer wg.Done()
				results <- result{name, safely(ctx, name, do)}
			}()
		}
		if running == 0 {
			// Nothing runs and nothing can start: cancelled, or a cycle.
			if err := ctx.Err(); err != nil {
				errs = append(errs, err)
			} else {
				errs = append(errs, errors.New("dependency cycle among steps"))
			}
			break
		}
		res := <-results
		running--
		finished[res.name] = true
		if res.err != nil {
			errs = append(errs, res.err)
			skip(res.name)
			continue
		}
		for _, d := range dependents[res.name] {
			waiting[d]--
			if waiting[d] == 0 && !finished[d] {
				ready = append(ready, d)
			}
		}
		sort.Strings(ready)
	}
	wg.Wait()
	return errors.Join(errs...)
}

// safely runs do, turning a panic into the node's error, with the stack
// that led to it: a driver's bug fails its step, and the run ends cleanly
// with what the other steps did recorded, instead of killing the process.
func safely(ctx context.Context, name string, do func(context.Context, string) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%s: panic: %v\n%s", name, p, debug.Stack())
		}
	}()
	return do(ctx, name)
}
