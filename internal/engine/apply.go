package engine

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// Engine executes plans through drivers.
type Engine struct {
	Drivers Drivers
	// Parallelism bounds the driver calls in flight; 0 means
	// DefaultParallelism. It is read at the first call.
	Parallelism int
	// Limits bound the requests to each service in each region, by
	// primitive.LimitKey or a prefix of it ("aws:s3" for S3 in every
	// region, "k8s" for every cluster): the longest key found wins. They
	// are declared, at the engine's first call, over the limits its
	// limiters hold (those the drivers' clouds declared); a zero Limit
	// lifts one.
	Limits map[string]Limit
	Retry  RetryPolicy
	// Journal makes changes to the state durable. Apply hands it Changes:
	// a step waits, before its create or delete call (the record is
	// pending) and after every call, until a Journal call holding its
	// change returned. Changes made while a call is in flight are written
	// together by the next one, and each call holds only the records
	// changed since the last, so that journaling a run costs in proportion
	// to its changes rather than to the state times the changes. Refresh
	// hands it the whole State. A journal that fails stops the run,
	// because a change the engine cannot record is a change it could lose.
	Journal func(JournalEntry) error
	// OnEvent, if set, hears about every step as it starts and ends.
	OnEvent func(Event)
	// Scope names whose primitives this engine deploys: "stack:dev" for a
	// CLI stack, the resource address for a terraform resource. It is the
	// first part of every OwnerTag, so it must not change over an object's
	// life.
	Scope string
	// StopGrace is how long Apply lets the steps in flight finish after
	// its context is cancelled; 0 means DefaultStopGrace.
	StopGrace time.Duration
	// Shared, if set, are the limiters of the process, which this engine
	// shares with other engines and with the clients whose requests take
	// their tokens (the drivers' clouds); the first engine to call sets
	// their Parallelism. Without them the engine has limiters of its own.
	Shared *Limiters

	limits Limiters
	once   sync.Once
}

// DefaultParallelism is how many steps run at once unless told otherwise.
const DefaultParallelism = 10

// RetryPolicy is how transient errors are retried: up to Attempts calls in
// all, waiting a random time up to Base*2^n (at most Max) between them.
type RetryPolicy struct {
	Attempts int
	Base     time.Duration
	Max      time.Duration
}

// DefaultRetry suits cloud APIs that throttle.
var DefaultRetry = RetryPolicy{Attempts: 6, Base: 200 * time.Millisecond, Max: 10 * time.Second}

// Event reports the progress of a step.
type Event struct {
	Step    Step
	Status  string // "start", "retry", "done" or "failed"
	Err     error
	Elapsed time.Duration
	// Warnings come from the driver.
	Warnings []string
}

// Apply executes the plan's steps, in dependency order and at most
// Parallelism at a time, and records each result in st. A failed step stops
// the steps that depend on it; the others go on. Apply returns every failure.
func (e *Engine) Apply(ctx context.Context, p Plan, st *State) error {
	r := &run{e: e, st: st}
	steps := map[string]Step{}
	for _, s := range p.Changes() {
		steps[s.Name] = s
	}
	// A step is one or two nodes: "delete name" deletes the recorded object
	// (a delete, or the first half of a replace), "name" creates or
	// updates the desired one. Deletes go dependents first, as recorded; creates
	// and updates go dependencies first, as desired; a replace creates
	// only once its old object and everything that used it are gone.
	nodes := map[string][]string{}
	for name, s := range steps {
		if s.Op == OpDelete || s.Op == OpReplace {
			var deps []string
			for _, rec := range st.Records {
				if t, ok := steps[rec.Name]; ok && (t.Op == OpDelete || t.Op == OpReplace) && slices.Contains(rec.DependsOn, name) {
					deps = append(deps, deleteNode+rec.Name)
				}
			}
			nodes[deleteNode+name] = deps
		}
		if s.Op == OpDelete {
			continue
		}
		var deps []string
		if s.Op == OpReplace {
			deps = append(deps, deleteNode+name)
		}
		for _, d := range s.desired.Dependencies() {
			if _, ok := steps[d]; ok {
				deps = append(deps, d)
			}
		}
		nodes[name] = deps
	}
	// A cancel (Ctrl-C) stops new steps at once, but lets the steps in
	// flight finish their calls and record what they made, for StopGrace:
	// a call cut off mid-way leaves an object half configured and a record
	// the next run must resolve.
	inFlight, stop := context.WithCancel(context.WithValue(context.WithoutCancel(ctx), stoppedKey{}, ctx))
	defer stop()
	defer context.AfterFunc(ctx, func() { time.AfterFunc(e.stopGrace(), stop) })()
	return schedule(ctx, nodes, e.slots(maps.Values(steps)), func(_ context.Context, node string) error {
		if name, ok := strings.CutPrefix(node, deleteNode); ok {
			return r.step(inFlight, steps[name], r.deleteRecorded)
		}
		return r.step(inFlight, steps[node], r.apply)
	})
}

