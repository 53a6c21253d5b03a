package state

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
)

// Journal returns the engine's journal for a stack. Changes are appended
// with the backend's Append; a whole state (after a refresh) is saved, with
// doc's other fields as they are now. It never writes to doc: the engine may
// be changing the live state while a journal write is in flight.
func Journal(ctx context.Context, b Backend, doc *Document) func(engine.JournalEntry) error {
	meta := *doc
	return func(entry engine.JournalEntry) error {
		switch entry := entry.(type) {
		case engine.Changes:
			return b.Append(ctx, entry)
		case engine.State:
			d := meta
			d.State = entry
			return b.Save(ctx, d)
		default:
			return fmt.Errorf("journal: unknown entry %T", entry)
		}
	}
}

// logLine is one journal entry as stored: a line of a local journal file,
// or an S3 journal object. Its changes were made on top of the state whose
// serial is Base. Save bumps the serial before it removes the journal, so
// entries left behind by a crash in between name an older serial and are
// not replayed over a state that already holds them. An S3 entry's key
// names its base, so its body leaves Base out.
type logLine struct {
	Version int   `json:"version"`
	Base    int64 `json:"base,omitempty"`
	engine.Changes
}

// encodeEntry is the stored form of changes made on top of serial base,
// always at the current format version.
func encodeEntry(base int64, c engine.Changes) ([]byte, error) {
	return json.Marshal(logLine{Version: Version, Base: base, Changes: c})
}

// decodeEntry reads a journal entry of any known format version. One a
// newer meridian wrote is refused as such (a *newerFormatError), never
// dropped as torn or replayed half understood.
func decodeEntry(raw []byte, where string) (logLine, error) {
	return decodeFormat(raw, where, func(l logLine) int { return l.Version })
}

// readLog returns the changes of raw that apply on top of serial, in order,
// and the length of the prefix of raw made of whole, valid lines. A last
// line without its newline, or that does not decode, is a write that a
// crash tore before its sync returned: nobody acted on it, so it is dropped.
// A bad line with good lines after it is not a torn write but damage, and
// an error; so is a line of a newer format, wherever it is.
func readLog(raw []byte, serial int64, where string) ([]engine.Changes, int, error) {
	var (
		out   []engine.Changes
		valid int
	)
	for number := 1; len(raw) > valid; number++ {
		rest := raw[valid:]
		end := bytes.IndexByte(rest, '\n')
		if end < 0 {
			break // torn: the newline is written last
		}
		l, err := decodeEntry(rest[:end], fmt.Sprintf("journal %s line %d", where, number))
		var newer *newerFormatError
		if errors.As(err, &newer) {
			return nil, 0, err
		}
		if err != nil {
			if bytes.IndexByte(rest[end+1:], '\n') >= 0 {
				return nil, 0, fmt.Errorf("journal %s is damaged at byte %d: %w", where, valid, err)
			}
			break // torn: garbage or zeros where the last write was going
		}
		if l.Base == serial {
			out = append(out, l.Changes)
		}
		valid += end + 1
	}
	return out, valid, nil
}
