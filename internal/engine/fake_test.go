package engine_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// fakeCloud is an in-memory cloud shared by the fakeDrivers of one test.
//
// A fake is used on purpose: these tests check the engine's own logic
// (diffing, ordering, parallelism, retries, journaling, refresh), so no cloud
// and no real driver is involved. The drivers' own tests run against moto and
// real clouds elsewhere.
//
// Every call is recorded with a logical clock (Start and End come from one
// counter, so "a ended before b started" is exact) and wall-clock timestamps
// for debugging; tests never assert on durations.
type fakeCloud struct {
	mu      sync.Mutex
	clock   int
	calls   []*call
	objects map[string]*object // by ID
	nextID  int

	// failures holds, per "op name", the errors returned by the next calls;
	// a nil entry lets the call through. always fails every call.
	failures map[string][]error
	always   map[string]error

	inFlight, maxInFlight int
	// inFlightOf and maxInFlightOf count the same per primitive type.
	inFlightOf, maxInFlightOf map[string]int
	// delay is how long every call takes; small, so that calls overlap.
	delay time.Duration
	// onCall, if set, runs at the start of every call, outside the lock.
	onCall func(c call)
	// limiters, if set, are taken a token of for every call, as a cloud's
	// client does for every request it sends (one call, one request).
	limiters *engine.Limiters
}

type object struct {
	ID, Name, Type, Region, Token string
	Props                         map[string]any
	Tags                          map[string]string
	Outputs                       map[string]string
}

type call struct {
	Op, Type, Name, ID string
	Token              string
	Resume             bool
	Props              map[string]any
	Tags               map[string]string
	Start, End         int
	StartedAt, EndedAt time.Time
	Err                error
	release            func() // ends the call's request in its limit; not under mu
}

func newCloud() *fakeCloud {
	return &fakeCloud{objects: map[string]*object{}, failures: map[string][]error{}, always: map[string]error{}}
}

// fail makes the next calls of op on name return errs, one per call.
func (c *fakeCloud) fail(op, name string, errs ...error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failures[op+" "+name] = append(c.failures[op+" "+name], errs...)
}

// failAlways makes every call of op on name return err.
func (c *fakeCloud) failAlways(op, name string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.always[op+" "+name] = err
}

// begin records the start of a call and returns the error injected for it.
func (c *fakeCloud) begin(ctx context.Context, cl *call, region string) error {
	var waitErr error
	cl.release = func() {}
	if c.limiters != nil {
		if release, err := c.limiters.Wait(ctx, primitive.LimitKey(cl.Type, region)); err != nil {
			waitErr = err
		} else {
			cl.release = release
		}
	}
	c.mu.Lock()
	c.clock++
	cl.Start, cl.StartedAt = c.clock, time.Now()
	c.calls = append(c.calls, cl)
	c.inFlight++
	c.maxInFlight = max(c.maxInFlight, c.inFlight)
	if c.inFlightOf == nil {
		c.inFlightOf, c.maxInFlightOf = map[string]int{}, map[string]int{}
	}
	c.inFlightOf[cl.Type]++
	c.maxInFlightOf[cl.Type] = max(c.maxInFlightOf[cl.Type], c.inFlightOf[cl.Type])
	key := cl.Op + " " + cl.Name
	var err error
	if q := c.failures[key]; len(q) > 0 {
		err, c.failures[key] = q[0], q[1:]
	}
	if e, ok := c.always[key]; ok {
		err = e
	}
	if waitErr != nil {
		err = waitErr
	}
	hook, delay := c.onCall, c.delay
	c.mu.Unlock()
	if hook != nil {
		hook(*cl)
	}
	if delay > 0 {
		time.Sleep(delay)
	}
	return err
}

// end records the end of a call; the caller holds c.mu.
func (c *fakeCloud) end(cl *call, err error) {
	c.clock++
	cl.End, cl.EndedAt, cl.Err = c.clock, time.Now(), err
	c.inFlight--
	c.inFlightOf[cl.Type]--
}

