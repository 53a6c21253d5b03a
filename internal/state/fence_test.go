package state_test

import (
	"context"
	"errors"
	"testing"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/state"
)

// TestLocalLostLockFencesTheRun is situation 7 of issue 11 on real files: a
// run whose lock was removed by `stack unlock` (and then taken by a second
// run) can neither journal nor save, and what the second run wrote stays.
func TestLocalLostLockFencesTheRun(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store := state.LocalStore{Dir: dir}
	first, _ := store.Stack("s")
	if _, err := first.Lock(ctx, "up"); err != nil {
		t.Fatal(err)
	}
	doc, err := first.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Append(ctx, engine.Changes{Put: []engine.Record{pending("zone", "tok-1")}}); err != nil {
		t.Fatalf("append while holding the lock: %v", err)
	}

	// A person runs `meridian stack unlock` from another process.
	breaker, _ := store.Stack("s")
	if err := breaker.BreakLock(ctx); err != nil {
		t.Fatal(err)
	}
	err = first.Append(ctx, engine.Changes{Put: []engine.Record{rec("zone", "Z1")}})
	if !errors.Is(err, state.ErrLockLost) {
		t.Fatalf("append after the lock was removed: %v, want ErrLockLost", err)
	}
	if err := first.Save(ctx, doc); !errors.Is(err, state.ErrLockLost) {
		t.Fatalf("save after the lock was removed: %v, want ErrLockLost", err)
	}

	// A second run takes the lock; it finds the first run's durable pending
	// record (journalled while the lock was still its own) and nothing after it.
	second, _ := store.Stack("s")
	if _, err := second.Lock(ctx, "up"); err != nil {
		t.Fatal(err)
	}
	got, err := second.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ids(got.State) != "zone:create" {
		t.Fatalf("second run loaded %q, want the first run's pending create only", ids(got.State))
	}
	if err := second.Append(ctx, engine.Changes{Put: []engine.Record{rec("zone", "Z2")}}); err != nil {
		t.Fatal(err)
	}
	// The first run still cannot write, now that the lock is someone else's.
	if err := first.Append(ctx, engine.Changes{Put: []engine.Record{rec("zone", "Z1")}}); !errors.Is(err, state.ErrLockLost) {
		t.Fatalf("append with the lock held by another run: %v", err)
	}
	if err := first.Save(ctx, state.Document{}); !errors.Is(err, state.ErrLockLost) {
		t.Fatalf("save with the lock held by another run: %v", err)
	}
	if d := load(t, dir); ids(d.State) != "zone=Z2" {
		t.Fatalf("state after the fenced writes = %q, want the second run's zone=Z2", ids(d.State))
	}
	// A backend that never took a lock (stack init) is not fenced.
	if err := breaker.Save(ctx, state.Document{}); err != nil {
		t.Fatalf("save without a lock: %v", err)
	}
}
