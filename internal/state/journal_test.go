package state_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/state"
)

func rec(name, id string) engine.Record {
	return engine.Record{Name: name, Type: "t", Region: "r", ID: id}
}

func pending(name, token string) engine.Record {
	return engine.Record{Name: name, Type: "t", Region: "r", Pending: engine.OpCreate, Token: token}
}

// ids is "name=id" (or "name:pending") for every record, in order.
func ids(st engine.State) string {
	var out []string
	for _, r := range st.Records {
		if r.Pending != "" {
			out = append(out, r.Name+":"+string(r.Pending))
		} else {
			out = append(out, r.Name+"="+r.ID)
		}
	}
	return strings.Join(out, " ")
}

func load(t *testing.T, dir string) state.Document {
	t.Helper()
	b, _ := state.LocalStore{Dir: dir}.Stack("s")
	d, err := b.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// journaled sets up a stack whose state file holds a and b, and whose
// journal holds the changes of a run that then died: a pending create of c,
// b removed, c created, a pending delete of a.
func journaled(t *testing.T) (dir string, b state.Backend) {
	t.Helper()
	ctx := context.Background()
	dir = t.TempDir()
	b, _ = state.LocalStore{Dir: dir}.Stack("s")
	if err := b.Save(ctx, state.Document{State: engine.State{Records: []engine.Record{rec("a", "id-a"), rec("b", "id-b")}}}); err != nil {
		t.Fatal(err)
	}
	aPending := rec("a", "id-a")
	aPending.Pending = engine.OpDelete
	for _, c := range []engine.Changes{
		{Put: []engine.Record{pending("c", "tok-c")}},
		{Removed: []string{"b"}},
		{Put: []engine.Record{rec("c", "id-c"), aPending}},
	} {
		if err := b.Append(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	return dir, b
}

func TestJournalReplay(t *testing.T) {
	dir, _ := journaled(t)
	d := load(t, dir)
	if got, want := ids(d.State), "a:delete c=id-c"; got != want {
		t.Errorf("replayed state = %q, want %q", got, want)
	}
	if d.Serial != 1 {
		t.Errorf("serial = %d, want the state file's 1", d.Serial)
	}
	// Without the lock, Load only reads: the journal stays for its writer.
	if got := files(t, dir); len(got) != 2 {
		t.Errorf("files after a read-only load: %v", got)
	}
	if got := ids(load(t, dir).State); got != "a:delete c=id-c" {
		t.Errorf("second load = %q", got)
	}
}

func TestJournalTornTailIsIgnored(t *testing.T) {
	for _, tail := range []string{
		`{"base":1,"put":[{"name":"z","type":"t","region":"r","pending":"create","tok`, // cut mid-line
		`{"base":1,"removed":["c"]}`,       // whole, but its newline never made it
		"\x00\x00\x00\x00\x00\x00\x00\x00", // a file extended by zeros
		"\x00\x00\x00\x00\n",               // zeros with a newline among them, at the end
	} {
		dir, _ := journaled(t)
		path := filepath.Join(dir, "s.journal")
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(tail)
		f.Close()
		if got := ids(load(t, dir).State); got != "a:delete c=id-c" {
			t.Errorf("tail %q: state = %q, want the torn line ignored", tail, got)
		}
		// The next run's first append cuts the torn line off rather than
		// follow it.
		b, _ := state.LocalStore{Dir: dir}.Stack("s")
		if err := b.Append(context.Background(), engine.Changes{Put: []engine.Record{rec("d", "id-d")}}); err != nil {
			t.Fatal(err)
		}
		if got := ids(load(t, dir).State); got != "a:delete c=id-c d=id-d" {
			t.Errorf("tail %q, then an append: state = %q", tail, got)
		}
		raw, _ := os.ReadFile(path)
		if bytes.Contains(raw, []byte(tail)) {
			t.Errorf("tail %q: still in the journal after an append", tail)
		}
	}
}

func TestJournalDamageIsAnError(t *testing.T) {
	dir, _ := journaled(t)
	path := filepath.Join(dir, "s.journal")
	raw, _ := os.ReadFile(path)
	// A bad line followed by good ones is not a torn write.
	os.WriteFile(path, append([]byte("not json\n"), raw...), 0o600)
	b, _ := state.LocalStore{Dir: dir}.Stack("s")
	if _, err := b.Load(context.Background()); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("Load() error = %v, want the journal reported damaged", err)
	}
}

func TestJournalIsFoldedIn(t *testing.T) {
	ctx := context.Background()
	t.Run("by Save", func(t *testing.T) {
		dir, b := journaled(t)
		d := load(t, dir)
		if err := b.Save(ctx, d); err != nil {
			t.Fatal(err)
		}
		if got := files(t, dir); len(got) != 1 || got[0] != "s.json" {
			t.Errorf("files after Save: %v, want the journal gone", got)
		}
		if got := load(t, dir); ids(got.State) != "a:delete c=id-c" || got.Serial != 2 {
			t.Errorf("after Save: %q serial %d", ids(got.State), got.Serial)
		}
	})
	t.Run("by the lock holder's Load", func(t *testing.T) {
		dir, _ := journaled(t)
		b, _ := state.LocalStore{Dir: dir}.Stack("s")
		l, err := b.Lock(ctx, "up")
		if err != nil {
			t.Fatal(err)
		}
		d, err := b.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ids(d.State) != "a:delete c=id-c" || d.Serial != 2 {
			t.Errorf("Load: %q serial %d", ids(d.State), d.Serial)
		}
		if got := files(t, dir); len(got) != 2 || got[0] != "s.json" || got[1] != "s.lock" {
			t.Errorf("files after the lock holder's Load: %v, want the journal folded in", got)
		}
		// Appends go on from the folded state.
		if err := b.Append(ctx, engine.Changes{Removed: []string{"a"}}); err != nil {
			t.Fatal(err)
		}
		if got := ids(load(t, dir).State); got != "c=id-c" {
			t.Errorf("after an append to the folded state: %q", got)
		}
		if err := b.Unlock(ctx, l); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a journal left behind by a crash after Save is not replayed again", func(t *testing.T) {
		dir, b := journaled(t)
		path := filepath.Join(dir, "s.journal")
		old, _ := os.ReadFile(path)
		// The run saves a state that changed c again after its last
		// journal line, then dies before the journal is removed.
		d := load(t, dir)
		d.Put(rec("c", "id-c2"))
		if err := b.Save(ctx, d); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(path, old, 0o600)
		if got := ids(load(t, dir).State); got != "a:delete c=id-c2" {
			t.Errorf("state = %q, want the saved one: the old journal names an older serial", got)
		}
	})
}

// An append to a stack this backend never loaded still lands on top of the
// state file that is there.
func TestJournalAppendWithoutLoad(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	first, _ := state.LocalStore{Dir: dir}.Stack("s")
	for range 3 {
		if err := first.Save(ctx, state.Document{State: engine.State{Records: []engine.Record{rec("a", "id-a")}}}); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := state.LocalStore{Dir: dir}.Stack("s")
	if err := b.Append(ctx, engine.Changes{Put: []engine.Record{rec("b", "id-b")}}); err != nil {
		t.Fatal(err)
	}
	if got := ids(load(t, dir).State); got != "a=id-a b=id-b" {
		t.Errorf("state = %q", got)
	}
}

// The journal file grows with the changes, not with the state times the
// changes: each append holds its own records only.
func TestJournalGrowsWithTheChanges(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b, _ := state.LocalStore{Dir: dir}.Stack("s")
	size := func() int64 {
		fi, err := os.Stat(filepath.Join(dir, "s.journal"))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	var sizes []int64
	for i := range 200 {
		name := string(rune('a'+i%26)) + strings.Repeat("x", i/26)
		if err := b.Append(ctx, engine.Changes{Put: []engine.Record{rec(name, "id")}}); err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, size())
	}
	// Every line is about the same size, however many records came before.
	firstLine, lastLine := sizes[0], sizes[199]-sizes[198]
	if lastLine > 2*firstLine {
		t.Errorf("the 200th append wrote %d bytes, the first %d", lastLine, firstLine)
	}
	if got := len(load(t, dir).Records); got != 200 {
		t.Errorf("%d records replayed, want 200", got)
	}
}