// callsOf returns the calls of op (all ops if empty), in start order.
func (c *fakeCloud) callsOf(op string) []call {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []call
	for _, cl := range c.calls {
		if op == "" || cl.Op == op {
			out = append(out, *cl)
		}
	}
	return out
}

// callNames returns "op name" for every call, in start order.
func (c *fakeCloud) callNames() []string {
	var out []string
	for _, cl := range c.callsOf("") {
		out = append(out, cl.Op+" "+cl.Name)
	}
	return out
}

func (c *fakeCloud) max() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.maxInFlight
}

func (c *fakeCloud) objectNamed(name string) (*object, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, o := range c.objects {
		if o.Name == name {
			return o, true
		}
	}
	return nil, false
}

func (c *fakeCloud) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.objects)
}

// fakeDriver serves one primitive type from a fakeCloud.
type fakeDriver struct {
	c        *fakeCloud
	typ      string
	forceNew []string
	// hidden are properties Read cannot observe.
	hidden []string
	// warn is a warning returned by every Read.
	warn string
}

func (d *fakeDriver) ForceNew() []string { return d.forceNew }

// outputs are an ARN and every string property, so that references such as
// "${x.bucket}" or "${x.arn}" resolve.
func outputsFor(id string, props map[string]any) map[string]string {
	out := map[string]string{"arn": "arn:fake:" + id, "zone_id": "Z-" + id}
	for k, v := range props {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

func (d *fakeDriver) Create(ctx context.Context, req engine.Request) (engine.Result, error) {
	cl := &call{Op: "create", Type: d.typ, Name: req.Name, Token: req.Token, Resume: req.Resume, Props: req.Properties, Tags: req.Tags}
	err := d.c.begin(ctx, cl, req.Region)
	// The request ends after the lock is let go: taking its place back may wait.
	defer cl.release()
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	defer func() { d.c.end(cl, err) }()
	if err != nil {
		return engine.Result{}, err
	}
	if strings.Contains(fmt.Sprint(req.Properties), "${") {
		err = fmt.Errorf("fake: %s received an unresolved reference: %v", req.Name, req.Properties)
		return engine.Result{}, err
	}
	if req.Resume {
		for _, o := range d.c.objects {
			if o.Token == req.Token {
				cl.ID = o.ID
				return engine.Result{ID: o.ID, Outputs: maps.Clone(o.Outputs)}, nil
			}
		}
	}
	d.c.nextID++
	id := fmt.Sprintf("%s-%d", d.typ, d.c.nextID)
	o := &object{ID: id, Name: req.Name, Type: d.typ, Region: req.Region, Token: req.Token,
		Props: primitive.Normalize(req.Properties), Tags: maps.Clone(req.Tags), Outputs: outputsFor(id, req.Properties)}
	d.c.objects[id] = o
	cl.ID = id
	return engine.Result{ID: id, Outputs: maps.Clone(o.Outputs)}, nil
}

func (d *fakeDriver) Read(ctx context.Context, rec engine.Record) (engine.Observation, error) {
	cl := &call{Op: "read", Type: d.typ, Name: rec.Name, ID: rec.ID}
	err := d.c.begin(ctx, cl, rec.Region)
	// The request ends after the lock is let go: taking its place back may wait.
	defer cl.release()
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	defer func() { d.c.end(cl, err) }()
	if err != nil {
		return engine.Observation{}, err
	}
	o, ok := d.c.objects[rec.ID]
	if !ok {
		err = fmt.Errorf("fake: %s %s: %w", d.typ, rec.ID, engine.ErrNotFound)
		return engine.Observation{}, err
	}
	props := primitive.Normalize(o.Props)
	for _, h := range d.hidden {
		delete(props, h)
	}
	tags := maps.Clone(o.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	obs := engine.Observation{Properties: props, Tags: tags, Outputs: maps.Clone(o.Outputs)}
	if d.warn != "" {
		obs.Warnings = []string{d.warn + " " + rec.Name}
	}
	return obs, nil
}

func (d *fakeDriver) Update(ctx context.Context, rec engine.Record, req engine.Request) (engine.Result, error) {
	cl := &call{Op: "update", Type: d.typ, Name: req.Name, ID: rec.ID, Token: req.Token, Props: req.Properties, Tags: req.Tags}
	err := d.c.begin(ctx, cl, req.Region)
	// The request ends after the lock is let go: taking its place back may wait.
	defer cl.release()
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	defer func() { d.c.end(cl, err) }()
	if err != nil {
		return engine.Result{}, err
	}
	o, ok := d.c.objects[rec.ID]
	if !ok {
		err = fmt.Errorf("fake: update %s %s: %w", d.typ, rec.ID, engine.ErrNotFound)
		return engine.Result{}, err
	}
	o.Props, o.Tags = primitive.Normalize(req.Properties), maps.Clone(req.Tags)
	o.Outputs = outputsFor(o.ID, req.Properties)
	// An empty ID: the engine keeps the recorded one.
	return engine.Result{Outputs: maps.Clone(o.Outputs)}, nil
}

func (d *fakeDriver) Delete(ctx context.Context, rec engine.Record) error {
	cl := &call{Op: "delete", Type: d.typ, Name: rec.Name, ID: rec.ID}
	err := d.c.begin(ctx, cl, rec.Region)
	// The request ends after the lock is let go: taking its place back may wait.
	defer cl.release()
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	defer func() { d.c.end(cl, err) }()
	if err != nil {
		return err
	}
	delete(d.c.objects, rec.ID)
	return nil
}

// Types served by the fake drivers of most tests.
const (
	tBucket = "bucket" // "name" cannot change in place
	tPolicy = "policy" // everything changes in place
	tLink   = "link"   // "source" cannot change in place
)

func drivers(c *fakeCloud) engine.Drivers {
	return engine.Drivers{
		tBucket: &fakeDriver{c: c, typ: tBucket, forceNew: []string{"name"}},
		tPolicy: &fakeDriver{c: c, typ: tPolicy},
		tLink:   &fakeDriver{c: c, typ: tLink, forceNew: []string{"source"}},
	}
}

// quick retries: no test waits for real backoff.
var quick = engine.RetryPolicy{Attempts: 4, Base: time.Millisecond, Max: 2 * time.Millisecond}

// journal keeps the state as of every journal entry, replaying the
// engine's changes as a backend would, and the entries themselves.
type journal struct {
	mu      sync.Mutex
	states  []engine.State
	entries []engine.JournalEntry
	now     engine.State
	err     error
}

func (j *journal) write(entry engine.JournalEntry) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries = append(j.entries, entry)
	if j.err != nil {
		return j.err
	}
	switch entry := entry.(type) {
	case engine.Changes:
		j.now.Replay(entry)
	case engine.State:
		j.now = entry.Clone()
	}
	j.states = append(j.states, j.now.Clone())
	return nil
}

func (j *journal) all() []engine.State {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.states)
}

func (j *journal) last() (engine.State, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.states) == 0 {
		return engine.State{}, false
	}
	return j.states[len(j.states)-1], true
}

