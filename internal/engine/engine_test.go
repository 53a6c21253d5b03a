package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// rec builds a recorded primitive; inputs are normalised as Apply records them.
func rec(name, typ string, inputs map[string]any, outputs map[string]string) engine.Record {
	return engine.Record{Name: name, Type: typ, Region: "us-east-1", ID: "id-" + name,
		Inputs: primitive.Normalize(inputs), Outputs: outputs}
}

// sameJSON compares states as they are saved: an empty map or slice and a
// nil one are the same record.
func sameJSON(a, b engine.State) bool {
	x, err := json.Marshal(a)
	if err != nil {
		panic(err)
	}
	y, err := json.Marshal(b)
	if err != nil {
		panic(err)
	}
	return string(x) == string(y)
}

func stepString(s engine.Step) string {
	return fmt.Sprintf("%s %s %v %v", s.Op, s.Name, s.Changes, s.ReplaceBecause)
}

func TestDiff(t *testing.T) {
	bucketOut := map[string]string{"id": "id-a", "arn": "arn:a"}
	tests := []struct {
		desc    string
		desired []primitive.Primitive
		records []engine.Record
		want    []string
	}{
		{
			desc:    "nothing to nothing",
			desired: nil,
			want:    nil,
		},
		{
			desc:    "create what is not recorded",
			desired: []primitive.Primitive{prim("a", tBucket, map[string]any{"name": "x"})},
			want:    []string{"create a [] []"},
		},
		{
			desc:    "same",
			desired: []primitive.Primitive{{Name: "a", Type: tBucket, Region: "us-east-1", Properties: map[string]any{"name": "x", "size": 1, "l": []string{"p"}}, Tags: map[string]string{"k": "v"}}},
			records: []engine.Record{func() engine.Record {
				r := rec("a", tBucket, map[string]any{"name": "x", "size": 1, "l": []string{"p"}}, nil)
				r.Tags = map[string]string{"k": "v"}
				return r
			}()},
			want: []string{"same a [] []"},
		},
		{
			desc:    "nil and empty tags are the same",
			desired: []primitive.Primitive{{Name: "a", Type: tBucket, Region: "us-east-1", Properties: map[string]any{"name": "x"}, Tags: map[string]string{}}},
			records: []engine.Record{rec("a", tBucket, map[string]any{"name": "x"}, nil)},
			want:    []string{"same a [] []"},
		},
		{
			desc:    "update a property that changes in place",
			desired: []primitive.Primitive{prim("a", tBucket, map[string]any{"name": "x", "size": 2})},
			records: []engine.Record{rec("a", tBucket, map[string]any{"name": "x", "size": 1}, nil)},
			want:    []string{"update a [size] []"},
		},
		{
			desc:    "a property no longer desired is a change",
			desired: []primitive.Primitive{prim("a", tBucket, map[string]any{"name": "x"})},
			records: []engine.Record{rec("a", tBucket, map[string]any{"name": "x", "old": true}, nil)},
			want:    []string{"update a [old] []"},
		},
		{
			desc:    "a new property is a change",
			desired: []primitive.Primitive{prim("a", tBucket, map[string]any{"name": "x", "versioning": true})},
			records: []engine.Record{rec("a", tBucket, map[string]any{"name": "x"}, nil)},
			want:    []string{"update a [versioning] []"},
		},
		{
			desc:    "replace through ForceNew",
			desired: []primitive.Primitive{prim("a", tBucket, map[string]any{"name": "y", "size": 2})},
			records: []engine.Record{rec("a", tBucket, map[string]any{"name": "x", "size": 1}, nil)},
			want:    []string{"replace a [name size] [name]"},
		},
		{
			desc:    "a ForceNew property of another type does not replace",
			desired: []primitive.Primitive{prim("a", tPolicy, map[string]any{"name": "y"})},
			records: []engine.Record{rec("a", tPolicy, map[string]any{"name": "x"}, nil)},
			want:    []string{"update a [name] []"},
		},
		{
			desc:    "replace on a new region",
			desired: []primitive.Primitive{{Name: "a", Type: tPolicy, Region: "eu-west-1", Properties: map[string]any{"name": "x"}}},
			records: []engine.Record{rec("a", tPolicy, map[string]any{"name": "x"}, nil)},
			want:    []string{"replace a [region] [region]"},
		},
		{
			desc:    "replace on a new type",
			desired: []primitive.Primitive{prim("a", tPolicy, map[string]any{"name": "x"})},
			records: []engine.Record{rec("a", tBucket, map[string]any{"name": "x"}, nil)},
			want:    []string{"replace a [type] [type]"},
		},
		{
			desc:    "tags only is an update",
			desired: []primitive.Primitive{{Name: "a", Type: tBucket, Region: "us-east-1", Properties: map[string]any{"name": "x"}, Tags: map[string]string{"k": "new"}}},
			records: []engine.Record{func() engine.Record {
				r := rec("a", tBucket, map[string]any{"name": "x"}, nil)
				r.Tags = map[string]string{"k": "old"}
				return r
			}()},
			want: []string{"update a [tags] []"},
		},
		{
			desc:    "tags removed is an update",
			desired: []primitive.Primitive{prim("a", tBucket, map[string]any{"name": "x"})},
			records: []engine.Record{func() engine.Record {
				r := rec("a", tBucket, map[string]any{"name": "x"}, nil)
				r.Tags = map[string]string{"k": "v"}
				return r
			}()},
			want: []string{"update a [tags] []"},
		},
		{
			desc:    "delete what is no longer desired, after the rest",
			desired: []primitive.Primitive{prim("z", tPolicy, map[string]any{})},
			records: []engine.Record{rec("b", tBucket, nil, nil), rec("a", tPolicy, nil, nil), rec("z", tPolicy, nil, nil)},
			want:    []string{"same z [] []", "delete a [] []", "delete b [] []"},
		},
		{
			desc:    "a pending create is created again",
			desired: []primitive.Primitive{prim("a", tBucket, map[string]any{"name": "x"})},
			records: []engine.Record{{Name: "a", Type: tBucket, Region: "us-east-1", Pending: engine.OpCreate, Token: "t"}},
			want:    []string{"create a [] []"},
		},
		{
			desc: "a resolved reference that did not change is the same",
			desired: []primitive.Primitive{
				prim("a", tBucket, map[string]any{"name": "x"}),
				prim("b", tPolicy, map[string]any{"target": "${a.arn}/*"}),
			},
			records: []engine.Record{
				rec("a", tBucket, map[string]any{"name": "x"}, bucketOut),
				rec("b", tPolicy, map[string]any{"target": "arn:a/*"}, nil),
			},
			want: []string{"same a [] []", "same b [] []"},
		},
		{
			desc: "a resolved reference that changed is an update",
			desired: []primitive.Primitive{
				prim("a", tBucket, map[string]any{"name": "x"}),
				prim("b", tPolicy, map[string]any{"target": "${a.arn}/*"}),
			},
			records: []engine.Record{
				rec("a", tBucket, map[string]any{"name": "x"}, map[string]string{"arn": "arn:a2"}),
				rec("b", tPolicy, map[string]any{"target": "arn:a/*"}, nil),
			},
			want: []string{"same a [] []", "update b [target] []"},
		},
		{
			desc: "a reference to a replaced primitive is unknown, so a change",
			desired: []primitive.Primitive{
				prim("a", tBucket, map[string]any{"name": "x2"}),
				prim("b", tPolicy, map[string]any{"target": "${a.arn}/*", "other": "o"}),
			},
			records: []engine.Record{
				// b's inputs equal what the old outputs of a resolve to: only
				// the replacement makes them unknown.
				rec("a", tBucket, map[string]any{"name": "x"}, bucketOut),
				rec("b", tPolicy, map[string]any{"target": "arn:a/*", "other": "o"}, nil),
			},
			want: []string{"replace a [name] [name]", "update b [target] []"},
		},
		{
			desc: "an unknown reference in a ForceNew property replaces the dependent too",
			desired: []primitive.Primitive{
				prim("a", tBucket, map[string]any{"name": "x2"}),
				prim("l", tLink, map[string]any{"source": map[string]any{"arns": []any{"${a.arn}"}}, "mode": "m"}),
				prim("p", tPolicy, map[string]any{"of": "${l.arn}"}),
			},
			records: []engine.Record{
				rec("a", tBucket, map[string]any{"name": "x"}, bucketOut),
				rec("l", tLink, map[string]any{"source": map[string]any{"arns": []any{"arn:a"}}, "mode": "m"}, map[string]string{"arn": "arn:l"}),
				rec("p", tPolicy, map[string]any{"of": "arn:l"}, nil),
			},
			// and so on down the graph: p refers to the replaced l.
			want: []string{"replace a [name] [name]", "replace l [source] [source]", "update p [of] []"},
		},
		{
			desc: "a reference to a created primitive is unknown",
			desired: []primitive.Primitive{
				prim("a", tBucket, map[string]any{"name": "x"}),
				prim("b", tPolicy, map[string]any{"target": "${a.arn}"}),
			},
			records: []engine.Record{rec("b", tPolicy, map[string]any{"target": "arn:a"}, nil)},
			want:    []string{"create a [] []", "update b [target] []"},
		},
		{
			desc: "a reference to an updated primitive stays known",
			desired: []primitive.Primitive{
				prim("a", tBucket, map[string]any{"name": "x", "size": 2}),
				prim("b", tPolicy, map[string]any{"target": "${a.arn}"}),
			},
			records: []engine.Record{
				rec("a", tBucket, map[string]any{"name": "x", "size": 1}, bucketOut),
				rec("b", tPolicy, map[string]any{"target": "arn:a"}, nil),
			},
			want: []string{"update a [size] []", "same b [] []"},
		},
		{
			desc: "dependencies come before dependents whatever the names",
			desired: []primitive.Primitive{
				prim("a", tPolicy, map[string]any{}, "m"),
				prim("m", tPolicy, map[string]any{}, "z"),
				prim("z", tPolicy, map[string]any{}),
			},
			want: []string{"create z [] []", "create m [] []", "create a [] []"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			var st engine.State
			for _, r := range tt.records {
				st.Put(r)
			}
			before := st.Clone()
			p, err := engine.Diff(graph(tt.desired...), st, drivers(newCloud()))
			if err != nil {
				t.Fatalf("Diff() error = %v", err)
			}
			var got []string
			for _, s := range p.Steps {
				got = append(got, stepString(s))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Diff() =\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
			if !sameJSON(st, before) {
				t.Errorf("Diff modified the state")
			}
		})
	}
}

func TestDiffErrors(t *testing.T) {
	tests := []struct {
		desc    string
		desired []primitive.Primitive
		want    string
	}{
		{"no driver", []primitive.Primitive{prim("a", "aws_unknown", nil)}, `no driver for type "aws_unknown"`},
		{"cycle", []primitive.Primitive{prim("a", tPolicy, nil, "b"), prim("b", tPolicy, nil, "a")}, "dependency cycle"},
		{"dangling", []primitive.Primitive{prim("a", tPolicy, map[string]any{"x": "${ghost.id}"})}, `depends on "ghost"`},
		{"duplicate", []primitive.Primitive{prim("a", tPolicy, nil), prim("a", tPolicy, nil)}, "declared twice"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := engine.Diff(graph(tt.desired...), engine.State{}, drivers(newCloud()))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Diff() error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestPlanChangesAndCount(t *testing.T) {
	p := engine.Plan{Steps: []engine.Step{
		{Op: engine.OpSame, Name: "a"}, {Op: engine.OpCreate, Name: "b"}, {Op: engine.OpCreate, Name: "c"},
		{Op: engine.OpUpdate, Name: "d"}, {Op: engine.OpSame, Name: "e"}, {Op: engine.OpDelete, Name: "f"},
	}}
	var names []string
	for _, s := range p.Changes() {
		names = append(names, s.Name)
	}
	if !reflect.DeepEqual(names, []string{"b", "c", "d", "f"}) {
		t.Errorf("Changes() = %q", names)
	}
	want := map[engine.Op]int{engine.OpSame: 2, engine.OpCreate: 2, engine.OpUpdate: 1, engine.OpDelete: 1}
	if got := p.Count(); !reflect.DeepEqual(got, want) {
		t.Errorf("Count() = %v, want %v", got, want)
	}
}

// regionPairGraph is a real compiled graph, so ordering is tested on the
// dependencies the compiler actually produces.
func regionPairGraph(t *testing.T) primitive.Graph {
	t.Helper()
	g, err := compile.RegionPair(blueprint.RegionPair{
		Name: "payments", PrimaryRegion: "us-east-1", SecondaryRegion: "us-west-2",
		Mode: blueprint.ActiveActiveSharded, GloballyConsistentStore: true, WriteProfile: blueprint.WriteHeavy,
		ObjectStore: &blueprint.ObjectStore{BucketPrefix: "acme-payments"},
		KVTable:     &blueprint.KVTable{HashKey: "pk"},
		DNS: &blueprint.DNS{ZoneName: "example.com", RecordName: "api",
			PrimaryEndpoint: "a.example.com", SecondaryEndpoint: "b.example.com"},
	}, map[string]string{"env": "test"})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// compiledDrivers serves every type of the compiled graph from one fake cloud.
func compiledDrivers(c *fakeCloud, g primitive.Graph) engine.Drivers {
	ds := engine.Drivers{}
	for _, p := range g.Primitives {
		ds[p.Type] = &fakeDriver{c: c, typ: p.Type}
	}
	return ds
}

func TestApplyCreatesDependenciesFirst(t *testing.T) {
	g := regionPairGraph(t)
	c := newCloud()
	c.delay = time.Millisecond
	j := &journal{}
	e := &engine.Engine{Drivers: compiledDrivers(c, g), Parallelism: 4, Retry: quick, Journal: j.write}
	var st engine.State
	p, err := apply(t, e, g, &st)
	if err != nil {
		t.Fatalf("Apply() error = %v", err)
	}
	if n := p.Count()[engine.OpCreate]; n != len(g.Primitives) {
		t.Fatalf("plan creates %d, want %d", n, len(g.Primitives))
	}
	for _, prim := range g.Primitives {
		created := findCall(t, c, "create", prim.Name)
		deps := prim.Dependencies()
		for _, d := range deps {
			dep := findCall(t, c, "create", d)
			if dep.End >= created.Start {
				t.Errorf("%s was created (start %d) before its dependency %s was (end %d)", prim.Name, created.Start, d, dep.End)
			}
		}
		r, ok := st.Get(prim.Name)
		if !ok {
			t.Errorf("%s is not recorded", prim.Name)
			continue
		}
		if r.ID != created.ID || r.Pending != "" || r.Outputs["id"] != created.ID {
			t.Errorf("%s recorded as %+v, want id %s, not pending, id in outputs", prim.Name, r, created.ID)
		}
		if !reflect.DeepEqual(r.DependsOn, deps) || len(r.DependsOn) != len(deps) {
			t.Errorf("%s recorded depends_on %q, want %q", prim.Name, r.DependsOn, deps)
		}
		if !reflect.DeepEqual(r.Tags, prim.Tags) || !reflect.DeepEqual(created.Tags, prim.Tags) {
			t.Errorf("%s tags: recorded %v, sent %v, want %v", prim.Name, r.Tags, created.Tags, prim.Tags)
		}
		if strings.Contains(fmt.Sprint(r.Inputs), "${") {
			t.Errorf("%s recorded unresolved inputs %v", prim.Name, r.Inputs)
		}
	}
	// References were resolved from the outputs of the dependency.
	primaryBucket, _ := st.Get("aws_s3_bucket.primary")
	repl, _ := st.Get("aws_s3_bucket_replication.primary")
	secondaryBucket, _ := st.Get("aws_s3_bucket.secondary")
	if repl.Inputs["bucket"] != "acme-payments-us-east-1" || repl.Inputs["destination_bucket_arn"] != secondaryBucket.Outputs["arn"] || secondaryBucket.Outputs["arn"] == "" {
		t.Errorf("replication inputs = %v", repl.Inputs)
	}
	policy, _ := st.Get("aws_iam_role_policy.replication")
	if !strings.Contains(fmt.Sprint(policy.Inputs["policy"]), primaryBucket.Outputs["arn"]+"/*") {
		t.Errorf("policy %v does not hold %s/*", policy.Inputs["policy"], primaryBucket.Outputs["arn"])
	}
	manifest, _ := st.Get(compile.Manifest)
	ids := manifest.Inputs["value"].(map[string]any)["ids"].(map[string]any)
	if ids["aws_dynamodb_table.kv"] != findCall(t, c, "create", "aws_dynamodb_table.kv").ID {
		t.Errorf("manifest ids = %v", ids)
	}
	// Applying again changes nothing.
	p2, err := engine.Diff(g, st, e.Drivers)
	if err != nil {
		t.Fatal(err)
	}
	if ch := p2.Changes(); len(ch) != 0 {
		t.Errorf("second plan has changes: %v", ch)
	}
	if final, _ := j.last(); !sameJSON(final, st) {
		t.Errorf("last journaled state differs from the final state\n%+v\n%+v", final, st)
	}
}

func TestDestroyDeletesDependentsFirst(t *testing.T) {
	g := regionPairGraph(t)
	c := newCloud()
	c.delay = time.Millisecond
	j := &journal{}
	e := &engine.Engine{Drivers: compiledDrivers(c, g), Parallelism: 4, Retry: quick, Journal: j.write}
	var st engine.State
	if _, err := apply(t, e, g, &st); err != nil {
		t.Fatal(err)
	}
	if err := e.Destroy(context.Background(), &st); err != nil {
		t.Fatalf("Destroy() error = %v", err)
	}
	if len(st.Records) != 0 {
		t.Errorf("records left after destroy: %q", recordNames(st))
	}
	if n := c.count(); n != 0 {
		t.Errorf("%d objects left in the cloud", n)
	}
	for _, prim := range g.Primitives {
		deleted := findCall(t, c, "delete", prim.Name)
		for _, d := range prim.Dependencies() {
			dep := findCall(t, c, "delete", d)
			if deleted.End >= dep.Start {
				t.Errorf("%s was deleted (start %d) before its dependent %s was (end %d)", d, dep.Start, prim.Name, deleted.End)
			}
		}
	}
	if final, _ := j.last(); len(final.Records) != 0 {
		t.Errorf("last journaled state still has %q", recordNames(final))
	}
}

func TestApplyDeletesOnlyWhatLeftTheGraph(t *testing.T) {
	c := newCloud()
	e, _, _ := newEngine(c, 2)
	var st engine.State
	full := graph(
		prim("a", tBucket, map[string]any{"name": "a"}),
		prim("b", tPolicy, map[string]any{"of": "${a.arn}"}),
		prim("c", tPolicy, map[string]any{"of": "${b.arn}"}),
	)
	if _, err := apply(t, e, full, &st); err != nil {
		t.Fatal(err)
	}
	p, err := apply(t, e, graph(full.Primitives[0]), &st)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Count(); got[engine.OpDelete] != 2 || got[engine.OpSame] != 1 {
		t.Errorf("plan = %v, want 2 deletes and 1 same", got)
	}
	if c, b := findCall(t, c, "delete", "c"), findCall(t, c, "delete", "b"); c.End >= b.Start {
		t.Errorf("b deleted before its dependent c")
	}
	if got := recordNames(st); !reflect.DeepEqual(got, []string{"a"}) {
		t.Errorf("records = %q, want [a]", got)
	}
}

func TestParallelismIsNeverExceeded(t *testing.T) {
	for _, tc := range []struct {
		parallelism, n, bound int
	}{
		{3, 50, 3},
		{1, 10, 1},
		{0, 40, engine.DefaultParallelism},
	} {
		t.Run(fmt.Sprintf("parallelism %d", tc.parallelism), func(t *testing.T) {
			c := newCloud()
			c.delay = 2 * time.Millisecond
			e, _, _ := newEngine(c, tc.parallelism)
			var ps []primitive.Primitive
			for i := range tc.n {
				ps = append(ps, prim(fmt.Sprintf("p%02d", i), tPolicy, map[string]any{"i": i}))
			}
			var st engine.State
			if _, err := apply(t, e, graph(ps...), &st); err != nil {
				t.Fatal(err)
			}
			if got := len(c.callsOf("create")); got != tc.n {
				t.Errorf("%d creates, want %d", got, tc.n)
			}
			if m := c.max(); m > tc.bound {
				t.Errorf("%d calls in flight at once, bound is %d", m, tc.bound)
			} else if tc.bound > 1 && m < 2 {
				// Not a timing assertion: with 2ms calls and nothing ordering
				// them, calls that never overlap mean the engine serialises.
				t.Errorf("at most %d call in flight: independent steps did not run in parallel", m)
			}
			// Refresh and Destroy obey the same bound.
			c.mu.Lock()
			c.maxInFlight = 0
			c.mu.Unlock()
			if _, _, err := e.Refresh(context.Background(), &st); err != nil {
				t.Fatal(err)
			}
			if err := e.Destroy(context.Background(), &st); err != nil {
				t.Fatal(err)
			}
			if m := c.max(); m > tc.bound {
				t.Errorf("refresh/destroy: %d calls in flight at once, bound is %d", m, tc.bound)
			}
		})
	}
}

func TestParallelismBoundWithDependencies(t *testing.T) {
	// Wide levels over a chain: the bound holds as steps become ready.
	c := newCloud()
	c.delay = time.Millisecond
	e, _, _ := newEngine(c, 3)
	var ps []primitive.Primitive
	for i := range 30 {
		var deps []string
		if i >= 10 {
			deps = []string{fmt.Sprintf("p%02d", i-10)}
		}
		ps = append(ps, prim(fmt.Sprintf("p%02d", i), tPolicy, map[string]any{}, deps...))
	}
	var st engine.State
	if _, err := apply(t, e, graph(ps...), &st); err != nil {
		t.Fatal(err)
	}
	if m := c.max(); m > 3 {
		t.Errorf("%d calls in flight, bound is 3", m)
	}
	for i := 10; i < 30; i++ {
		a, b := findCall(t, c, "create", fmt.Sprintf("p%02d", i-10)), findCall(t, c, "create", fmt.Sprintf("p%02d", i))
		if a.End >= b.Start {
			t.Errorf("p%02d started before p%02d ended", i, i-10)
		}
	}
}

var errThrottled = errors.New("throttled")

func TestRetries(t *testing.T) {
	errDenied := errors.New("access denied")
	tests := []struct {
		desc      string
		errs      []error // injected, one per call
		always    error
		wantCalls int
		wantErr   []string // substrings; none means success
		wantIs    error
	}{
		{desc: "success first time", wantCalls: 1},
		{desc: "retryable then success", errs: []error{engine.Retryable(errThrottled), engine.Retryable(errThrottled)}, wantCalls: 3},
		{desc: "success on the last attempt", errs: []error{engine.Retryable(errThrottled), engine.Retryable(errThrottled), engine.Retryable(errThrottled)}, wantCalls: quick.Attempts},
		{desc: "retryable until attempts run out", always: engine.Retryable(errThrottled), wantCalls: quick.Attempts,
			wantErr: []string{"create a", fmt.Sprintf("gave up after %d attempts", quick.Attempts), "throttled"}, wantIs: errThrottled},
		{desc: "non-retryable is not retried", errs: []error{errDenied}, wantCalls: 1,
			wantErr: []string{"create a", "access denied"}, wantIs: errDenied},
		{desc: "non-retryable after a retryable stops", errs: []error{engine.Retryable(errThrottled), errDenied}, wantCalls: 2,
			wantErr: []string{"access denied"}, wantIs: errDenied},
		{desc: "a wrapped retryable error is still retryable", errs: []error{fmt.Errorf("put: %w", engine.Retryable(errThrottled))}, wantCalls: 2},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			c := newCloud()
			c.fail("create", "a", tt.errs...)
			if tt.always != nil {
				c.failAlways("create", "a", tt.always)
			}
			e, _, ev := newEngine(c, 2)
			var st engine.State
			_, err := apply(t, e, graph(prim("a", tBucket, map[string]any{"name": "a"})), &st)
			calls := c.callsOf("create")
			if len(calls) != tt.wantCalls {
				t.Errorf("%d create calls, want %d", len(calls), tt.wantCalls)
			}
			if n := ev.of("a", "retry"); n != tt.wantCalls-1 {
				t.Errorf("%d retry events, want %d", n, tt.wantCalls-1)
			}
			// Every call is the same create: one token, and every try after
			// the first may follow one that succeeded unseen.
			for i, cl := range calls {
				if cl.Token == "" || cl.Token != calls[0].Token {
					t.Errorf("call %d token %q, first %q", i, cl.Token, calls[0].Token)
				}
				if cl.Resume != (i > 0) {
					t.Errorf("call %d Resume = %v, want %v", i, cl.Resume, i > 0)
				}
			}
			r, recorded := st.Get("a")
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Apply() error = %v", err)
				}
				if !recorded || r.Pending != "" || r.ID == "" || ev.of("a", "done") != 1 {
					t.Errorf("record %+v, done events %d", r, ev.of("a", "done"))
				}
				return
			}
			if err == nil {
				t.Fatalf("Apply() succeeded, want an error")
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			if !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v does not wrap %v", err, tt.wantIs)
			}
			if strings.Contains(err.Error(), "gave up") != (tt.always != nil) {
				t.Errorf("error %q: gave up only when retries ran out", err)
			}
			if ev.of("a", "failed") != 1 {
				t.Errorf("%d failed events, want 1", ev.of("a", "failed"))
			}
			// The create may have happened: the record stays pending with its
			// token, so the next run resumes instead of creating twice.
			if !recorded || r.Pending != engine.OpCreate || r.Token != calls[0].Token {
				t.Errorf("after a failed create the record is %+v (recorded %v), want pending with token %q", r, recorded, calls[0].Token)
			}
		})
	}
}

func TestRetriesOfUpdateDeleteAndRead(t *testing.T) {
	c := newCloud()
	e, _, _ := newEngine(c, 2)
	var st engine.State
	if _, err := apply(t, e, graph(prim("a", tPolicy, map[string]any{"v": 1}), prim("b", tPolicy, nil)), &st); err != nil {
		t.Fatal(err)
	}
	c.fail("update", "a", engine.Retryable(errThrottled), engine.Retryable(errThrottled))
	c.fail("delete", "b", engine.Retryable(errThrottled))
	if _, err := apply(t, e, graph(prim("a", tPolicy, map[string]any{"v": 2})), &st); err != nil {
		t.Fatalf("Apply() error = %v", err)
	}
	if n := len(c.callsOf("update")); n != 3 {
		t.Errorf("%d update calls, want 3", n)
	}
	if n := len(c.callsOf("delete")); n != 2 {
		t.Errorf("%d delete calls, want 2", n)
	}
	c.fail("read", "a", engine.Retryable(errThrottled))
	if _, _, err := e.Refresh(context.Background(), &st); err != nil {
		t.Fatalf("Refresh() error = %v", err)
	}
	if n := len(c.callsOf("read")); n != 2 {
		t.Errorf("%d read calls, want 2", n)
	}
	// A delete that fails for good keeps the record.
	c.failAlways("delete", "a", errors.New("bucket not empty"))
	err := e.Destroy(context.Background(), &st)
	if err == nil || !strings.Contains(err.Error(), "delete a") || !strings.Contains(err.Error(), "bucket not empty") {
		t.Errorf("Destroy() error = %v", err)
	}
	if _, ok := st.Get("a"); !ok {
		t.Errorf("a failed to delete but its record is gone")
	}
}

func TestRetryStopsWhenCancelled(t *testing.T) {
	c := newCloud()
	c.failAlways("create", "a", engine.Retryable(errThrottled))
	e, _, _ := newEngine(c, 1)
	e.Retry = engine.RetryPolicy{Attempts: 5, Base: time.Hour, Max: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	c.onCall = func(call) { cancel() }
	p, err := engine.Diff(graph(prim("a", tBucket, map[string]any{"name": "a"})), engine.State{}, e.Drivers)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	var st engine.State
	go func() { done <- e.Apply(ctx, p, &st) }()
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Apply kept waiting to retry after its context was cancelled")
	}
	if !errors.Is(err, context.Canceled) || !errors.Is(err, errThrottled) {
		t.Errorf("Apply() error = %v, want context.Canceled and the last error", err)
	}
	if n := len(c.callsOf("create")); n != 1 {
		t.Errorf("%d create calls, want 1", n)
	}
}

func TestFailedStepSkipsItsDependents(t *testing.T) {
	c := newCloud()
	c.failAlways("create", "a", errors.New("quota exceeded"))
	e, _, ev := newEngine(c, 3)
	g := graph(
		prim("a", tBucket, map[string]any{"name": "a"}),
		prim("b", tPolicy, map[string]any{"of": "${a.arn}"}),
		prim("c", tPolicy, map[string]any{}, "b"),
		prim("d", tBucket, map[string]any{"name": "d"}),
		prim("e", tPolicy, map[string]any{"of": "${d.arn}"}),
		prim("f", tPolicy, map[string]any{"x": "${a.arn}", "y": "${d.arn}"}),
	)
	var st engine.State
	_, err := apply(t, e, g, &st)
	if err == nil {
		t.Fatal("Apply() succeeded, want an error")
	}
	for _, want := range []string{"create a", "quota exceeded", "b: skipped because a failed", "c: skipped because b failed", "f: skipped because a failed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	for _, name := range []string{"b", "c", "f"} {
		for _, cl := range c.callsOf("") {
			if cl.Name == name {
				t.Errorf("skipped step %s called the cloud: %s", name, cl.Op)
			}
		}
		if _, ok := st.Get(name); ok {
			t.Errorf("skipped step %s is recorded", name)
		}
		if n := ev.of(name, "start"); n != 0 {
			t.Errorf("skipped step %s started", name)
		}
	}
	for _, name := range []string{"d", "e"} {
		r, ok := st.Get(name)
		if !ok || r.Pending != "" || r.ID == "" {
			t.Errorf("unrelated step %s: record %+v, recorded %v", name, r, ok)
		}
	}
	if n := len(c.callsOf("create")); n != 3 {
		t.Errorf("%d creates (%q), want a, d and e", n, c.callNames())
	}
}

func TestJournalRecordsPendingCreateBeforeTheCall(t *testing.T) {
	c := newCloud()
	e, j, _ := newEngine(c, 2)
	var checked int
	c.onCall = func(cl call) {
		if cl.Op != "create" {
			return
		}
		// Calls run in parallel; the journal only grows, so the latest
		// state holds every pending record journaled so far.
		last, ok := j.last()
		if !ok {
			t.Errorf("create %s called before anything was journaled", cl.Name)
			return
		}
		r, ok := last.Get(cl.Name)
		switch {
		case !ok:
			t.Errorf("create %s called before its record was journaled", cl.Name)
		case r.Pending != engine.OpCreate || r.Token == "" || r.Token != cl.Token || r.ID != "":
			t.Errorf("create %s (token %q) called with journaled record %+v, want pending create with the same token", cl.Name, cl.Token, r)
		default:
			c.mu.Lock()
			checked++
			c.mu.Unlock()
		}
	}
	var st engine.State
	g := graph(prim("a", tBucket, map[string]any{"name": "a"}), prim("b", tPolicy, map[string]any{"of": "${a.arn}"}), prim("c", tPolicy, nil))
	if _, err := apply(t, e, g, &st); err != nil {
		t.Fatal(err)
	}
	if checked != 3 {
		t.Errorf("checked %d creates, want 3", checked)
	}
	states := j.all()
	// One pending and one final record per create, at most: changes made
	// while a write is in flight share the next write.
	if len(states) < 2 || len(states) > 6 {
		t.Errorf("journaled %d times, want 2 to 6", len(states))
	}
	tokens := map[string]string{}
	for _, s := range states {
		for _, r := range s.Records {
			if r.Pending == engine.OpCreate {
				if prev, ok := tokens[r.Name]; ok && prev != r.Token {
					t.Errorf("%s journaled with two tokens", r.Name)
				}
				tokens[r.Name] = r.Token
			}
		}
	}
	if len(tokens) != 3 || tokens["a"] == tokens["b"] || tokens["b"] == tokens["c"] || tokens["a"] == tokens["c"] {
		t.Errorf("pending tokens = %v, want one distinct token per create", tokens)
	}
	final := states[len(states)-1]
	for _, name := range []string{"a", "b", "c"} {
		r, ok := final.Get(name)
		if !ok || r.Pending != "" || r.ID != findCall(t, c, "create", name).ID {
			t.Errorf("final journaled record of %s = %+v", name, r)
		}
	}
	// The journal receives copies: changing the live state later does not change them.
	st.Remove("a")
	if _, ok := final.Get("a"); !ok {
		t.Errorf("the journal shares memory with the live state")
	}
}

func TestJournalFailureStopsTheCreate(t *testing.T) {
	c := newCloud()
	e, j, _ := newEngine(c, 1)
	j.err = errors.New("disk full")
	var st engine.State
	_, err := apply(t, e, graph(prim("a", tBucket, map[string]any{"name": "a"}), prim("b", tPolicy, nil, "a")), &st)
	if err == nil || !strings.Contains(err.Error(), "journal") || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Apply() error = %v, want the journal's", err)
	}
	if n := len(c.callsOf("")); n != 0 {
		t.Errorf("the cloud was called %d times (%q) though the intent could not be journaled", n, c.callNames())
	}
}

