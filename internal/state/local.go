package state

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
)

// LocalStore keeps each stack in Dir as <stack>.json, locked by <stack>.lock.
type LocalStore struct{ Dir string }

func (s LocalStore) Stack(name string) (Backend, error) {
	if err := CheckStackName(name); err != nil {
		return nil, err
	}
	return &localBackend{dir: s.Dir, stack: name}, nil
}

func (s LocalStore) Stacks(context.Context) ([]string, error) {
	entries, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok && !e.IsDir() {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

type localBackend struct {
	dir, stack string
	mu         sync.Mutex
	// serial is the state file's, as last read or written; known says
	// whether it was read or written at all (Append needs it for its lines).
	serial int64
	known  bool
	// journal is the journal file, open for appends; nil until the first
	// Append after a Save.
	journal *os.File
	// lockID is the lock this backend took, if it holds one.
	lockID string
}

func (b *localBackend) path() string        { return filepath.Join(b.dir, b.stack+".json") }
func (b *localBackend) lockPath() string    { return filepath.Join(b.dir, b.stack+".lock") }
func (b *localBackend) journalPath() string { return filepath.Join(b.dir, b.stack+".journal") }
func (b *localBackend) Where() string       { return b.path() }

// Load reads the state file and replays the journal over it. A backend that
// holds the stack's lock then folds the journal into the state file, so that
// the journal does not outgrow a run; one that does not only reads, because
// the lock holder may be appending to the journal at this moment.
func (b *localBackend) Load(context.Context) (Document, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, err := b.readState()
	if err != nil {
		return Document{}, err
	}
	raw, err := os.ReadFile(b.journalPath())
	if errors.Is(err, fs.ErrNotExist) {
		return d, nil
	}
	if err != nil {
		return Document{}, err
	}
	changes, _, err := readLog(raw, d.Serial, b.journalPath())
	if err != nil {
		return Document{}, err
	}
	d.State.Replay(changes...)
	if b.lockID != "" {
		if err := b.save(d); err != nil {
			return Document{}, fmt.Errorf("fold journal %s into the state: %w", b.journalPath(), err)
		}
		d.Serial = b.serial
	}
	return d, nil
}

// readState reads the state file alone; the caller holds b.mu.
func (b *localBackend) readState() (Document, error) {
	raw, err := os.ReadFile(b.path())
	if errors.Is(err, fs.ErrNotExist) {
		b.serial, b.known = 0, true
		return Document{Version: Version, Stack: b.stack}, nil
	}
	if err != nil {
		return Document{}, err
	}
	d, err := decode(raw, b.path())
	if err != nil {
		// Unknown again, so that a save reads the file anew and refuses
		// too: a state of a newer format is never written over.
		b.known = false
		return Document{}, err
	}
	b.serial, b.known = d.Serial, true
	return d, nil
}

// Save writes a temporary file next to the state, syncs it, renames it over
// the state and syncs the directory: after a crash at any point the state
// file is either the old document or the new one, never a torn mix, and a
// rename that returned is durable. The journal, now folded in, is removed.
func (b *localBackend) Save(_ context.Context, d Document) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.save(d)
}

// checkLock fails with ErrLockLost if this backend took the stack's lock
// and the lock file no longer names it; the caller holds b.mu. A backend
// that took no lock (stack init, import's helpers) is not fenced.
func (b *localBackend) checkLock() error {
	if b.lockID == "" {
		return nil
	}
	raw, err := os.ReadFile(b.lockPath())
	var l Lock
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("check lock %s: %w", b.lockPath(), err)
	default:
		_ = json.Unmarshal(raw, &l) // a torn lock is not ours either
	}
	if l.ID == b.lockID {
		return nil
	}
	who := "it was removed (meridian stack unlock)"
	if l.ID != "" {
		who = "it is now held by " + l.String()
	}
	return fmt.Errorf("stack %q: %w: this run's lock %s at %s is gone, %s; the run stops before its next cloud call, and the next run finishes its work from the journal",
		b.stack, ErrLockLost, b.lockID, b.lockPath(), who)
}

func (b *localBackend) save(d Document) error {
	// A run that lost its lock must not replace the state the new holder
	// writes. The check and the rename below are not atomic, but a break
	// needs a person to run stack unlock, so the window is that of a
	// race with a human, not with a run.
	if err := b.checkLock(); err != nil {
		return err
	}
	if !b.known {
		// Never loaded, or its load failed: a state file of a newer
		// format must stop this save as it stopped the load.
		if _, err := b.readState(); err != nil {
			return err
		}
	}
	d.Stack = b.stack
	d.Serial = b.serial + 1
	raw, err := encode(d)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(b.dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(b.dir, "."+b.stack+".json.tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return fmt.Errorf("write state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), b.path()); err != nil {
		return fmt.Errorf("replace state: %w", err)
	}
	if err := syncDir(b.dir); err != nil {
		return fmt.Errorf("sync state directory: %w", err)
	}
	b.serial, b.known = d.Serial, true
	// The journal's lines name the old serial from here on, so a removal
	// that a crash undoes is harmless and needs no sync.
	if b.journal != nil {
		b.journal.Close()
		b.journal = nil
	}
	if err := os.Remove(b.journalPath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove journal: %w", err)
	}
	return nil
}

