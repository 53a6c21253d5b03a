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

// Version is the format of the state documents this package writes.
const Version = 1

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

func decode(b []byte, where string) (Document, error) {
	var d Document
	if err := json.Unmarshal(b, &d); err != nil {
		return Document{}, fmt.Errorf("state at %s is not valid: %w", where, err)
	}
	if d.Version > Version {
		return Document{}, fmt.Errorf("state at %s has format version %d; this meridian reads up to %d", where, d.Version, Version)
	}
	return d, nil
}