func TestPendingCreateIsResumedWithItsToken(t *testing.T) {
	c := newCloud()
	e, j, _ := newEngine(c, 1)
	// A crash after the create call: the object exists in the cloud, the
	// journal holds only the pending record.
	c.objects["bucket-99"] = &object{ID: "bucket-99", Name: "a", Type: tBucket, Token: "tok-123",
		Props: map[string]any{"name": "a"}, Outputs: outputsFor("bucket-99", map[string]any{"name": "a"})}
	st := engine.State{Records: []engine.Record{{Name: "a", Type: tBucket, Region: "us-east-1", Pending: engine.OpCreate, Token: "tok-123"}}}
	p, err := apply(t, e, graph(prim("a", tBucket, map[string]any{"name": "a"})), &st)
	if err != nil {
		t.Fatalf("Apply() error = %v", err)
	}
	if got := p.Count()[engine.OpCreate]; got != 1 {
		t.Errorf("plan = %v, want one create", p.Count())
	}
	cl := findCall(t, c, "create", "a")
	if !cl.Resume || cl.Token != "tok-123" {
		t.Errorf("create called with Resume=%v Token=%q, want Resume with tok-123", cl.Resume, cl.Token)
	}
	if len(c.callsOf("delete")) != 0 {
		t.Errorf("a pending record was deleted before it was resumed")
	}
	first := j.all()[0]
	if r, _ := first.Get("a"); r.Pending != engine.OpCreate || r.Token != "tok-123" {
		t.Errorf("journaled pending record %+v, want the same token", r)
	}
	r, _ := st.Get("a")
	if r.ID != "bucket-99" || r.Pending != "" {
		t.Errorf("record = %+v, want the adopted bucket-99", r)
	}
	if n := c.count(); n != 1 {
		t.Errorf("%d objects in the cloud, want 1", n)
	}
}

