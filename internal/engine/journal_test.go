package engine_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// TestJournalHoldsOnlyTheChanges: Apply hands the journal the records it
// changed, each change once, never the whole state, so that journaling a
// run costs in proportion to its changes; replayed, they give the state.
func TestJournalHoldsOnlyTheChanges(t *testing.T) {
	c := newCloud()
	e, j, _ := newEngine(c, 5)
	const n = 30
	var ps []primitive.Primitive
	for i := range n {
		ps = append(ps, prim(fmt.Sprintf("p%02d", i), tPolicy, map[string]any{"i": i}))
	}
	count := func() (puts, removes int) {
		for _, entry := range j.entries {
			ch, ok := entry.(engine.Changes)
			if !ok {
				t.Fatalf("Apply journaled a %T, want Changes", entry)
			}
			puts += len(ch.Put)
			removes += len(ch.Removed)
		}
		return puts, removes
	}
	var st engine.State
	if _, err := apply(t, e, graph(ps...), &st); err != nil {
		t.Fatal(err)
	}
	// A pending record before each create and the created one after: the
	// step waits for the first to be journaled, so they never merge.
	if puts, removes := count(); puts != 2*n || removes != 0 {
		t.Errorf("create: %d records put and %d removed in the journal, want %d and 0", puts, removes, 2*n)
	}
	if last, _ := j.last(); !sameJSON(last, st) {
		t.Errorf("the replayed journal differs from the state")
	}
	j.entries = nil
	if err := e.Destroy(context.Background(), &st); err != nil {
		t.Fatal(err)
	}
	if puts, removes := count(); puts != n || removes != n {
		t.Errorf("destroy: %d records put and %d removed in the journal, want %d pending deletes and %d removals", puts, removes, n, n)
	}
	if last, _ := j.last(); len(last.Records) != 0 {
		t.Errorf("the replayed journal holds %d records after destroy", len(last.Records))
	}
}
