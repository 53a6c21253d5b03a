package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// ownedEngine is an engine whose tOwned objects carry marks in scope "stack:dev".
func ownedEngine(c *fakeCloud) *engine.Engine {
	e, _, _ := newEngine(c, 2)
	e.Scope = "stack:dev"
	e.Drivers[tOwned] = markedDriver{&fakeDriver{c: c, typ: tOwned, forceNew: []string{"name"}}}
	return e
}

// TestMarksOnObjectsNotInRecords: creates and updates of a Marked driver
// carry the owner and token marks; records and refresh never see them, so
// they cause no diff.
func TestMarksOnObjectsNotInRecords(t *testing.T) {
	c := newCloud()
	e := ownedEngine(c)
	var st engine.State
	g := func(v string) engine.Plan {
		p, err := apply(t, e, graph(prim("a", tOwned, map[string]any{"name": "a", "v": v}), prim("b", tPolicy, nil)), &st)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	g("1")
	rec, _ := st.Get("a")
	obj, _ := c.objectNamed("a")
	if rec.Token == "" || obj.Tags[engine.OwnerTag] != "stack:dev/a" || obj.Tags[engine.TokenTag] != rec.Token {
		t.Errorf("object tags %v, record token %q: want owner stack:dev/a and the record's token", obj.Tags, rec.Token)
	}
	if _, has := rec.Tags[engine.OwnerTag]; has {
		t.Errorf("record tags hold the mark: %v", rec.Tags)
	}
	if b, _ := c.objectNamed("b"); b.Tags[engine.OwnerTag] != "" {
		t.Errorf("an unmarked driver's object got marks: %v", b.Tags)
	}
	g("2")
	if up := findCall(t, c, "update", "a"); up.Tags[engine.TokenTag] != rec.Token || up.Tags[engine.OwnerTag] != "stack:dev/a" {
		t.Errorf("update carried tags %v, want the record's marks", up.Tags)
	}
	drifts, _, err := e.Refresh(context.Background(), &st)
	if err != nil || len(drifts) != 0 {
		t.Errorf("Refresh() = %v, %v; want no drift from the marks", drifts, err)
	}
	if p, _ := engine.Diff(graph(prim("a", tOwned, map[string]any{"name": "a", "v": "2"}), prim("b", tPolicy, nil)), st, e.Drivers); len(p.Changes()) != 0 {
		t.Errorf("plan after refresh = %v, want none", p.Changes())
	}
}

// TestCreateRefusesAnObjectNotOurs: a name taken by an object without our
// mark stops the create before anything changes, leaves no record, and
// says how to import it.
func TestCreateRefusesAnObjectNotOurs(t *testing.T) {
	c := newCloud()
	e := ownedEngine(c)
	c.objects["theirs"] = &object{ID: "theirs", Name: "x", Type: tOwned, Props: map[string]any{"name": "a", "v": "mine"}, Tags: map[string]string{"team": "other"}}
	var st engine.State
	_, err := apply(t, e, graph(prim("a", tOwned, map[string]any{"name": "a", "v": "1"})), &st)
	if !errors.Is(err, engine.ErrNotOwned) || !strings.Contains(err.Error(), "import") {
		t.Fatalf("Apply() error = %v, want ErrNotOwned with import advice", err)
	}
	if len(st.Records) != 0 {
		t.Errorf("records left: %v", recordNames(st))
	}
	if o := c.objects["theirs"]; o.Props["v"] != "mine" || o.Tags["team"] != "other" || o.Tags[engine.OwnerTag] != "" {
		t.Errorf("their object was changed: %+v", o)
	}
}

// TestCreateAdoptsItsOwnObject: an object carrying this primitive's owner
// mark (made by a create whose record was lost with its process) is adopted,
// not duplicated.
func TestCreateAdoptsItsOwnObject(t *testing.T) {
	c := newCloud()
	e := ownedEngine(c)
	c.objects["lost"] = &object{ID: "lost", Type: tOwned, Props: map[string]any{"name": "a"},
		Tags: map[string]string{engine.OwnerTag: "stack:dev/a", engine.TokenTag: "old"}, Outputs: outputsFor("lost", nil)}
	var st engine.State
	if _, err := apply(t, e, graph(prim("a", tOwned, map[string]any{"name": "a"})), &st); err != nil {
		t.Fatal(err)
	}
	rec, _ := st.Get("a")
	if rec.ID != "lost" || c.count() != 1 || c.objects["lost"].Tags[engine.TokenTag] != rec.Token {
		t.Errorf("record %+v, %d objects, tags %v: want the lost object adopted and re-marked", rec, c.count(), c.objects["lost"].Tags)
	}
}

// TestDeleteRefusesAnObjectNotOurs: a recorded object whose marks are not
// the record's is never deleted; the record stays, live, and the error says why.
func TestDeleteRefusesAnObjectNotOurs(t *testing.T) {
	c := newCloud()
	e := ownedEngine(c)
	var st engine.State
	if _, err := apply(t, e, graph(prim("a", tOwned, map[string]any{"name": "a"})), &st); err != nil {
		t.Fatal(err)
	}
	obj, _ := c.objectNamed("a")
	obj.Tags = map[string]string{engine.OwnerTag: "stack:prod/a", engine.TokenTag: "x"}
	err := e.Destroy(context.Background(), &st)
	if !errors.Is(err, engine.ErrNotOwned) {
		t.Fatalf("Destroy() error = %v, want ErrNotOwned", err)
	}
	if n := len(c.callsOf("delete")); n != 0 {
		t.Errorf("%d delete calls", n)
	}
	if rec, ok := st.Get("a"); !ok || rec.Pending != "" {
		t.Errorf("record = %+v, %v; want it kept, live", rec, ok)
	}
}

// TestRefusedDeleteLeavesTheRecordLive: a delete the cloud refuses (a bucket
// that is not empty) leaves the record as it was, so the next plan is an
// ordinary one: nothing to do while it is wanted, a delete when it is not;
// never a replace.
func TestRefusedDeleteLeavesTheRecordLive(t *testing.T) {
	c := newCloud()
	e := ownedEngine(c)
	var st engine.State
	g := graph(prim("a", tOwned, map[string]any{"name": "a"}))
	if _, err := apply(t, e, g, &st); err != nil {
		t.Fatal(err)
	}
	c.failAlways("delete", "a", errors.New("BucketNotEmpty: The bucket you tried to delete is not empty"))
	err := e.Destroy(context.Background(), &st)
	if err == nil || !strings.Contains(err.Error(), "BucketNotEmpty") || !strings.Contains(err.Error(), "stays recorded") {
		t.Fatalf("Destroy() error = %v", err)
	}
	rec, ok := st.Get("a")
	if !ok || rec.Pending != "" {
		t.Fatalf("record = %+v, want it live", rec)
	}
	if p, _ := engine.Diff(g, st, e.Drivers); len(p.Changes()) != 0 {
		t.Errorf("plan while still wanted = %v, want nothing", p.Changes())
	}
	p, _ := engine.Diff(graph(), st, e.Drivers)
	if got := p.Count(); got[engine.OpDelete] != 1 || len(p.Changes()) != 1 {
		t.Errorf("plan without it = %v, want one delete", got)
	}
	delete(c.always, "delete a")
	if err := e.Destroy(context.Background(), &st); err != nil || len(st.Records) != 0 || c.count() != 0 {
		t.Errorf("Destroy() once allowed = %v, %d records, %d objects", err, len(st.Records), c.count())
	}
}

// TestPendingCreateIsFoundNotCreated: destroying a record whose create was
// cut short looks for its object instead of creating it: nothing found
// means nothing to delete.
func TestPendingCreateIsFoundNotCreated(t *testing.T) {
	for _, exists := range []bool{false, true} {
		c := newCloud()
		e := ownedEngine(c)
		if exists {
			c.objects["made"] = &object{ID: "made", Type: tOwned, Props: map[string]any{"name": "a"},
				Tags: map[string]string{engine.OwnerTag: "stack:dev/a", engine.TokenTag: "t1"}}
		}
		st := engine.State{Records: []engine.Record{{Name: "a", Type: tOwned, Region: "us-east-1", Pending: engine.OpCreate, Token: "t1", Inputs: map[string]any{"name": "a"}}}}
		if err := e.Destroy(context.Background(), &st); err != nil {
			t.Fatalf("exists=%v: Destroy() = %v", exists, err)
		}
		if n := len(c.callsOf("create")); n != 0 {
			t.Errorf("exists=%v: %d create calls during destroy", exists, n)
		}
		if len(st.Records) != 0 || c.count() != 0 {
			t.Errorf("exists=%v: %d records, %d objects left", exists, len(st.Records), c.count())
		}
	}
}

// TestPanicFailsOnlyItsStep: a driver that panics fails its step with the
// panic and its stack; independent steps still finish and are recorded.
func TestPanicFailsOnlyItsStep(t *testing.T) {
	c := newCloud()
	e := ownedEngine(c)
	e.Drivers["buggy"] = panicDriver{&fakeDriver{c: c, typ: "buggy"}}
	var st engine.State
	_, err := apply(t, e, graph(prim("bad", "buggy", nil), prim("good", tPolicy, nil)), &st)
	if err == nil || !strings.Contains(err.Error(), "panic: driver bug") || !strings.Contains(err.Error(), "goroutine") {
		t.Fatalf("Apply() error = %v, want the panic and its stack", err)
	}
	if rec, ok := st.Get("good"); !ok || rec.ID == "" {
		t.Errorf("the independent step was not recorded: %v", recordNames(st))
	}
}

// TestInterruptedDeleteAdoptsWhatSurvived: the object of a wanted record
// whose delete was cut short before the call went out is adopted with the
// record's token, not deleted and made again.
func TestInterruptedDeleteAdoptsWhatSurvived(t *testing.T) {
	c := newCloud()
	e := ownedEngine(c)
	c.objects["kept"] = &object{ID: "kept", Type: tOwned, Props: map[string]any{"name": "a"},
		Tags: map[string]string{engine.OwnerTag: "stack:dev/a", engine.TokenTag: "t1"}, Outputs: outputsFor("kept", nil)}
	st := engine.State{Records: []engine.Record{{Name: "a", Type: tOwned, Region: "us-east-1", ID: "kept", Pending: engine.OpDelete, Token: "t1", Inputs: map[string]any{"name": "a"}}}}
	if _, err := apply(t, e, graph(prim("a", tOwned, map[string]any{"name": "a"})), &st); err != nil {
		t.Fatal(err)
	}
	rec, _ := st.Get("a")
	if rec.ID != "kept" || rec.Token != "t1" || rec.Pending != "" || c.count() != 1 || len(c.callsOf("delete")) != 0 {
		t.Errorf("record %+v, %d objects, %d deletes: want the survivor adopted", rec, c.count(), len(c.callsOf("delete")))
	}
}

// TestPreflight: before anything is applied, a create whose name an object
// not ours holds is reported, and so is every delete or replace of an
// object that holds data; objects without data and our own names are not.
func TestPreflight(t *testing.T) {
	c := newCloud()
	e := ownedEngine(c)
	var st engine.State
	g := graph(
		prim("full", tOwned, map[string]any{"name": "full", "data": "3 objects"}),
		prim("empty", tOwned, map[string]any{"name": "empty"}),
		prim("kept", tOwned, map[string]any{"name": "kept", "data": "items"}),
	)
	if _, err := apply(t, e, g, &st); err != nil {
		t.Fatal(err)
	}
	c.objects["theirs"] = &object{ID: "theirs", Type: tOwned, Props: map[string]any{"name": "taken"}}
	next := graph(
		prim("full", tOwned, map[string]any{"name": "full2", "data": "3 objects"}), // replaced
		prim("kept", tOwned, map[string]any{"name": "kept", "data": "items"}),      // unchanged
		prim("new", tOwned, map[string]any{"name": "taken"}),                       // name taken
		prim("mine", tOwned, map[string]any{"name": "fresh"}),                      // free
	) // "empty" is deleted
	p, err := engine.Diff(next, st, e.Drivers)
	if err != nil {
		t.Fatal(err)
	}
	calls := len(c.calls)
	pf, err := e.Preflight(context.Background(), p, st)
	if err != nil {
		t.Fatal(err)
	}
	if len(pf.Taken) != 1 || !errors.Is(pf.Taken[0], engine.ErrNotOwned) || !strings.HasPrefix(pf.Taken[0].Error(), "new: ") {
		t.Errorf("taken = %v, want new's name", pf.Taken)
	}
	if len(pf.Data) != 1 || pf.Data[0].Step.Name != "full" || pf.Data[0].Holds != "3 objects" {
		t.Errorf("data = %v, want full's 3 objects", pf.Data)
	}
	for _, cl := range c.calls[calls:] {
		if cl.Op != "find" {
			t.Errorf("preflight made a %s call", cl.Op)
		}
	}
}

// ctxDriver fails a call whose context was cancelled while it was made, as
// an SDK call does when its request is aborted.
type ctxDriver struct{ *fakeDriver }

func (d ctxDriver) Create(ctx context.Context, req engine.Request) (engine.Result, error) {
	res, err := d.fakeDriver.Create(ctx, req)
	if ctx.Err() != nil {
		return engine.Result{}, ctx.Err()
	}
	return res, err
}

// TestCancelLetsStepsInFlightFinish: a cancel (Ctrl-C) during a create lets
// that create finish and be recorded as done, and starts nothing more.
func TestCancelLetsStepsInFlightFinish(t *testing.T) {
	c := newCloud()
	c.delay = 20 * time.Millisecond
	e, _, _ := newEngine(c, 2)
	e.Drivers["slow"] = ctxDriver{&fakeDriver{c: c, typ: "slow"}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.onCall = func(cl call) {
		if cl.Op == "create" && cl.Name == "a" {
			cancel()
		}
	}
	var st engine.State
	p, err := engine.Diff(graph(prim("a", "slow", nil), prim("b", "slow", nil, "a")), st, e.Drivers)
	if err != nil {
		t.Fatal(err)
	}
	err = e.Apply(ctx, p, &st)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply() = %v, want the cancel", err)
	}
	if a, ok := st.Get("a"); !ok || a.Pending != "" || a.ID == "" {
		t.Errorf("a = %+v, want its create finished and recorded", a)
	}
	if _, ok := st.Get("b"); ok || len(c.callsOf("create")) != 1 {
		t.Errorf("b was started after the cancel: %q", c.callNames())
	}
}

// TestOwnedViewsShareTheEngine: the provider holds one engine and gives each
// resource a view owned by it. The views mark what they create with their own
// scope, yet together keep the engine's Parallelism, as one run must.
func TestOwnedViewsShareTheEngine(t *testing.T) {
	c := newCloud()
	c.delay = 2 * time.Millisecond
	e := &engine.Engine{Drivers: ownedEngine(c).Drivers, Parallelism: 2, Retry: quick}
	var wg sync.WaitGroup
	for _, owner := range []string{"r/one", "r/two", "r/three"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			view := e.Owned(owner, nil)
			var ps []primitive.Primitive
			for i := range 10 {
				name := fmt.Sprintf("%s-%d", owner, i)
				ps = append(ps, prim(name, tOwned, map[string]any{"name": name}))
			}
			var st engine.State
			if _, err := apply(t, view, graph(ps...), &st); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if m := c.max(); m > 2 {
		t.Errorf("%d calls in flight across the views, the engine's bound is 2", m)
	}
	for _, owner := range []string{"r/one", "r/two", "r/three"} {
		name := owner + "-0"
		if obj, ok := c.objectNamed(name); !ok || obj.Tags[engine.OwnerTag] != owner+"/"+name {
			t.Errorf("%s: owner mark %q, want %q", name, obj.Tags[engine.OwnerTag], owner+"/"+name)
		}
	}
}
