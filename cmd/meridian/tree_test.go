package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func at(seconds float64) time.Time { return t0.Add(time.Duration(seconds * float64(time.Second))) }

func testGroup(name string) (string, string) {
	pair, short, ok := strings.Cut(name, "/")
	if !ok {
		return name, name
	}
	if pair == "checkout" {
		return "meridian_region_pair.checkout", short
	}
	return pair, short
}

func step(op engine.Op, name, typ, region string) engine.Step {
	return engine.Step{Op: op, Name: name, Type: typ, Region: region}
}

var (
	bucketA = step(engine.OpCreate, "checkout/aws_s3_bucket.primary", "aws_s3_bucket", "us-east-1")
	bucketB = step(engine.OpCreate, "checkout/aws_s3_bucket.secondary", "aws_s3_bucket", "us-west-2")
	role    = step(engine.OpCreate, "checkout/aws_iam_role.replication", "aws_iam_role", "global")
	table   = step(engine.OpUpdate, "checkout/aws_dynamodb_table.kv", "aws_dynamodb_table", "us-east-1")
	search  = step(engine.OpDelete, "search/aws_s3_bucket.primary", "aws_s3_bucket", "eu-west-1")
)

// timed is an event the engine reports at a time since the start.
type timed struct {
	at float64
	ev engine.Event
}

func start(s engine.Step) engine.Event { return engine.Event{Step: s, Status: "start"} }
func done(s engine.Step, took float64, warnings ...string) engine.Event {
	return engine.Event{Step: s, Status: "done", Elapsed: time.Duration(took * float64(time.Second)), Warnings: warnings}
}
func failed(s engine.Step, took float64, err string) engine.Event {
	return engine.Event{Step: s, Status: "failed", Elapsed: time.Duration(took * float64(time.Second)), Err: errors.New(err)}
}
func retry(s engine.Step, err string) engine.Event {
	return engine.Event{Step: s, Status: "retry", Err: errors.New(err)}
}

// replay feeds the events up to until into a tree planned with plan.
func replay(plan []engine.Step, events []timed, until float64) *progressTree {
	tr := newProgressTree("up stack dev", t0, testGroup)
	tr.Plan(plan)
	for _, e := range events {
		if e.at <= until {
			tr.Event(e.ev, at(e.at))
		}
	}
	return tr
}

var scenario = []timed{
	{0, start(bucketA)},
	{0, start(role)},
	{0.5, start(search)},
	{1.2, done(bucketA, 1.2)},
	{1.5, retry(role, "Throttling: Rate exceeded\nstatus code: 400")},
	{1.6, start(bucketB)},
	{3, failed(search, 2.5, "delete search/aws_s3_bucket.primary: BucketNotEmpty: the bucket you tried to delete is not empty")},
	{4, done(role, 4, "the role was adopted")},
	{5.25, done(bucketB, 3.65)},
	{5.3, start(table)},
	{65.3, done(table, 60)},
}

var updateTree = flag.Bool("update-tree", false, "rewrite the golden frames in testdata/tree")

// golden compares got with testdata/tree/NAME.golden (or rewrites it).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "tree", strings.NewReplacer(" ", "_", ":", "", ",", "").Replace(name)+".golden")
	if *updateTree {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update-tree to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s: frame:\n%s\nwant:\n%s", path, got, want)
	}
}

// TestTreeFrames replays the scenario with a fake clock and compares the
// frames at chosen times and terminal sizes with the golden ones.
func TestTreeFrames(t *testing.T) {
	plan := []engine.Step{bucketA, bucketB, role, table, search}
	for _, tc := range []struct {
		name          string
		until         float64
		width, height int
	}{
		{"planned", -1, 120, 0},
		{"running and retrying", 2, 120, 0},
		{"failed", 3.5, 120, 0},
		{"a long run", 64, 120, 0},
		{"narrow", 2, 60, 0},
		{"narrower", 2, 50, 0},
		{"short finished resources collapse", 5.3, 120, 8},
		{"shorter only the running primitives", 2, 120, 8},
		{"shortest a line a resource", 2, 120, 7},
		{"tiny", 2, 120, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frame := replay(plan, scenario, tc.until).Frame(at(tc.until), tc.width, tc.height)
			golden(t, "frame "+tc.name, frame)
			lines := strings.Split(strings.TrimSuffix(frame, "\n"), "\n")
			if tc.height > 0 && len(lines) > tc.height-1 {
				t.Errorf("%d lines for a terminal of %d rows", len(lines), tc.height)
			}
			for _, l := range lines {
				if n := utf8.RuneCountInString(l); n > tc.width-1 {
					t.Errorf("line of %d columns on a terminal of %d: %q", n, tc.width, l)
				}
			}
		})
	}
}

// TestTreeFinal is the frame left after the run: finished resources on one
// line, failures kept, steps not run named unless the run went well.
func TestTreeFinal(t *testing.T) {
	plan := []engine.Step{bucketA, bucketB, role, table, search}
	golden(t, "final failed", replay(plan, scenario, 3.5).Final(at(3.5), 120, false))
	golden(t, "final after all", replay(plan, scenario, 100).Final(at(100), 120, false))
	okRun := []timed{
		{0, start(bucketA)}, {0, start(search)}, {1, done(bucketA, 1, "tagged late")}, {1, start(bucketB)},
		{2, done(search, 2)}, {2.5, done(bucketB, 1.5)},
	}
	// The table and the role were planned, but the run had no need of them.
	tr := replay(plan, okRun, 3)
	golden(t, "final ok", tr.Final(at(3), 120, true))
}