func TestFreshCreateIsNotAResume(t *testing.T) {
	c := newCloud()
	e, _, _ := newEngine(c, 1)
	var st engine.State
	if _, err := apply(t, e, graph(prim("a", tBucket, map[string]any{"name": "a"})), &st); err != nil {
		t.Fatal(err)
	}
	if cl := findCall(t, c, "create", "a"); cl.Resume || len(cl.Token) < 16 {
		t.Errorf("fresh create with Resume=%v Token=%q", cl.Resume, cl.Token)
	}
}

func TestApplyUpdate(t *testing.T) {
	c := newCloud()
	e, _, _ := newEngine(c, 2)
	var st engine.State
	tags := map[string]string{"k": "v"}
	a := primitive.Primitive{Name: "a", Type: tBucket, Region: "us-east-1", Properties: map[string]any{"name": "a", "size": 1}, Tags: tags}
	if _, err := apply(t, e, graph(a), &st); err != nil {
		t.Fatal(err)
	}
	before, _ := st.Get("a")
	a.Properties = map[string]any{"name": "a", "size": 2}
	a.Tags = map[string]string{"k": "w"}
	p, err := apply(t, e, graph(a), &st)
	if err != nil {
		t.Fatal(err)
	}
	if got := stepString(p.Steps[0]); got != "update a [size tags] []" {
		t.Errorf("plan = %s", got)
	}
	if n := len(c.callsOf("create")); n != 1 {
		t.Errorf("%d creates, want 1: an update must not recreate", n)
	}
	up := findCall(t, c, "update", "a")
	if up.ID != before.ID || up.Tags["k"] != "w" || up.Props["size"] != float64(2) {
		t.Errorf("update call = %+v", up)
	}
	after, _ := st.Get("a")
	// The driver returned no ID: the recorded one is kept.
	if after.ID != before.ID || after.Outputs["id"] != before.ID || after.Inputs["size"] != float64(2) || after.Tags["k"] != "w" {
		t.Errorf("record after update = %+v", after)
	}
}