// stoppedKey holds, in the context of a step in flight, the run's own
// context: once it is cancelled, the step makes no new try (see retry).
type stoppedKey struct{}

// runContext is the context of the run a step in flight belongs to: what
// waits before a call (a limit, a retry's backoff) ends with it, while the
// call itself goes on.
func runContext(ctx context.Context) context.Context {
	if run, ok := ctx.Value(stoppedKey{}).(context.Context); ok {
		return run
	}
	return ctx
}

// DefaultStopGrace is how long steps in flight may go on after a cancel.
const DefaultStopGrace = 30 * time.Second

func (e *Engine) stopGrace() time.Duration {
	if e.StopGrace > 0 {
		return e.StopGrace
	}
	return DefaultStopGrace
}

// deleteNode prefixes the name of a step's delete in the schedule, so
// that a skipped step reads "delete a: skipped because delete b failed".
const deleteNode = "delete "

// Destroy deletes every recorded primitive, dependents first.
func (e *Engine) Destroy(ctx context.Context, st *State) error {
	p, err := Diff(primitive.Graph{}, *st, e.Drivers)
	if err != nil {
		return err
	}
	return e.Apply(ctx, p, st)
}

func (e *Engine) parallelism() int {
	if e.Parallelism > 0 {
		return e.Parallelism
	}
	return DefaultParallelism
}

// run is one Apply: it guards the state that steps record into.
type run struct {
	e  *Engine
	mu sync.Mutex
	st *State
	// Journal writes are group commits: changed counts the changes made,
	// journaled how many of them the last completed write holds. A step
	// goes on only once a write holds its change, but steps that change
	// the state while a write is in flight share the next one, so a slow
	// journal (an fsync per write) does not serialize the cloud calls.
	changed, journaled int64
	writing            bool
	written            *sync.Cond
	journalErr         error
	// unjournaled holds, by name, the records changed since the last
	// journal entry was taken, as they are now; nil for a removed one.
	unjournaled map[string]*Record
}

func (r *run) put(rec Record) error { return r.record(rec.Name, &rec) }

func (r *run) remove(name string) error { return r.record(name, nil) }

// record puts now in the state, or removes name if now is nil, and waits
// until the journal holds the change.
func (r *run) record(name string, now *Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now != nil {
		r.st.Put(*now)
	} else {
		r.st.Remove(name)
	}
	if r.e.Journal == nil {
		return nil
	}
	if r.written == nil {
		r.written = sync.NewCond(&r.mu)
		r.unjournaled = map[string]*Record{}
	}
	r.unjournaled[name] = now
	r.changed++
	mine := r.changed
	for r.journaled < mine {
		if r.journalErr != nil {
			// A journal that failed once stops every step after it.
			return fmt.Errorf("journal: %w", r.journalErr)
		}
		if r.writing {
			r.written.Wait()
			continue
		}
		r.writing = true
		upTo, entry := r.changed, r.takeChanges()
		r.mu.Unlock()
		err := r.e.Journal(entry)
		r.mu.Lock()
		r.writing = false
		if err != nil {
			r.journalErr = err
		} else {
			r.journaled = upTo
		}
		r.written.Broadcast()
	}
	return nil
}

