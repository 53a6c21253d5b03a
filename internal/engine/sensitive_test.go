package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// secretPrim is a primitive with a sensitive env, as the compiler makes a
// workload's deployment.
func secretPrim(value string) primitive.Primitive {
	return primitive.Primitive{Name: "app", Type: tPolicy, Region: "us-east-1",
		Properties: map[string]any{"image": "nginx", "env": map[string]any{"DB_PASSWORD": value}},
		Sensitive:  []string{"env"}}
}

// leaks reports where value shows in what the engine recorded: the state
// and every journal entry, as the backends would write them.
func leaks(t *testing.T, value string, st engine.State, j *journal) []string {
	t.Helper()
	var out []string
	check := func(what string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), value) {
			out = append(out, what)
		}
	}
	check("state", st)
	j.mu.Lock()
	defer j.mu.Unlock()
	for i, e := range j.entries {
		check(fmt.Sprintf("journal entry %d", i), e)
	}
	return out
}

// A sensitive property reaches the driver in clear, and is recorded only
// sealed: in the state, in every journal entry (the pending create too),
// and after a refresh and an update. A change of it is still a change.
func TestSensitivePropertiesAreRecordedSealed(t *testing.T) {
	c := newCloud()
	e, j, _ := newEngine(c, 2)
	var st engine.State
	const secret, rotated = "hunter2-the-password", "rotated-password-42"
	if _, err := apply(t, e, graph(secretPrim(secret)), &st); err != nil {
		t.Fatal(err)
	}
	create := findCall(t, c, "create", "app")
	if got := fmt.Sprint(create.Props["env"]); !strings.Contains(got, secret) {
		t.Fatalf("the driver got env %s, want the value in clear", got)
	}
	if l := leaks(t, secret, st, j); len(l) > 0 {
		t.Fatalf("the secret is in clear in %v", l)
	}
	rec, _ := st.Get("app")
	if want := primitive.Seal(map[string]any{"DB_PASSWORD": secret}, rec.Token); rec.Inputs["env"] != want || rec.Token == "" {
		t.Errorf("recorded env = %v, want its seal %s (salted with token %q)", rec.Inputs["env"], want, rec.Token)
	}
	if rec.Inputs["image"] != "nginx" {
		t.Errorf("a property that is not sensitive is recorded as %v", rec.Inputs["image"])
	}

	// Unchanged: no step; changed: an update of env, in clear to the driver.
	p, err := engine.Diff(graph(secretPrim(secret)), st, e.Drivers)
	if err != nil || len(p.Changes()) != 0 {
		t.Fatalf("same secret: plan %v, %v; want no change", p.Changes(), err)
	}
	if _, _, err := e.Refresh(context.Background(), &st); err != nil {
		t.Fatal(err)
	}
	if p, _ := engine.Diff(graph(secretPrim(secret)), st, e.Drivers); len(p.Changes()) != 0 {
		t.Fatalf("after a refresh that saw no drift, plan %v; want no change", p.Changes())
	}
	p, err = apply(t, e, graph(secretPrim(rotated)), &st)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Changes(); len(got) != 1 || got[0].Op != engine.OpUpdate || !reflect.DeepEqual(got[0].Changes, []string{"env"}) {
		t.Fatalf("rotated secret: plan %v, want an update of env", got)
	}
	if got := fmt.Sprint(findCall(t, c, "update", "app").Props["env"]); !strings.Contains(got, rotated) {
		t.Errorf("the update sent env %s, want the new value in clear", got)
	}
	for _, v := range []string{secret, rotated} {
		if l := leaks(t, v, st, j); len(l) > 0 {
			t.Errorf("%s is in clear in %v", v, l)
		}
	}

	// Changed outside meridian: refresh reports drift of env, by name only.
	c.mu.Lock()
	for _, o := range c.objects {
		o.Props["env"] = map[string]any{"DB_PASSWORD": "set-by-hand-123"}
	}
	c.mu.Unlock()
	drifts, _, err := e.Refresh(context.Background(), &st)
	if err != nil {
		t.Fatal(err)
	}
	if len(drifts) != 1 || !reflect.DeepEqual(drifts[0].Changes, []string{"env"}) {
		t.Errorf("drifts = %v, want env of app", drifts)
	}
	if l := leaks(t, "set-by-hand-123", st, j); len(l) > 0 {
		t.Errorf("the value set by hand is in clear in %v", l)
	}
	if p, _ := engine.Diff(graph(secretPrim(rotated)), st, e.Drivers); len(p.Changes()) != 1 {
		t.Errorf("after drift of env, plan %v; want the update that puts it back", p.Changes())
	}
}

// A record from before env was sensitive keeps it in clear: the plan
// updates it, and the update leaves only the seal.
func TestSensitivePropertyRecordedInClearIsSealedByAnUpdate(t *testing.T) {
	c := newCloud()
	e, j, _ := newEngine(c, 2)
	var st engine.State
	old := secretPrim("clear-value-from-before")
	old.Sensitive = nil
	if _, err := apply(t, e, graph(old), &st); err != nil {
		t.Fatal(err)
	}
	j.entries = nil
	p, err := apply(t, e, graph(secretPrim("clear-value-from-before")), &st)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Changes(); len(got) != 1 || got[0].Op != engine.OpUpdate {
		t.Fatalf("plan %v, want one update", got)
	}
	if l := leaks(t, "clear-value-from-before", st, j); len(l) > 0 {
		t.Errorf("the value is still in clear in %v", l)
	}
}

// Adopt (import) records what it reads of a sensitive property sealed.
func TestAdoptSealsSensitiveProperties(t *testing.T) {
	c := newCloud()
	e, _, _ := newEngine(c, 2)
	var st engine.State
	if _, err := apply(t, e, graph(secretPrim("adopted-secret-77")), &st); err != nil {
		t.Fatal(err)
	}
	rec, _ := st.Get("app")
	adopted, err := e.Adopt(context.Background(), graph(secretPrim("adopted-secret-77")), map[string]string{"app": rec.ID})
	if err != nil {
		t.Fatal(err)
	}
	if l := leaks(t, "adopted-secret-77", adopted, &journal{}); len(l) > 0 {
		t.Errorf("the adopted value is in clear in %v", l)
	}
	if p, _ := engine.Diff(graph(secretPrim("adopted-secret-77")), adopted, e.Drivers); len(p.Changes()) != 0 {
		t.Errorf("after adopt, plan %v; want no change", p.Changes())
	}
}

// A pending create that must be deleted is looked for without its sealed
// values: the seal is never sent to the cloud as a value.
func TestPendingCreateIsFoundWithoutSeals(t *testing.T) {
	c := newCloud()
	e, _, _ := newEngine(c, 2)
	st := engine.State{Records: []engine.Record{{Name: "app", Type: tPolicy, Region: "us-east-1", Pending: engine.OpCreate, Token: "tok",
		Inputs:    map[string]any{"image": "nginx", "env": primitive.Seal(map[string]any{"A": "b"}, "tok")},
		Sensitive: []string{"env"}}}}
	if err := e.Destroy(context.Background(), &st); err != nil {
		t.Fatal(err)
	}
	create := findCall(t, c, "create", "app")
	if v, ok := create.Props["env"]; ok {
		t.Errorf("the resumed create sent env = %v", v)
	}
}