func TestApplyReplace(t *testing.T) {
	c := newCloud()
	e, _, _ := newEngine(c, 2)
	var st engine.State
	g := func(name string) primitive.Graph {
		return graph(prim("a", tBucket, map[string]any{"name": name}), prim("b", tPolicy, map[string]any{"of": "${a.arn}"}))
	}
	if _, err := apply(t, e, g("one"), &st); err != nil {
		t.Fatal(err)
	}
	old, _ := st.Get("a")
	p, err := apply(t, e, g("two"), &st)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range p.Steps {
		got = append(got, stepString(s))
	}
	if want := []string{"replace a [name] [name]", "update b [of] []"}; !reflect.DeepEqual(got, want) {
		t.Errorf("plan = %q, want %q", got, want)
	}
	del := findCall(t, c, "delete", "a")
	creates := c.callsOf("create")
	recreate := creates[len(creates)-1]
	if recreate.Name != "a" || del.ID != old.ID || del.End >= recreate.Start {
		t.Errorf("replace: delete %+v then create %+v", del, recreate)
	}
	nu, _ := st.Get("a")
	if nu.ID == old.ID || nu.ID != recreate.ID {
		t.Errorf("replacement recorded with ID %s (old %s, created %s)", nu.ID, old.ID, recreate.ID)
	}
	up := findCall(t, c, "update", "b")
	if up.Start <= recreate.End || up.Props["of"] != "arn:fake:"+nu.ID {
		t.Errorf("dependent updated with %v (start %d), want the new ARN after the create (end %d)", up.Props["of"], up.Start, recreate.End)
	}
}