// Append writes the changes as one line at the end of the journal file and
// syncs it: one write and one fsync per call, however large the state.
//
// A run that holds the lock checks it before the write and again after the
// sync, as the S3 backend checks the state's ETag: if the lock is still
// its own after the line is durable, any later holder's Load replays the
// line; if not, the line may have been missed (the new holder may have
// folded and removed the journal already), so Append fails with
// ErrLockLost and the engine makes no cloud call on it.
func (b *localBackend) Append(_ context.Context, c engine.Changes) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.checkLock(); err != nil {
		return err
	}
	if !b.known {
		if _, err := b.readState(); err != nil {
			return err
		}
	}
	if b.journal == nil {
		f, err := b.openJournal()
		if err != nil {
			return err
		}
		b.journal = f
	}
	line, err := encodeEntry(b.serial, c)
	if err != nil {
		return err
	}
	_, err = b.journal.Write(append(line, '\n'))
	if err == nil {
		err = b.journal.Sync()
	}
	if err != nil {
		// Reopening cuts off whatever part of the line was written.
		b.journal.Close()
		b.journal = nil
		return fmt.Errorf("append to journal %s: %w", b.journalPath(), err)
	}
	return b.checkLock()
}

// openJournal opens the journal file for appends, cutting off a torn last
// line first: a line appended after it would turn it into damage.
func (b *localBackend) openJournal() (*os.File, error) {
	if err := os.MkdirAll(b.dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(b.journalPath(), os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	_, valid, err := readLog(raw, b.serial, b.journalPath())
	if err != nil {
		f.Close()
		return nil, err
	}
	if valid < len(raw) {
		if err := f.Truncate(int64(valid)); err != nil {
			f.Close()
			return nil, err
		}
	}
	if len(raw) == 0 {
		// A new file: its name must survive a crash as well as its lines.
		if err := syncDir(b.dir); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// Lock writes the lock to a temporary file, syncs it, and hard-links it to
// the lock path: link fails if the path exists, so of two runs exactly one
// takes the lock, and a reader never sees a half-written lock.
func (b *localBackend) Lock(ctx context.Context, operation string) (Lock, error) {
	if err := os.MkdirAll(b.dir, 0o755); err != nil {
		return Lock{}, err
	}
	l := newLock(operation)
	raw, _ := json.MarshalIndent(l, "", "  ")
	tmp, err := os.CreateTemp(b.dir, "."+b.stack+".lock.tmp-*")
	if err != nil {
		return Lock{}, err
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(raw)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return Lock{}, fmt.Errorf("write lock: %w", err)
	}
	err = os.Link(tmp.Name(), b.lockPath())
	if errors.Is(err, fs.ErrExist) {
		held, ok, rerr := b.ReadLock(ctx)
		if rerr != nil {
			return Lock{}, fmt.Errorf("stack %q is locked (%s) and its lock cannot be read: %w", b.stack, b.lockPath(), rerr)
		}
		if !ok {
			return Lock{}, fmt.Errorf("stack %q: lock %s vanished while taking it; try again", b.stack, b.lockPath())
		}
		return Lock{}, &LockedError{Stack: b.stack, Where: b.lockPath(), Lock: held}
	}
	if err != nil {
		return Lock{}, fmt.Errorf("take lock %s: %w", b.lockPath(), err)
	}
	if err := syncDir(b.dir); err != nil {
		return Lock{}, err
	}
	b.mu.Lock()
	b.lockID = l.ID
	b.mu.Unlock()
	return l, nil
}

func (b *localBackend) ReadLock(context.Context) (Lock, bool, error) {
	raw, err := os.ReadFile(b.lockPath())
	if errors.Is(err, fs.ErrNotExist) {
		return Lock{}, false, nil
	}
	if err != nil {
		return Lock{}, false, err
	}
	var l Lock
	if err := json.Unmarshal(raw, &l); err != nil {
		// A lock torn by a crash while it was written still locks.
		return Lock{Holder: "unknown (unreadable lock file)", Operation: "unknown"}, true, nil
	}
	return l, true, nil
}

func (b *localBackend) Unlock(ctx context.Context, l Lock) error {
	held, ok, err := b.ReadLock(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("stack %q: lock %s was already gone", b.stack, l.ID)
	}
	if held.ID != l.ID {
		return fmt.Errorf("stack %q: not unlocking, the lock is now held by %s", b.stack, held)
	}
	if err := os.Remove(b.lockPath()); err != nil {
		return err
	}
	b.mu.Lock()
	b.lockID = ""
	b.mu.Unlock()
	return nil
}

func (b *localBackend) BreakLock(context.Context) error {
	b.mu.Lock()
	b.lockID = ""
	b.mu.Unlock()
	err := os.Remove(b.lockPath())
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("stack %q is not locked", b.stack)
	}
	return err
}

func newID() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// Remove deletes the stack's state and journal (meridian stack rm); the
// caller holds the lock, which its Unlock then removes.
func (b *localBackend) Remove(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.checkLock(); err != nil {
		return err
	}
	for _, p := range []string{b.path(), b.journalPath()} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	b.known, b.serial = false, 0
	return nil
}