// TestTreeWithoutPlan: with --yes there is no preview, so the steps show up
// as they start.
func TestTreeWithoutPlan(t *testing.T) {
	golden(t, "frame without plan", replay(nil, scenario, 2).Frame(at(2), 120, 0))
}

func TestFmtElapsed(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-time.Second: "0.0s", 0: "0.0s", 420 * time.Millisecond: "0.4s", 59*time.Second + 940*time.Millisecond: "59.9s",
		65 * time.Second: "1m05s", 62*time.Minute + 5*time.Second: "1h02m",
	} {
		if got := fmtElapsed(d); got != want {
			t.Errorf("fmtElapsed(%s) = %q, want %q", d, got, want)
		}
	}
}

// syncBuffer is a terminal for liveDisplay: it keeps what was written.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLiveDisplay drives the redraw loop on a buffer: it hides the cursor
// at the first event, redraws in place (up as many rows as it drew), prints
// lines above the frame, and at stop leaves the final frame and shows the
// cursor again; a second stop (the finalizer) does nothing.
func TestLiveDisplay(t *testing.T) {
	var out syncBuffer
	l := &liveDisplay{out: &out, size: func() (int, int) { return 100, 30 }, tree: newProgressTree("up stack dev", time.Time{}, testGroup)}
	l.above("before the run\n")
	l.plan([]engine.Step{bucketA, bucketB})
	l.event(start(bucketA))
	time.Sleep(250 * time.Millisecond)
	l.above("warning: something\n")
	l.event(done(bucketA, 0.2))
	l.event(start(bucketB))
	l.event(done(bucketB, 0.1))
	l.stop(true)
	l.stop(true)
	l.event(start(table)) // after the end: ignored
	got := out.String()

	if !strings.HasPrefix(got, "before the run\n"+hideCursor) {
		t.Errorf("does not start with the text before the run, then hide the cursor: %q", got[:min(len(got), 40)])
	}
	if !strings.HasSuffix(got, showCursor) || strings.Count(got, showCursor) != 1 {
		t.Errorf("does not end by showing the cursor once: %q", got[max(0, len(got)-40):])
	}
	// The first frame has a header, a resource and two primitives: every
	// redraw after it goes up 4 rows.
	if n := strings.Count(got, "\x1b[4A"); n < 2 {
		t.Errorf("%d redraws in place, want 2 or more:\n%q", n, got)
	}
	if strings.Contains(got, "aws_dynamodb_table") {
		t.Error("an event after stop was drawn")
	}
	// What stays on the screen, once the escapes are played.
	screen := playANSI(got)
	want := "before the run\nwarning: something\nup stack dev: 2 done in "
	if !strings.HasPrefix(screen, want) {
		t.Errorf("screen:\n%s\nwant it to start with:\n%s", screen, want)
	}
	if !strings.Contains(screen, "✓ meridian_region_pair.checkout  2/2 done  done") {
		t.Errorf("screen:\n%s", screen)
	}
	if strings.Count(screen, "\n") != 4 {
		t.Errorf("screen of %d lines, want 4:\n%s", strings.Count(screen, "\n"), screen)
	}
}

// playANSI plays the escapes liveDisplay writes (cursor up, clear line, clear
// below, carriage return) on a grid and returns the text left.
func playANSI(s string) string {
	var grid [][]rune
	row, col := 0, 0
	put := func(r rune) {
		for len(grid) <= row {
			grid = append(grid, nil)
		}
		for len(grid[row]) < col {
			grid[row] = append(grid[row], ' ')
		}
		if col < len(grid[row]) {
			grid[row][col] = r
		} else {
			grid[row] = append(grid[row], r)
		}
		col++
	}
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		switch rs[i] {
		case '\r':
			col = 0
		case '\n':
			row, col = row+1, 0
		case '\x1b':
			j := i + 2 // after "\x1b["
			for j < len(rs) && !(rs[j] >= 'A' && rs[j] <= 'Z' || rs[j] >= 'a' && rs[j] <= 'z') {
				j++
			}
			arg := string(rs[i+2 : j])
			switch rs[j] {
			case 'A':
				n, _ := strconv.Atoi(arg)
				row = max(0, row-n)
			case 'K':
				if row < len(grid) && col < len(grid[row]) {
					grid[row] = grid[row][:col]
				}
			case 'J':
				if row < len(grid) {
					if col < len(grid[row]) {
						grid[row] = grid[row][:col]
					}
					grid = grid[:row+1]
				}
			}
			i = j
		default:
			put(rs[i])
		}
	}
	var b strings.Builder
	for _, l := range grid {
		b.WriteString(string(l) + "\n")
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// TestTreeRowsSortedByAddress is issue 13 item 11: rows are sorted by
// resource address and primitive name, so that the tree reads the same
// whatever order the steps started in.
func TestTreeRowsSortedByAddress(t *testing.T) {
	frame := func(order ...engine.Step) string {
		tr := newProgressTree("up stack dev", t0, testGroup)
		for _, s := range order {
			tr.Event(start(s), at(1))
		}
		return tr.Frame(at(1), 120, 0)
	}
	a := frame(search, bucketB, role, bucketA)
	b := frame(bucketA, role, search, bucketB)
	if a != b {
		t.Fatalf("the rows depend on the order of events:\n%s\n%s", a, b)
	}
	in := func(first, second string) bool { return strings.Index(a, first) < strings.Index(a, second) }
	if !in("meridian_region_pair.checkout", "search") || !in("aws_iam_role.replication", "aws_s3_bucket.primary") || !in("aws_s3_bucket.primary", "aws_s3_bucket.secondary") {
		t.Fatalf("rows not sorted by address:\n%s", a)
	}
}