// TestReplaceInUseReplacesDependents: replacing an object the cloud will
// not delete while it is used (an InUse driver's: a health check a record
// names) deletes its recorded dependents first and creates them again
// after the new object, pointing at it.
func TestReplaceInUseReplacesDependents(t *testing.T) {
	c := newCloud()
	e, _, _ := newEngine(c, 2)
	e.Drivers["check"] = inUseDriver{&fakeDriver{c: c, typ: "check", forceNew: []string{"interval"}}}
	var st engine.State
	g := func(interval int) primitive.Graph {
		return graph(prim("a", "check", map[string]any{"interval": interval}), prim("b", tPolicy, map[string]any{"of": "${a.arn}"}))
	}
	if _, err := apply(t, e, g(30), &st); err != nil {
		t.Fatal(err)
	}
	p, err := apply(t, e, g(10), &st)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range p.Steps {
		got = append(got, stepString(s))
	}
	if want := []string{"replace a [interval] [interval]", "replace b [a is replaced of] [a is replaced]"}; !reflect.DeepEqual(got, want) {
		t.Errorf("plan = %q, want %q", got, want)
	}
	if got, want := c.callNames(), []string{"create a", "create b", "delete b", "delete a", "create a", "create b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("calls = %q, want %q", got, want)
	}
	nu, _ := st.Get("a")
	if b, _ := c.objectNamed("b"); b.Props["of"] != "arn:fake:"+nu.ID || c.count() != 2 {
		t.Errorf("dependent recreated with %v (%d objects), want the new ARN", b.Props["of"], c.count())
	}
}