// takeChanges empties unjournaled into an entry of its own: the journal
// may keep it while the steps go on changing the state.
func (r *run) takeChanges() Changes {
	var c Changes
	for name, rec := range r.unjournaled {
		if rec == nil {
			c.Removed = append(c.Removed, name)
		} else {
			c.Put = append(c.Put, rec.clone())
		}
	}
	clear(r.unjournaled)
	sort.Strings(c.Removed)
	sort.Slice(c.Put, func(i, j int) bool { return c.Put[i].Name < c.Put[j].Name })
	return c
}

// step runs one half of s through do and reports it as s's progress: a
// replace reports its delete and its create as two runs of the same step.
func (r *run) step(ctx context.Context, s Step, do func(context.Context, Step, Driver) ([]string, error)) (err error) {
	start := time.Now()
	r.e.emit(Event{Step: s, Status: "start"})
	var warnings []string
	defer func() {
		ev := Event{Step: s, Status: "done", Elapsed: time.Since(start), Warnings: warnings}
		if err != nil {
			ev.Status, ev.Err = "failed", err
		}
		r.e.emit(ev)
	}()
	d, ok := r.e.Drivers[s.Type]
	if !ok {
		return fmt.Errorf("%s: no driver for type %q", s.Name, s.Type)
	}
	warnings, err = do(ctx, s, d)
	return err
}

// deleteRecorded deletes the object s's record stands for, once it has
// proved the object is the record's own, and removes the record. A delete
// the cloud refuses leaves the record as it was, live, so that the next
// plan shows the object as it is rather than a delete that never ends.
func (r *run) deleteRecorded(ctx context.Context, s Step, d Driver) ([]string, error) {
	r.mu.Lock()
	rec, recorded := r.st.Get(s.Name)
	r.mu.Unlock()
	if !recorded {
		return nil, nil
	}
	var warnings []string
	if rec.Pending == OpCreate {
		// The create may have made its object before it was cut short.
		found, w, err := r.findPending(ctx, s, d, &rec)
		warnings = append(warnings, w...)
		if err != nil {
			return warnings, err
		}
		if !found {
			return warnings, r.remove(s.Name)
		}
	}
	if _, marked := d.(Marked); marked && rec.ID != "" {
		var obs Observation
		err := r.e.retry(ctx, s, func(ctx context.Context) (err error) { obs, err = d.Read(ctx, rec); return err })
		switch {
		case errors.Is(err, ErrNotFound):
			return warnings, r.remove(s.Name)
		case err != nil:
			return warnings, fmt.Errorf("delete %s: read it to check that it is ours: %w", s.Name, err)
		}
		if err := r.e.owns(rec, obs.Tags); err != nil {
			return warnings, fmt.Errorf("delete %s: refused: %w", s.Name, err)
		}
	}
	live := rec
	live.Pending = ""
	// Journal the intent first: a crash during the call leaves a record
	// that may or may not have an object, and the next run finds out.
	rec.Pending = OpDelete
	if err := r.put(rec); err != nil {
		return warnings, err
	}
	if err := r.e.retry(ctx, s, func(ctx context.Context) error { return d.Delete(ctx, rec) }); err != nil {
		err = fmt.Errorf("delete %s: %w", s.Name, err)
		// Refused, or failed for good: if the object is still there, the
		// record is live again; if the read cannot tell, it stays pending.
		// The read is retried as any call is: one transient error would
		// leave a refused delete pending.
		rerr := r.e.retry(ctx, s, func(ctx context.Context) error { _, err := d.Read(ctx, live); return err })
		switch {
		case errors.Is(rerr, ErrNotFound):
			return warnings, r.remove(s.Name)
		case rerr == nil:
			if perr := r.put(live); perr != nil {
				return warnings, errors.Join(err, perr)
			}
			return warnings, fmt.Errorf("%w (the object is still there and stays recorded)", err)
		}
		return warnings, err
	}
	return warnings, r.remove(s.Name)
}