// events keeps every event, in the order heard.
type events struct {
	mu  sync.Mutex
	all []engine.Event
}

func (e *events) add(ev engine.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
}

func (e *events) of(name, status string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.all {
		if ev.Step.Name == name && ev.Status == status {
			n++
		}
	}
	return n
}

func newEngine(c *fakeCloud, parallelism int) (*engine.Engine, *journal, *events) {
	j, ev := &journal{}, &events{}
	return &engine.Engine{Drivers: drivers(c), Parallelism: parallelism, Retry: quick, Journal: j.write, OnEvent: ev.add}, j, ev
}

// prim builds a primitive; deps become explicit dependencies.
func prim(name, typ string, props map[string]any, deps ...string) primitive.Primitive {
	return primitive.Primitive{Name: name, Type: typ, Region: "us-east-1", Properties: props, DependsOn: deps}
}

func graph(ps ...primitive.Primitive) primitive.Graph { return primitive.Graph{Primitives: ps} }

// apply diffs g against st and applies the plan.
func apply(t *testing.T, e *engine.Engine, g primitive.Graph, st *engine.State) (engine.Plan, error) {
	t.Helper()
	p, err := engine.Diff(g, *st, e.Drivers)
	if err != nil {
		t.Fatalf("Diff() error = %v", err)
	}
	return p, e.Apply(context.Background(), p, st)
}

