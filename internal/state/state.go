// Package state keeps the engine's records of a stack between runs: in a
// local file by default, or in an S3 bucket for teams. Every backend writes
// atomically, so a crash at any moment leaves either the old state or the new
// one (the local backend's journal of changes since the last save ends in a
// whole line or a torn one, which Load ignores), and guards a stack with a
// lock that names its holder. A lock is never broken behind anyone's back: a
// stale one is reported, and only an explicit unlock removes it.
package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"regexp"
	"syscall"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
)

// Version is the format of what this package writes: state documents,
// local journal lines and S3 journal entries, which all hold the same
// records, so they share one version. Every write carries Version. A reader
// takes a document or entry without a version as version 1 (journal entries
// had none before), upgrades an older version in memory with upgrade (the
// next save writes it at Version), and refuses a newer one with a
// *newerFormatError: this meridian would misread it, and must never write
// over it.
const Version = 1

// upgrades[v] turns the JSON of a document or journal entry of format
// version v into version v+1. A change of format bumps Version and adds a
// step here; a step works on the raw JSON, so it can read what the current
// types no longer have, and handles each kind it may meet (a document's
// "records", a journal entry's "put"). The golden files of every released
// format in testdata must go on loading. Version 1 is the first: no steps.
var upgrades = map[int]func(raw []byte) ([]byte, error){}

// upgrade turns raw, of format version v, into the current format.
func upgrade(raw []byte, v int, where string) ([]byte, error) {
	for ; v < Version; v++ {
		step, ok := upgrades[v]
		if !ok {
			return nil, fmt.Errorf("%s has format version %d, which this meridian (format %d) cannot upgrade", where, v, Version)
		}
		var err error
		if raw, err = step(raw); err != nil {
			return nil, fmt.Errorf("upgrade %s from format version %d: %w", where, v, err)
		}
	}
	return raw, nil
}

// newerFormatError is the error of reading a document or journal entry
// written by a newer meridian, in a format this one does not know.
type newerFormatError struct {
	Where   string // the file, line or object
	Version int    // its format version
}

func (e *newerFormatError) Error() string {
	return fmt.Sprintf("%s has format version %d, newer than this meridian's %d: use a meridian that reads version %d; nothing was read or changed",
		e.Where, e.Version, Version, e.Version)
}

// decodeFormat decodes raw, a document or journal entry of any known
// format version, into a T of the current one; version reads T's version
// field. The version is checked before a decoding error is reported: a
// newer format may not fit today's types, and must be refused as newer
// (a *newerFormatError), not taken for damage.
func decodeFormat[T any](raw []byte, where string, version func(T) int) (T, error) {
	var out, zero T
	err := json.Unmarshal(raw, &out)
	if syntax := (*json.SyntaxError)(nil); errors.As(err, &syntax) {
		return zero, err
	}
	v := max(version(out), 1) // none is version 1
	if v > Version {
		return zero, &newerFormatError{Where: where, Version: v}
	}
	if err != nil {
		return zero, err
	}
	if v < Version {
		if raw, err = upgrade(raw, v, where); err != nil {
			return zero, err
		}
		out = zero
		if err := json.Unmarshal(raw, &out); err != nil {
			return zero, fmt.Errorf("%s, upgraded from format version %d: %w", where, v, err)
		}
	}
	return out, nil
}

// Document is what a backend stores for one stack.
type Document struct {
	Version int    `json:"version"`
	Stack   string `json:"stack"`
	// Serial grows by one on every save, so that two copies can be ordered.
	Serial int64 `json:"serial"`
	// Outputs are the stack's outputs as of the last complete run.
	Outputs map[string]string `json:"outputs,omitempty"`
	// Drills holds the report of each region pair's latest drill.
	Drills map[string]json.RawMessage `json:"drills,omitempty"`
	engine.State
}