// findPending looks for the object a pending create may have made, and
// records it in rec if found. A Finder looks without creating anything;
// for other drivers the create is finished with its token, which makes no
// second object.
func (r *run) findPending(ctx context.Context, s Step, d Driver, rec *Record) (bool, []string, error) {
	// The record keeps sensitive values sealed: a create must not write
	// the seal as the value, so it goes without them; it only finds the
	// object, which the delete that follows removes.
	props := maps.Clone(rec.Inputs)
	for _, k := range rec.Sensitive {
		delete(props, k)
	}
	req := Request{Name: rec.Name, Type: rec.Type, Region: rec.Region, Properties: props,
		Tags: r.e.withMarks(d, rec.Name, rec.Token, rec.Tags), Token: rec.Token, Resume: true}
	var (
		res   Result
		found = true
		err   error
	)
	if f, ok := d.(Finder); ok {
		err = r.e.retry(ctx, s, func(ctx context.Context) (err error) { res, found, err = f.Find(ctx, req); return err })
		if errors.Is(err, ErrNotOwned) {
			// The name is someone else's: this record's create never made
			// anything, so there is nothing of ours to delete.
			return false, []string{fmt.Sprintf("%s: forgot its unfinished create: %v", s.Name, err)}, nil
		}
	} else {
		err = r.e.retry(ctx, s, func(ctx context.Context) (err error) { res, err = d.Create(ctx, req); return err })
		if errors.Is(err, ErrNotFound) {
			// What the create needs (its zone, its bucket) is gone, so it
			// cannot have made anything that is still there.
			return false, nil, nil
		}
	}
	if err != nil {
		return false, nil, fmt.Errorf("find what the unfinished create of %s made: %w", s.Name, err)
	}
	if found {
		rec.ID, rec.Outputs, rec.Pending = res.ID, withID(res.Outputs, res.ID), ""
	}
	return found, res.Warnings, nil
}

// owns checks that an object, by the tags it carries, is the one rec
// created. Records from before ownership marks, and imported objects, are
// taken as the user's word.
func (e *Engine) owns(rec Record, tags map[string]string) error {
	if rec.Token == "" || rec.Unmarked {
		return nil
	}
	if tags[OwnerTag] == e.mark(rec.Name) && tags[TokenTag] == rec.Token {
		return nil
	}
	what := fmt.Sprintf("%s %s in %s", rec.Type, rec.ID, rec.Region)
	if tags[OwnerTag] == e.mark(rec.Name) {
		return fmt.Errorf("%s carries token %q, not this record's: %w; it stays recorded (%s)", what, tags[TokenTag], ErrNotOwned, forgetAdvice)
	}
	return fmt.Errorf("%s: %w; it stays recorded (%s)", what, notOwned("it", tags), forgetAdvice)
}

// forgetAdvice is how a user consents to stop managing an object that a
// delete refused, without deleting it.
const forgetAdvice = "to stop managing it and leave it in place, remove its record: meridian stack forget ADDRESS, or terraform state rm"

