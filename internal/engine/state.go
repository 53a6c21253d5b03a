// Package engine deploys graphs of primitives: it diffs them against the
// recorded state, turns the difference into steps, and executes the steps
// through drivers in dependency order. It knows nothing of what a primitive
// means; that is the compiler's business and the drivers'.
package engine

import (
	"encoding/json"
	"sort"
)

// Record is what the engine knows of one primitive it created.
type Record struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	Region string `json:"region"`
	// ID is the cloud's identifier; empty while a create is pending.
	ID string `json:"id,omitempty"`
	// Inputs are the resolved properties as last applied, or as last seen
	// by refresh; those named in Sensitive are kept sealed
	// (primitive.Seal, with Token as the salt), never in clear.
	Inputs    map[string]any    `json:"inputs,omitempty"`
	Sensitive []string          `json:"sensitive,omitempty"`
	Tags      map[string]string `json:"tags,omitempty"`
	Outputs   map[string]string `json:"outputs,omitempty"`
	// DependsOn is kept so that destroy can run in reverse order after the
	// primitive has left the desired graph.
	DependsOn []string `json:"depends_on,omitempty"`
	// Pending is OpCreate from just before the create call until its result
	// is recorded: a record that is still pending after a crash may or may
	// not exist in the cloud, and Token lets the driver find out. It is
	// OpDelete from just before a delete call until the record is removed:
	// such a record is deleted again (deletes are idempotent) and, if the
	// primitive is still wanted, created anew.
	Pending Op `json:"pending,omitempty"`
	// Token is the record's own: every create attempt of the record
	// carries it, and a Marked driver's object carries it in TokenTag, so
	// that a delete can prove the object is the one this record created.
	// Records written before ownership marks have none.
	Token string `json:"token,omitempty"`
	// Unmarked is set on an imported object that does not carry this
	// engine's marks: the user's import is the proof that it is theirs.
	// An import plans no change of its own, as terraform's does not; the
	// object's next update writes the marks.
	Unmarked bool `json:"unmarked,omitempty"`
}

// State is the set of records, sorted by name.
type State struct {
	Records []Record `json:"records"`
}

// Get returns the record named name.
func (s *State) Get(name string) (Record, bool) {
	for _, r := range s.Records {
		if r.Name == name {
			return r, true
		}
	}
	return Record{}, false
}

// Put adds or replaces the record with r's name.
func (s *State) Put(r Record) {
	for i := range s.Records {
		if s.Records[i].Name == r.Name {
			s.Records[i] = r
			return
		}
	}
	s.Records = append(s.Records, r)
	sort.Slice(s.Records, func(i, j int) bool { return s.Records[i].Name < s.Records[j].Name })
}

// Remove deletes the record named name, if any.
func (s *State) Remove(name string) {
	for i := range s.Records {
		if s.Records[i].Name == name {
			s.Records = append(s.Records[:i], s.Records[i+1:]...)
			return
		}
	}
}

// A JournalEntry is what the engine hands its journal: the Changes an Apply
// made since its last entry, or a whole State that replaces the recorded one
// (Refresh, which may have changed every record).
type JournalEntry interface{ journalEntry() }

func (State) journalEntry()   {}
func (Changes) journalEntry() {}

// Changes are the records put and removed since the last journal entry. A
// name is in at most one of the two lists, as it was last changed, so an
// entry can be replayed without regard to the order of its changes.
type Changes struct {
	Put     []Record `json:"put,omitempty"`
	Removed []string `json:"removed,omitempty"`
}

// Replay makes changes to s in order. It indexes the records by name once,
// so that replaying a long journal costs in proportion to its length.
func (s *State) Replay(changes ...Changes) {
	if len(changes) == 0 {
		return
	}
	byName := make(map[string]Record, len(s.Records))
	for _, r := range s.Records {
		byName[r.Name] = r
	}
	for _, c := range changes {
		for _, name := range c.Removed {
			delete(byName, name)
		}
		for _, r := range c.Put {
			byName[r.Name] = r
		}
	}
	s.Records = make([]Record, 0, len(byName))
	for _, r := range byName {
		s.Records = append(s.Records, r)
	}
	sort.Slice(s.Records, func(i, j int) bool { return s.Records[i].Name < s.Records[j].Name })
}

// Clone returns a deep copy.
func (s State) Clone() State {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	var out State
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

func (r Record) clone() Record {
	b, err := json.Marshal(r)
	if err != nil {
		panic(err)
	}
	var out Record
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

func (s *State) outputs(name string) (map[string]string, bool) {
	r, ok := s.Get(name)
	if !ok || r.Pending != "" {
		return nil, false
	}
	return r.Outputs, true
}
