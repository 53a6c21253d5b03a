package main_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a stdout that the test reads while meridian writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLostLockStopsTheRun is issue 11, situation 7, on a local state: a
// person runs `meridian stack unlock` while an up is running. The up stops
// at its next journal write, before its next cloud call, with "lock lost";
// the next up finishes the work without duplicating anything the first
// created (zones and health checks counted by name with raw SDK clients),
// the plan is then empty, and destroy leaves nothing.
func TestLostLockStopsTheRun(t *testing.T) {
	m := startMoto(t)
	dir := t.TempDir()
	const pairs = 4
	writeStack(t, dir, "fence", pairs, 1)
	c := newCLI(t, dir, "MERIDIAN_STATE=")
	endpoint := "--var=aws_endpoint=" + m.Endpoint()
	cloud := motoClients(t, m.Moto.Endpoint())
	c.must("stack", "init", "dev")

	// One call at a time, so that the run is long and its progress exact.
	first, _, firstErr := c.command("up", "--yes", "--progress=plain", endpoint)
	out := &lockedBuffer{}
	first.Stdout = out
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- first.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for strings.Count(out.String(), " done in ") < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("the first up made no progress:\n%s", out.String())
		}
		select {
		case err := <-done:
			t.Fatalf("the first up ended before its lock was broken: %v\n%s", err, out.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
	c.must("stack", "unlock", "--yes")
	unlocked := time.Now()
	var err error
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the first up went on for a minute after its lock was removed")
	}
	var ee interface{ ExitCode() int }
	if !errors.As(err, &ee) || ee.ExitCode() == 0 || !strings.Contains(firstErr.String(), "lock lost") {
		t.Fatalf("the first up after its lock was removed: %v\nstderr:\n%s\nstdout:\n%s", err, firstErr.String(), tail(out.String(), 10))
	}
	t.Logf("the first up stopped %s after the unlock:\n%s", time.Since(unlocked).Round(time.Millisecond), firstErr.String())
	// It stopped at its next journal write: at most the call in flight at
	// the unlock ended after it, and no step started after that.
	lines := strings.Split(out.String(), "\n")
	finished := strings.Count(out.String(), " done in ")
	if finished >= pairs*12 {
		t.Fatalf("the first up finished all %d steps although its lock was removed", finished)
	}
	var last string
	for _, l := range lines {
		if strings.HasSuffix(l, " ...") {
			last = l
		}
	}
	t.Logf("the first up finished %d of %d steps; the last it started: %s", finished, pairs*12, strings.TrimSpace(last))

	// The next up takes the lock and finishes from the journal.
	c.must("up", "--yes", endpoint)
	n := checkInventory(t, cloud, readState(t, filepath.Join(dir, ".meridian/stacks/dev.json")))
	t.Logf("after the second up, %d objects in moto match the records one to one", n)
	emptyPlan(t, c, endpoint)
	c.must("destroy", "--yes", endpoint)
	if left := inventory(t, cloud); total(left) != 0 {
		t.Fatalf("after destroy, moto still holds %v", left)
	}
}