// apply creates or updates the desired object of s and records it.
func (r *run) apply(ctx context.Context, s Step, d Driver) ([]string, error) {
	r.mu.Lock()
	rec, recorded := r.st.Get(s.Name)
	props, missing := primitive.Resolve(s.desired.Properties, r.st.outputs)
	r.mu.Unlock()
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s: unresolved references %v", s.Name, missing)
	}
	req := Request{Name: s.Name, Type: s.Type, Region: s.Region, Properties: props}
	var res Result
	if s.Op == OpUpdate && recorded && rec.Pending == "" {
		req.Token = rec.Token
		if req.Token == "" {
			req.Token = newToken() // a record from before ownership marks gets its own
		}
		req.Tags = r.e.withMarks(d, s.Name, req.Token, s.desired.Tags)
		err := r.e.retry(ctx, s, func(ctx context.Context) (err error) { res, err = d.Update(ctx, rec, req); return err })
		if err != nil {
			return nil, fmt.Errorf("update %s: %w", s.Name, err)
		}
		if res.ID == "" {
			res.ID = rec.ID
		}
	} else {
		// A create: journal the intent first, so that a crash during the
		// call leaves a pending record and the next run resumes it with the
		// same token. A record whose create or delete was cut short
		// resumes with its own token: the driver adopts what is there.
		req.Token, req.Resume = newToken(), false
		if recorded && rec.Pending != "" && rec.Token != "" {
			req.Token, req.Resume = rec.Token, true
		}
		req.Tags = r.e.withMarks(d, s.Name, req.Token, s.desired.Tags)
		pending := Record{
			Name: s.Name, Type: s.Type, Region: s.Region, Pending: OpCreate, Token: req.Token,
			Inputs: primitive.Sealed(props, s.desired.Sensitive, req.Token), Sensitive: s.desired.Sensitive,
			Tags: s.desired.Tags, DependsOn: s.desired.Dependencies(),
		}
		if err := r.put(pending); err != nil {
			return nil, err
		}
		err := r.e.retry(ctx, s, func(ctx context.Context) (err error) {
			res, err = d.Create(ctx, req)
			// Every try after the first may follow one that succeeded unseen.
			req.Resume = true
			return err
		})
		if errors.Is(err, ErrNotOwned) {
			// Nothing was made: the name belongs to an object that is not
			// ours, and the driver stopped before changing it.
			return nil, errors.Join(fmt.Errorf("create %s: %w", s.Name, err), r.remove(s.Name))
		}
		if err != nil {
			return nil, fmt.Errorf("create %s: %w", s.Name, err)
		}
	}
	done := Record{
		Name: s.Name, Type: s.Type, Region: s.Region, ID: res.ID, Token: req.Token,
		Inputs:    primitive.Sealed(props, s.desired.Sensitive, req.Token),
		Sensitive: s.desired.Sensitive,
		Tags:      s.desired.Tags, Outputs: withID(res.Outputs, res.ID),
		DependsOn: s.desired.Dependencies(),
	}
	return res.Warnings, r.put(done)
}

func (e *Engine) emit(ev Event) {
	if e.OnEvent != nil {
		e.OnEvent(ev)
	}
}

// retry calls f until it succeeds, fails for good, or runs out of attempts.
func (e *Engine) retry(ctx context.Context, s Step, f func(context.Context) error) error {
	p := e.Retry
	if p.Attempts == 0 {
		p = DefaultRetry
	}
	var err error
	for attempt := 0; attempt < p.Attempts; attempt++ {
		if attempt > 0 {
			e.emit(Event{Step: s, Status: "retry", Err: err})
			wait := min(p.Base<<attempt, p.Max)
			select {
			case <-time.After(rand.N(wait + 1)):
			case <-runContext(ctx).Done():
				return errors.Join(err, runContext(ctx).Err())
			}
		}
		if err = e.call(ctx, s, f); err == nil || !IsRetryable(err) {
			return err
		}
	}
	return fmt.Errorf("gave up after %d attempts: %w", p.Attempts, err)
}

func newToken() string {
	b := make([]byte, 12)
	if _, err := cryptorand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// withID adds the object's id to its outputs, so that other primitives can refer to it as "${name.id}".
func withID(outputs map[string]string, id string) map[string]string {
	out := map[string]string{"id": id}
	for k, v := range outputs {
		out[k] = v
	}
	return out
}