// Backend stores the state and the lock of one stack.
type Backend interface {
	// Where names the place the state lives, for messages.
	Where() string
	// Load returns the stored document, or an empty one if there is none.
	Load(ctx context.Context) (Document, error)
	// Save replaces the stored document atomically.
	Save(ctx context.Context, d Document) error
	// Append makes changes to the records of the document this backend
	// last loaded or saved durable, before it returns, at a cost that grows
	// with the changes and not with the state: the local backend appends
	// them to a journal file next to the state, S3 writes them as an object
	// of their own; Load replays them and Save folds them in.
	Append(ctx context.Context, c engine.Changes) error
	// Lock takes the stack's lock for operation, or returns a *LockedError
	// naming the holder.
	Lock(ctx context.Context, operation string) (Lock, error)
	// Unlock releases a lock this process took; it refuses if the stored
	// lock is someone else's.
	Unlock(ctx context.Context, l Lock) error
	// ReadLock returns the current lock, if any.
	ReadLock(ctx context.Context) (Lock, bool, error)
	// BreakLock removes whatever lock there is. It is for `meridian stack
	// unlock`, after a person has confirmed that the holder is gone.
	BreakLock(ctx context.Context) error
}

// Store holds the stacks of a project.
type Store interface {
	Stack(name string) (Backend, error)
	Stacks(ctx context.Context) ([]string, error)
}

var stackName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// CheckStackName rejects names that would not make safe file names or keys.
func CheckStackName(name string) error {
	if !stackName.MatchString(name) || name == "." || name == ".." {
		return fmt.Errorf("invalid stack name %q: use 1-63 letters, digits, '_', '.' and '-', starting with a letter or digit", name)
	}
	return nil
}

// Lock names who holds a stack and since when.
type Lock struct {
	ID        string    `json:"id"`
	Holder    string    `json:"holder"` // user@host
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	Operation string    `json:"operation"`
	Created   time.Time `json:"created"`
}

// StaleAfter is the age past which a lock is reported as probably stale:
// no run of a stack should take this long.
var StaleAfter = 2 * time.Hour

// Stale says why the lock looks abandoned, or "" if it does not. It only
// reports; nothing breaks a lock but BreakLock.
func (l Lock) Stale(now time.Time) string {
	if host, _ := os.Hostname(); host != "" && host == l.Host && l.PID > 0 {
		if err := syscall.Kill(l.PID, 0); errors.Is(err, syscall.ESRCH) {
			return fmt.Sprintf("process %d is not running on %s", l.PID, l.Host)
		}
	}
	if age := now.Sub(l.Created); age > StaleAfter {
		return fmt.Sprintf("it is %s old", age.Round(time.Second))
	}
	return ""
}

func (l Lock) String() string {
	return fmt.Sprintf("%s (pid %d) for %q since %s (%s ago)", l.Holder, l.PID, l.Operation,
		l.Created.UTC().Format(time.RFC3339), time.Since(l.Created).Round(time.Second))
}

// ErrLockLost is the error of a journal write or save by a run whose lock
// was removed (`meridian stack unlock`) or is now someone else's: the run
// must stop before its next cloud call.
var ErrLockLost = errors.New("lock lost")

// LockedError is returned when another run holds the stack.
type LockedError struct {
	Stack string
	Where string
	Lock  Lock
}

func (e *LockedError) Error() string {
	msg := fmt.Sprintf("stack %q is locked by %s (lock %s at %s)", e.Stack, e.Lock, e.Lock.ID, e.Where)
	if why := e.Lock.Stale(time.Now()); why != "" {
		msg += fmt.Sprintf("; the lock looks stale: %s. If no run of this stack is in progress, remove it with `meridian stack unlock`", why)
	}
	return msg
}

// newLock describes this process as a holder.
func newLock(operation string) Lock {
	host, _ := os.Hostname()
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return Lock{
		ID: newID(), Holder: name + "@" + host, Host: host, PID: os.Getpid(),
		Operation: operation, Created: time.Now().UTC(),
	}
}

func encode(d Document) ([]byte, error) {
	d.Version = Version
	if d.Records == nil {
		d.Records = []engine.Record{}
	}
	return json.MarshalIndent(d, "", "  ")
}

// decode reads a state document of any known format version.
func decode(b []byte, where string) (Document, error) {
	where = "state at " + where
	d, err := decodeFormat(b, where, func(d Document) int { return d.Version })
	if newer := (*newerFormatError)(nil); errors.As(err, &newer) {
		return Document{}, err
	}
	if err != nil {
		return Document{}, fmt.Errorf("%s is not valid: %w", where, err)
	}
	d.Version = Version
	return d, nil
}
