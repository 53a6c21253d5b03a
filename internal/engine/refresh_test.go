package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// batchDriver is a fakeDriver that also reads in batches: one "readall"
// call per ReadAll, named "type/region", whose per-object work runs through
// engine.ForEach.
type batchDriver struct {
	*fakeDriver
	inFlight, maxInFlight atomic.Int32
	perObject             atomic.Int32 // per-object calls made
}

func (d *batchDriver) ReadAll(ctx context.Context, recs []engine.Record) (map[string]engine.Observation, error) {
	cl := &call{Op: "readall", Type: d.typ, Name: d.typ + "/" + recs[0].Region}
	err := d.c.begin(ctx, cl, recs[0].Region)
	d.c.mu.Lock()
	d.c.end(cl, err)
	d.c.mu.Unlock()
	cl.release()
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	out := map[string]engine.Observation{}
	err = engine.ForEach(ctx, len(recs), func(ctx context.Context, i int) error {
		// Each per-object call is a request of its own.
		if d.c.limiters != nil {
			release, err := d.c.limiters.Wait(ctx, primitive.LimitKey(d.typ, recs[i].Region))
			if err != nil {
				return err
			}
			defer release()
		}
		d.perObject.Add(1)
		n := d.inFlight.Add(1)
		defer d.inFlight.Add(-1)
		for m := d.maxInFlight.Load(); n > m && !d.maxInFlight.CompareAndSwap(m, n); m = d.maxInFlight.Load() {
		}
		time.Sleep(time.Millisecond)
		rec := recs[i]
		if rec.Region != recs[0].Region || rec.Type != d.typ {
			return fmt.Errorf("batch of %s/%s holds %s (%s/%s)", d.typ, recs[0].Region, rec.Name, rec.Type, rec.Region)
		}
		d.c.mu.Lock()
		defer d.c.mu.Unlock()
		o, ok := d.c.objects[rec.ID]
		if !ok {
			return nil
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
		mu.Lock()
		out[rec.Name] = obs
		mu.Unlock()
		return nil
	})
	return out, err
}

type refreshOutcome struct {
	drifts   []engine.Drift
	warnings []string
	state    string
	journals int
	cloud    *fakeCloud
	err      error
}

// refreshScenario applies a graph over two regions, changes objects behind
// the engine's back and refreshes, with batching drivers or plain ones;
// prepare may inject failures before the refresh.
func refreshScenario(t *testing.T, batched bool, prepare func(c *fakeCloud)) refreshOutcome {
	t.Helper()
	c := newCloud()
	// Apply one step at a time, so that the fake's IDs are the same in every run.
	e, j, _ := newEngine(c, 1)
	e.Drivers[tPolicy].(*fakeDriver).hidden = []string{"secret"}
	e.Drivers[tLink].(*fakeDriver).warn = "endpoint ignores"
	if batched {
		for typ, d := range e.Drivers {
			e.Drivers[typ] = &batchDriver{fakeDriver: d.(*fakeDriver)}
		}
	}
	var st engine.State
	var ps []primitive.Primitive
	for _, region := range []string{"us-east-1", "eu-west-1"} {
		p := func(name, typ string, props map[string]any, tags map[string]string) primitive.Primitive {
			return primitive.Primitive{Name: name + "." + region, Type: typ, Region: region, Properties: props, Tags: tags}
		}
		ps = append(ps,
			p("gone", tBucket, map[string]any{"name": "gone-" + region}, nil),
			p("props", tBucket, map[string]any{"name": "props-" + region, "size": 1}, nil),
			p("tags", tBucket, map[string]any{"name": "tags-" + region}, map[string]string{"k": "v"}),
			p("both", tBucket, map[string]any{"name": "both-" + region, "size": 1}, map[string]string{"k": "v"}),
			p("same", tPolicy, map[string]any{"doc": "d", "secret": "s"}, map[string]string{"k": "v"}),
			p("warned", tLink, map[string]any{"source": "x"}, nil),
		)
	}
	if _, err := apply(t, e, graph(ps...), &st); err != nil {
		t.Fatal(err)
	}
	st.Put(engine.Record{Name: "pending", Type: tBucket, Region: "us-east-1", Pending: engine.OpCreate, Token: "tok"})
	e.Parallelism = 3
	c.mu.Lock()
	for id, o := range c.objects {
		switch strings.Split(o.Name, ".")[0] {
		case "gone":
			delete(c.objects, id)
		case "props":
			o.Props["size"] = float64(5)
		case "tags":
			o.Tags = map[string]string{"k": "changed", "extra": "x"}
		case "both":
			o.Props["size"], o.Props["added"] = float64(2), "y"
			o.Tags = nil
		}
	}
	c.calls = nil
	c.mu.Unlock()
	if prepare != nil {
		prepare(c)
	}
	journaled := len(j.all())
	drifts, warnings, err := e.Refresh(context.Background(), &st)
	for i := range st.Records {
		st.Records[i].Token = "" // random for each scenario's apply
	}
	b, _ := json.MarshalIndent(st, "", " ")
	return refreshOutcome{drifts: drifts, warnings: warnings, state: string(b), journals: len(j.all()) - journaled, cloud: c, err: err}
}

// TestBatchedRefreshMatchesPerRecordRefresh: a driver that reads in batches
// gives refresh exactly the outcome of one Read per record (drifts,
// warnings, state, one journal write), with one call per type and region.
func TestBatchedRefreshMatchesPerRecordRefresh(t *testing.T) {
	one := refreshScenario(t, false, nil)
	all := refreshScenario(t, true, nil)
	if one.err != nil || all.err != nil {
		t.Fatalf("Refresh() errors: per record %v, batched %v", one.err, all.err)
	}
	if len(one.drifts) != 8 {
		t.Fatalf("per-record refresh found %d drifts, want 8: %v", len(one.drifts), one.drifts)
	}
	if !reflect.DeepEqual(one.drifts, all.drifts) {
		t.Errorf("drifts differ:\n per record %v\n batched    %v", one.drifts, all.drifts)
	}
	if !reflect.DeepEqual(one.warnings, all.warnings) {
		t.Errorf("warnings differ:\n per record %q\n batched    %q", one.warnings, all.warnings)
	}
	if one.state != all.state {
		t.Errorf("states differ:\n per record %s\n batched    %s", one.state, all.state)
	}
	if one.journals != 1 || all.journals != 1 {
		t.Errorf("journal writes: per record %d, batched %d, want 1", one.journals, all.journals)
	}
	if n := len(one.cloud.callsOf("read")); n != 12 {
		t.Errorf("per-record refresh made %d reads, want 12", n)
	}
	if reads := all.cloud.callsOf("read"); len(reads) != 0 {
		t.Errorf("batched refresh made %d single reads", len(reads))
	}
	var batches []string
	for _, cl := range all.cloud.callsOf("readall") {
		batches = append(batches, cl.Name)
	}
	// One batch per type and region, in type then region order.
	want := []string{"bucket/eu-west-1", "bucket/us-east-1", "link/eu-west-1", "link/us-east-1", "policy/eu-west-1", "policy/us-east-1"}
	if !reflect.DeepEqual(batches, want) {
		t.Errorf("batches = %q, want %q", batches, want)
	}
}

// TestBatchedRefreshFallsBack: a batch that keeps failing is read one record
// at a time with the same outcome, and says so in a warning; a batch that
// fails transiently is retried as a batch.
func TestBatchedRefreshFallsBack(t *testing.T) {
	one := refreshScenario(t, false, nil)
	all := refreshScenario(t, true, func(c *fakeCloud) {
		c.failAlways("readall", "bucket/us-east-1", errors.New("AccessDenied: route53:ListHealthChecks"))
		c.fail("readall", "policy/eu-west-1", engine.Retryable(errors.New("throttled")))
	})
	if all.err != nil {
		t.Fatal(all.err)
	}
	if !reflect.DeepEqual(one.drifts, all.drifts) || one.state != all.state {
		t.Errorf("fallback changed the outcome:\n %v\n %v", one.drifts, all.drifts)
	}
	var reads []string
	for _, cl := range all.cloud.callsOf("read") {
		reads = append(reads, cl.Name)
	}
	if len(reads) != 4 || !strings.HasSuffix(reads[0], ".us-east-1") || !strings.HasSuffix(reads[3], ".us-east-1") {
		t.Errorf("single reads after the failed batch = %q, want the 4 buckets of us-east-1", reads)
	}
	retried := 0
	for _, cl := range all.cloud.callsOf("readall") {
		if cl.Name == "policy/eu-west-1" {
			retried++
		}
	}
	if retried != 2 {
		t.Errorf("throttled batch called %d times, want 2", retried)
	}
	var extra []string
	for _, w := range all.warnings {
		if !slicesContains(one.warnings, w) {
			extra = append(extra, w)
		}
	}
	if len(extra) != 1 || !strings.Contains(extra[0], "batched read of bucket in us-east-1 (4 records) failed") || !strings.Contains(extra[0], "AccessDenied") {
		t.Errorf("warnings beyond the drivers' = %q", extra)
	}

	// A record whose single read fails too is an error, the others are refreshed.
	failing := refreshScenario(t, true, func(c *fakeCloud) {
		c.failAlways("readall", "bucket/us-east-1", errors.New("AccessDenied"))
		c.failAlways("read", "props.us-east-1", errors.New("AccessDenied on props"))
	})
	if failing.err == nil || !strings.Contains(failing.err.Error(), "read props.us-east-1: AccessDenied on props") {
		t.Errorf("Refresh() error = %v", failing.err)
	}
	if len(failing.drifts) != 7 || failing.journals != 1 {
		t.Errorf("%d drifts and %d journal writes, want 7 and 1", len(failing.drifts), failing.journals)
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestBatchFanOutIsBounded: the per-object calls of a batch overlap, up to
// the engine's parallelism and no further.
func TestBatchFanOutIsBounded(t *testing.T) {
	c := newCloud()
	e, _, _ := newEngine(c, 4)
	bd := &batchDriver{fakeDriver: e.Drivers[tPolicy].(*fakeDriver)}
	e.Drivers[tPolicy] = bd
	var ps []primitive.Primitive
	for i := range 40 {
		ps = append(ps, prim(fmt.Sprintf("p%02d", i), tPolicy, map[string]any{"i": i}))
	}
	var st engine.State
	if _, err := apply(t, e, graph(ps...), &st); err != nil {
		t.Fatal(err)
	}
	if drifts, _, err := e.Refresh(context.Background(), &st); err != nil || len(drifts) != 0 {
		t.Fatal(drifts, err)
	}
	if m := bd.maxInFlight.Load(); m > 4 || m < 2 {
		t.Errorf("%d per-object calls of a batch in flight at once, want 2..4", m)
	}

	// Outside a batch ForEach runs one call at a time and reports every error.
	var inFlight, most atomic.Int32
	err := engine.ForEach(context.Background(), 5, func(_ context.Context, i int) error {
		if n := inFlight.Add(1); n > most.Load() {
			most.Store(n)
		}
		defer inFlight.Add(-1)
		time.Sleep(time.Millisecond)
		if i%2 == 1 {
			return fmt.Errorf("item %d", i)
		}
		return nil
	})
	if most.Load() != 1 || err == nil || err.Error() != "item 1\nitem 3" {
		t.Errorf("ForEach: %d at once, err %v", most.Load(), err)
	}
}

// TestBatchFanOutIsPaced: a batch's per-object calls keep the rate limit of
// their service, as one-by-one reads do: with one call a second and the
// batch's own call first, each second of the clock lets one more through.
func TestBatchFanOutIsPaced(t *testing.T) {
	c := newCloud()
	e, _, _ := newEngine(c, 4)
	bd := &batchDriver{fakeDriver: e.Drivers[tPolicy].(*fakeDriver)}
	e.Drivers[tPolicy] = bd
	const n = 4
	var ps []primitive.Primitive
	for i := range n {
		ps = append(ps, prim(fmt.Sprintf("p%02d", i), tPolicy, map[string]any{"i": i}))
	}
	var st engine.State
	if _, err := apply(t, e, graph(ps...), &st); err != nil {
		t.Fatal(err)
	}
	clk := newManualClock()
	r := &engine.Engine{Drivers: e.Drivers, Parallelism: 4, Retry: quick,
		Limits: map[string]engine.Limit{primitive.LimitKey(tPolicy, ps[0].Region): {PerSecond: 1, Burst: 1}}}
	r.SetClock(clk)
	c.limiters = r.Limiters()
	done := make(chan error, 1)
	go func() { _, _, err := r.Refresh(context.Background(), &st); done <- err }()
	for k := 0; k < n; k++ {
		// The batch call took the first second's token; every per-object
		// call not made yet waits for the clock.
		eventually(t, fmt.Sprintf("%d per-object calls made and the rest waiting", k), func() bool {
			return bd.perObject.Load() == int32(k) && clk.sleeping() == n-k
		})
		clk.advance(time.Second)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := bd.perObject.Load(); got != n {
		t.Errorf("%d per-object calls, want %d", got, n)
	}
}