func TestRefresh(t *testing.T) {
	c := newCloud()
	e, j, _ := newEngine(c, 3)
	e.Drivers[tPolicy].(*fakeDriver).hidden = []string{"secret"}
	e.Drivers[tLink].(*fakeDriver).warn = "endpoint ignores"
	var st engine.State
	g := graph(
		primitive.Primitive{Name: "gone", Type: tBucket, Region: "us-east-1", Properties: map[string]any{"name": "gone"}},
		primitive.Primitive{Name: "props", Type: tBucket, Region: "us-east-1", Properties: map[string]any{"name": "props", "size": 1}},
		primitive.Primitive{Name: "tags", Type: tBucket, Region: "us-east-1", Properties: map[string]any{"name": "tags"}, Tags: map[string]string{"k": "v"}},
		primitive.Primitive{Name: "both", Type: tBucket, Region: "us-east-1", Properties: map[string]any{"name": "both", "size": 1}, Tags: map[string]string{"k": "v"}},
		primitive.Primitive{Name: "same", Type: tPolicy, Region: "us-east-1", Properties: map[string]any{"doc": "d", "secret": "s"}, Tags: map[string]string{"k": "v"}},
		primitive.Primitive{Name: "warned", Type: tLink, Region: "us-east-1", Properties: map[string]any{"source": "x"}},
	)
	if _, err := apply(t, e, g, &st); err != nil {
		t.Fatal(err)
	}
	st.Put(engine.Record{Name: "pending", Type: tBucket, Region: "us-east-1", Pending: engine.OpCreate, Token: "tok"})

	// Changes made outside meridian.
	c.mu.Lock()
	for id, o := range c.objects {
		switch o.Name {
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
	c.mu.Unlock()
	journaled := len(j.all())
	drifts, warnings, err := e.Refresh(context.Background(), &st)
	if err != nil {
		t.Fatalf("Refresh() error = %v", err)
	}
	var got []string
	for _, d := range drifts {
		got = append(got, fmt.Sprintf("%s gone=%v %v", d.Name, d.Gone, d.Changes))
	}
	want := []string{"both gone=false [added size tags (-k)]", "gone gone=true []", "props gone=false [size]", "tags gone=false [tags (+extra=x, k=v -> changed)]"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("drifts =\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	for _, d := range drifts {
		if d.ID == "" || d.Type != tBucket || d.Region != "us-east-1" {
			t.Errorf("drift %+v lacks its identity", d)
		}
		if d.Gone != strings.Contains(d.String(), "deleted outside meridian") {
			t.Errorf("drift string %q", d.String())
		}
	}
	if !reflect.DeepEqual(warnings, []string{"endpoint ignores warned"}) {
		t.Errorf("warnings = %q", warnings)
	}
	if names := recordNames(st); !reflect.DeepEqual(names, []string{"both", "pending", "props", "same", "tags", "warned"}) {
		t.Errorf("records after refresh = %q, want gone removed and the pending record kept", names)
	}
	for _, cl := range c.callsOf("read") {
		if cl.Name == "pending" {
			t.Errorf("a pending record was read")
		}
	}
	if r, _ := st.Get("props"); r.Inputs["size"] != float64(5) {
		t.Errorf("props inputs = %v, want the observed size", r.Inputs)
	}
	if r, _ := st.Get("tags"); !reflect.DeepEqual(r.Tags, map[string]string{"k": "changed", "extra": "x"}) {
		t.Errorf("tags = %v, want the observed tags", r.Tags)
	}
	if r, _ := st.Get("same"); r.Inputs["secret"] != "s" {
		t.Errorf("an unobservable property was lost: %v", r.Inputs)
	}
	if n := len(j.all()); n != journaled+1 {
		t.Errorf("refresh journaled %d times, want once", n-journaled)
	} else if last, _ := j.last(); !sameJSON(last, st) {
		t.Errorf("journaled state differs from the refreshed state")
	}

	// The next plan puts everything back.
	st.Remove("pending")
	p, err := engine.Diff(g, st, e.Drivers)
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, s := range p.Steps {
		got = append(got, stepString(s))
	}
	want = []string{
		"update both [added size tags] []", "create gone [] []", "update props [size] []",
		"same same [] []", "update tags [tags] []", "same warned [] []",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("plan after refresh =\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestRefreshReadError(t *testing.T) {
	c := newCloud()
	e, j, _ := newEngine(c, 2)
	var st engine.State
	if _, err := apply(t, e, graph(prim("a", tPolicy, nil), prim("b", tPolicy, nil)), &st); err != nil {
		t.Fatal(err)
	}
	c.failAlways("read", "a", errors.New("access denied"))
	journaled := len(j.all())
	drifts, _, err := e.Refresh(context.Background(), &st)
	if err == nil || !strings.Contains(err.Error(), "read a") || !strings.Contains(err.Error(), "access denied") {
		t.Errorf("Refresh() error = %v", err)
	}
	if len(drifts) != 0 {
		t.Errorf("drifts = %v", drifts)
	}
	if _, ok := st.Get("a"); !ok {
		t.Errorf("a record whose read failed was removed")
	}
	if n := len(c.callsOf("read")); n != 2 {
		t.Errorf("%d reads, want 2: a failed read does not stop the others", n)
	}
	// What was learnt is journaled even when a read failed.
	if got := len(j.all()); got != journaled+1 {
		t.Errorf("refresh journaled %d times, want once", got-journaled)
	}
}

func TestAdopt(t *testing.T) {
	c := newCloud()
	e, _, _ := newEngine(c, 2)
	g := graph(
		primitive.Primitive{Name: "a", Type: tBucket, Region: "us-east-1", Properties: map[string]any{"name": "a"}, Tags: map[string]string{"k": "v"}},
		prim("b", tPolicy, map[string]any{"of": "${a.arn}"}),
	)
	var st engine.State
	if _, err := apply(t, e, g, &st); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, r := range st.Records {
		ids[r.Name] = r.ID
	}
	adopted, err := e.Adopt(context.Background(), g, ids)
	if err != nil {
		t.Fatalf("Adopt() error = %v", err)
	}
	p, err := engine.Diff(g, adopted, e.Drivers)
	if err != nil {
		t.Fatal(err)
	}
	if ch := p.Changes(); len(ch) != 0 {
		t.Errorf("plan after adopt has changes: %v", ch)
	}
	for _, r := range adopted.Records {
		if r.ID != ids[r.Name] || r.Outputs["id"] != r.ID || r.Pending != "" {
			t.Errorf("adopted %+v", r)
		}
	}
	if _, err := e.Adopt(context.Background(), g, map[string]string{"a": ids["a"]}); err == nil || !strings.Contains(err.Error(), "b: no id") {
		t.Errorf("Adopt() without b's id: error = %v", err)
	}
	_, err = e.Adopt(context.Background(), g, map[string]string{"a": "bucket-404", "b": ids["b"]})
	if !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("Adopt() of a missing object: error = %v, want ErrNotFound", err)
	}
}

func TestRetryable(t *testing.T) {
	if engine.Retryable(nil) != nil {
		t.Errorf("Retryable(nil) != nil")
	}
	base := errors.New("x")
	r := engine.Retryable(base)
	if !engine.IsRetryable(r) || !engine.IsRetryable(fmt.Errorf("w: %w", r)) {
		t.Errorf("IsRetryable misses a retryable error")
	}
	if engine.IsRetryable(base) || engine.IsRetryable(nil) {
		t.Errorf("IsRetryable accepts a plain error")
	}
	if !errors.Is(r, base) || r.Error() != "x" {
		t.Errorf("Retryable hides its error: %v", r)
	}
}

func TestStatePutGetRemoveClone(t *testing.T) {
	var st engine.State
	st.Put(engine.Record{Name: "c"})
	st.Put(engine.Record{Name: "a"})
	st.Put(engine.Record{Name: "b", Inputs: map[string]any{"m": map[string]any{"k": "v"}}})
	st.Put(engine.Record{Name: "a", ID: "new"})
	if got := recordNames(st); !reflect.DeepEqual(got, []string{"a", "b", "c"}) || st.Records[0].Name != "a" || st.Records[2].Name != "c" {
		t.Errorf("records = %q, want sorted a b c", got)
	}
	if r, _ := st.Get("a"); r.ID != "new" {
		t.Errorf("Put did not replace a: %+v", r)
	}
	cl := st.Clone()
	cl.Records[1].Inputs["m"].(map[string]any)["k"] = "changed"
	if r, _ := st.Get("b"); r.Inputs["m"].(map[string]any)["k"] != "v" {
		t.Errorf("Clone is shallow")
	}
	st.Remove("b")
	st.Remove("nope")
	if got := recordNames(st); !reflect.DeepEqual(got, []string{"a", "c"}) {
		t.Errorf("after Remove: %q", got)
	}
	if _, ok := st.Get("b"); ok {
		t.Errorf("Get found a removed record")
	}
}

// A primitive that left the graph while its create was pending (a crash
// between the call and its record) is finished with its token and then
// deleted: the object the crashed run made does not leak.
func TestDestroyOfPendingCreateDeletesWhatTheCrashedRunMade(t *testing.T) {
	c := newCloud()
	e, _, _ := newEngine(c, 1)
	c.objects["bucket-7"] = &object{ID: "bucket-7", Name: "a", Type: tBucket, Token: "tok-7",
		Props: map[string]any{"name": "a"}, Outputs: outputsFor("bucket-7", map[string]any{"name": "a"})}
	st := engine.State{Records: []engine.Record{{
		Name: "a", Type: tBucket, Region: "us-east-1", Pending: engine.OpCreate, Token: "tok-7",
		Inputs: map[string]any{"name": "a"},
	}}}
	if err := e.Destroy(context.Background(), &st); err != nil {
		t.Fatalf("Destroy() error = %v", err)
	}
	cl := findCall(t, c, "create", "a")
	if !cl.Resume || cl.Token != "tok-7" {
		t.Errorf("create called with Resume=%v Token=%q, want a resume with tok-7", cl.Resume, cl.Token)
	}
	if n := c.count(); n != 0 {
		t.Errorf("%d objects left in the cloud, want 0", n)
	}
	if len(st.Records) != 0 {
		t.Errorf("records left: %v", recordNames(st))
	}
}

func TestJournalRecordsPendingDeleteBeforeTheCall(t *testing.T) {
	c := newCloud()
	e, j, _ := newEngine(c, 2)
	var st engine.State
	if _, err := apply(t, e, graph(prim("a", tBucket, map[string]any{"name": "a"}), prim("b", tPolicy, map[string]any{"of": "${a.arn}"})), &st); err != nil {
		t.Fatal(err)
	}
	checked := 0
	c.onCall = func(cl call) {
		if cl.Op != "delete" {
			return
		}
		last, _ := j.last()
		if r, ok := last.Get(cl.Name); !ok || r.Pending != engine.OpDelete || r.ID != cl.ID {
			t.Errorf("delete %s called with journaled record %+v, want a pending delete", cl.Name, r)
		}
		checked++
	}
	if err := e.Destroy(context.Background(), &st); err != nil {
		t.Fatal(err)
	}
	if checked != 2 || len(st.Records) != 0 {
		t.Errorf("checked %d deletes, %d records left", checked, len(st.Records))
	}
}

// TestInterruptedDeleteIsResolvedByCreate: a wanted record whose delete was
// cut short is created again with its token, which adopts the object if
// it survived and makes it anew if not; it is never deleted again.
func TestInterruptedDeleteIsResolvedByCreate(t *testing.T) {
	c := newCloud()
	e, _, _ := newEngine(c, 1)
	// A crash during destroy: b's record was removed after its delete, a's
	// delete call went out (the object is gone) but its record remains,
	// marked pending.
	st := engine.State{Records: []engine.Record{{Name: "a", Type: tBucket, Region: "us-east-1", ID: "bucket-7",
		Inputs: map[string]any{"name": "a"}, Outputs: map[string]string{"id": "bucket-7", "arn": "arn:bucket-7"}, Pending: engine.OpDelete}}}
	g := graph(prim("a", tBucket, map[string]any{"name": "a"}), prim("b", tPolicy, map[string]any{"of": "${a.arn}"}))
	p, err := engine.Diff(g, st, e.Drivers)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Count(); got[engine.OpCreate] != 2 || len(p.Changes()) != 2 {
		t.Fatalf("plan = %v, want a and b created", got)
	}
	if err := e.Apply(context.Background(), p, &st); err != nil {
		t.Fatalf("Apply() error = %v", err)
	}
	if n := len(c.callsOf("delete")); n != 0 {
		t.Errorf("%d delete calls, want none", n)
	}
	a, _ := st.Get("a")
	b, _ := st.Get("b")
	if a.Pending != "" || a.ID == "bucket-7" || a.ID == "" || b.ID == "" {
		t.Errorf("records a=%+v b=%+v, want both created", a, b)
	}
	if obj, ok := c.objectNamed("b"); !ok || obj.Props["of"] != a.Outputs["arn"] {
		t.Errorf("b refers to %v, want the new a's arn %q", obj, a.Outputs["arn"])
	}
	if n := c.count(); n != 2 {
		t.Errorf("%d objects in the cloud, want 2", n)
	}
}

// TestSlowJournalDoesNotSerializeSteps: while one journal write is in flight,
// other steps' changes wait for the next write together, so a journal that
// takes a while (an fsync) costs a few writes, not one per change.
func TestSlowJournalDoesNotSerializeSteps(t *testing.T) {
	c := newCloud()
	e, _, _ := newEngine(c, 20)
	var mu sync.Mutex
	writes := 0
	e.Journal = func(engine.JournalEntry) error {
		mu.Lock()
		writes++
		mu.Unlock()
		time.Sleep(5 * time.Millisecond)
		return nil
	}
	var ps []primitive.Primitive
	for i := range 40 {
		ps = append(ps, prim(fmt.Sprintf("p%02d", i), tPolicy, nil))
	}
	var st engine.State
	if _, err := apply(t, e, graph(ps...), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Records) != 40 {
		t.Fatalf("%d records", len(st.Records))
	}
	// 80 changes; with 20 steps in flight they must have shared writes.
	if writes >= 80 {
		t.Errorf("%d journal writes for 80 changes: writes were not shared", writes)
	}
}