func recordNames(st engine.State) []string {
	out := []string{}
	for _, r := range st.Records {
		out = append(out, r.Name)
	}
	sort.Strings(out)
	return out
}

// findCall returns the one call of op on name, and fails the test if there is not exactly one.
func findCall(t *testing.T, c *fakeCloud, op, name string) call {
	t.Helper()
	var found []call
	for _, cl := range c.callsOf(op) {
		if cl.Name == name {
			found = append(found, cl)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %s calls for %s, want 1 (calls: %q)", len(found), op, name, c.callNames())
	}
	return found[0]
}

// tOwned is served by markedDriver: its objects carry the ownership marks,
// are known by their "name" property, and can be found without a create.
const tOwned = "owned"

// markedDriver is a fakeDriver whose objects are named by their "name"
// property, as buckets are: a create that meets an object of that name
// claims it through engine.Claim, as the AWS drivers do.
type markedDriver struct{ *fakeDriver }

func (markedDriver) Marked() {}

func (d markedDriver) byName(req engine.Request) *object {
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	for _, o := range d.c.objects {
		if o.Type == d.typ && o.Props["name"] == req.Properties["name"] {
			return o
		}
	}
	return nil
}

func (d markedDriver) Create(ctx context.Context, req engine.Request) (engine.Result, error) {
	if o := d.byName(req); o != nil {
		if err := engine.Claim(req, "object "+o.ID, o.Tags); err != nil {
			return engine.Result{}, err
		}
		res, err := d.fakeDriver.Update(ctx, engine.Record{Name: req.Name, ID: o.ID}, req)
		res.ID = o.ID
		return res, err
	}
	return d.fakeDriver.Create(ctx, req)
}

func (d markedDriver) Find(ctx context.Context, req engine.Request) (engine.Result, bool, error) {
	cl := &call{Op: "find", Type: d.typ, Name: req.Name, Token: req.Token}
	if err := d.c.begin(ctx, cl, req.Region); err != nil {
		return engine.Result{}, false, err
	}
	d.c.end(cl, nil)
	cl.release()
	o := d.byName(req)
	if o == nil {
		return engine.Result{}, false, nil
	}
	if err := engine.Claim(req, "object "+o.ID, o.Tags); err != nil {
		return engine.Result{}, false, err
	}
	return engine.Result{ID: o.ID, Outputs: maps.Clone(o.Outputs)}, true, nil
}

// panicDriver panics in every create, as a driver with a bug would.
type panicDriver struct{ *fakeDriver }

func (panicDriver) Create(context.Context, engine.Request) (engine.Result, error) {
	panic("driver bug")
}

// HoldsData reports the "data" property of the object, as a bucket would
// report its objects.
func (d markedDriver) HoldsData(ctx context.Context, rec engine.Record) (string, error) {
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	o, ok := d.c.objects[rec.ID]
	if !ok {
		return "", fmt.Errorf("fake: %s: %w", rec.ID, engine.ErrNotFound)
	}
	s, _ := o.Props["data"].(string)
	return s, nil
}

// inUseDriver serves objects the cloud will not delete while others use them.
type inUseDriver struct{ *fakeDriver }

func (inUseDriver) InUse() {}
