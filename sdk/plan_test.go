package sdk_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/state"
	"github.com/meridianhq/terraform-provider-meridian/sdk"
)

// TestPlanAppliesWhatItShowed is issue 14's "up applies exactly the plan
// it showed": a plan is taken under the stack's lock, so while it is shown
// another run of the stack is refused; the program is declared once, by
// Plan, so a program that would now declare something else changes nothing
// in what Apply does; Apply does the shown steps and releases the lock; a
// plan that is closed instead changes nothing and releases the lock too.
func TestPlanAppliesWhatItShowed(t *testing.T) {
	ctx := context.Background()
	drivers, mem := memoryDrivers()
	dir := t.TempDir()
	ws, err := sdk.Open(ctx, sdk.Options{Stack: "dev", State: dir, Drivers: drivers})
	if err != nil {
		t.Fatal(err)
	}
	other, err := sdk.Open(ctx, sdk.Options{Stack: "dev", State: dir, Drivers: drivers})
	if err != nil {
		t.Fatal(err)
	}
	declared, service := 0, "alpha"
	prog := func(c *sdk.Context) error {
		declared++
		p := pair("alpha")
		p.Tags["service"] = service
		c.RegionPair(p)
		return nil
	}
	p, err := ws.Plan(ctx, prog)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if declared != 1 || p.Counts[engine.OpCreate] != 12 {
		t.Fatalf("plan: declared %d times, counts %v", declared, p.Counts)
	}
	// While the plan is shown, the stack is locked to every other run.
	var locked *state.LockedError
	if _, err := other.Up(ctx, prog, nil); !errors.As(err, &locked) {
		t.Fatalf("an up while a plan is open: %v, want the stack locked", err)
	}
	if _, err := other.Destroy(ctx); !errors.As(err, &locked) {
		t.Fatalf("a destroy while a plan is open: %v, want the stack locked", err)
	}
	declared, service = 0, "changed" // what the program would declare now
	res, err := p.Apply(ctx, func(ps []sdk.RegionPair) map[string]string {
		return map[string]string{"service": ps[0].Tags["service"]}
	})
	if err != nil {
		t.Fatal(err)
	}
	if declared != 0 {
		t.Errorf("apply declared the program %d more times", declared)
	}
	if !reflect.DeepEqual(res.Preview, p.Preview) || res.Records != 12 || mem.Len() != 12 {
		t.Fatalf("applied %v (%d records, %d objects), shown %v", res.Counts, res.Records, mem.Len(), p.Counts)
	}
	doc, err := ws.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Outputs["service"] != "alpha" {
		t.Errorf("outputs %v, want those of the declaration that was shown", doc.Outputs)
	}
	if _, err := p.Apply(ctx, nil); err == nil {
		t.Error("a plan was applied twice")
	}
	// The lock is released: the program's new tag is a plan of updates.
	pv, err := other.Preview(ctx, prog)
	if err != nil || pv.Counts[engine.OpUpdate] == 0 {
		t.Fatalf("after apply: %v %v", pv.Counts, err)
	}

	// A destroy plan that is closed, not applied, changes nothing.
	d, err := ws.PlanDestroy(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d.Counts[engine.OpDelete] != 12 {
		t.Fatalf("destroy plan: %v", d.Counts)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if _, err := d.Apply(ctx, nil); err == nil || mem.Len() != 12 {
		t.Fatalf("a closed plan was applied: %v, %d objects left", err, mem.Len())
	}
	if _, err := other.Destroy(ctx); err != nil || mem.Len() != 0 {
		t.Fatalf("destroy after a closed plan: %v, %d objects left", err, mem.Len())
	}
}

// TestFailedPlanReleasesTheLock: a plan that fails (here, a target that
// matches nothing) leaves the stack unlocked.
func TestFailedPlanReleasesTheLock(t *testing.T) {
	ctx := context.Background()
	drivers, _ := memoryDrivers()
	ws, err := sdk.Open(ctx, sdk.Options{Stack: "dev", State: t.TempDir(), Drivers: drivers})
	if err != nil {
		t.Fatal(err)
	}
	prog := func(c *sdk.Context) error { c.RegionPair(pair("alpha")); return nil }
	if _, err := ws.Plan(ctx, prog, "nothing"); err == nil {
		t.Fatal("a plan of a target that matches nothing succeeded")
	}
	if _, ok, err := ws.Backend().ReadLock(ctx); ok || err != nil {
		t.Fatalf("the failed plan left the stack locked (%v)", err)
	}
}
