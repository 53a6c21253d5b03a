package state

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
)

// S3Store keeps each stack in Bucket as <Prefix>/<stack>.json, locked by
// <Prefix>/<stack>.lock, with the changes journalled since the last save as
// one object each under <Prefix>/<stack>.journal/ (an object cannot be
// appended to, and rewriting the state for each change costs its size).
//
// Both objects are written with S3 conditional writes: the lock with
// If-None-Match: * (only one of two racing runs can create it), the state
// with If-Match on the ETag this process last read or wrote (a run that lost
// its lock to `stack unlock` cannot overwrite the new holder's state), and
// the lock is released with a DeleteObject If-Match on its own ETag. moto
// 5.2.1 honours all three (checked: a second PutObject with If-None-Match: *
// answers 412 PreconditionFailed), so no lock table is needed.
//
// With KMSKeyID set (a key id, key ARN, alias name or alias ARN), every
// object the store writes (state, journal entries, lock) is encrypted with
// SSE-KMS under that key, whatever the bucket's default encryption: the
// state names every object of the stack, and reading it then needs
// kms:Decrypt on the key as well as s3:GetObject.
type S3Store struct {
	Client   *s3.Client
	Bucket   string
	Prefix   string
	KMSKeyID string
}

// put writes an object, encrypted with the store's KMS key if it has one.
func (s S3Store) put(ctx context.Context, in *s3.PutObjectInput) (*s3.PutObjectOutput, error) {
	if s.KMSKeyID != "" {
		in.ServerSideEncryption = s3types.ServerSideEncryptionAwsKms
		in.SSEKMSKeyId = aws.String(s.KMSKeyID)
	}
	return s.Client.PutObject(ctx, in)
}

func (s S3Store) key(name string) string { return path.Join(s.Prefix, name) }

func (s S3Store) Stack(name string) (Backend, error) {
	if err := CheckStackName(name); err != nil {
		return nil, err
	}
	return &s3Backend{store: s, stack: name}, nil
}

func (s S3Store) Stacks(ctx context.Context) ([]string, error) {
	prefix := s.key("") + "/"
	if s.Prefix == "" {
		prefix = ""
	}
	var out []string
	p := s3.NewListObjectsV2Paginator(s.Client, &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list stacks in s3://%s/%s: %w", s.Bucket, prefix, err)
		}
		for _, o := range page.Contents {
			rest := strings.TrimPrefix(aws.ToString(o.Key), prefix)
			if name, ok := strings.CutSuffix(rest, ".json"); ok && !strings.Contains(name, "/") {
				out = append(out, name)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

type s3Backend struct {
	store S3Store
	stack string
	mu    sync.Mutex
	// etag of the state object as last read or written; "" when none exists.
	etag   string
	serial int64
	// known is set once the state has been read or written.
	known bool
	// seq numbers this process's journal entries on top of serial.
	seq int
	// entries are the journal objects seen or written since the state was
	// last read or written, which the next Save removes.
	entries []string
	// lockETag is the ETag of the lock object this process wrote.
	lockETag string
}

func (b *s3Backend) stateKey() string      { return b.store.key(b.stack + ".json") }
func (b *s3Backend) lockKey() string       { return b.store.key(b.stack + ".lock") }
func (b *s3Backend) journalPrefix() string { return b.store.key(b.stack+".journal") + "/" }

// entryKey names a journal entry by the serial of the state it applies on
// top of and its place among that state's entries, so that listing the
// prefix gives them in order and an entry left from an older state is
// never replayed over a newer one.
func (b *s3Backend) entryKey(base int64, seq int) string {
	return fmt.Sprintf("%s%020d-%010d.json", b.journalPrefix(), base, seq)
}

func (b *s3Backend) Where() string { return "s3://" + b.store.Bucket + "/" + b.stateKey() }

func (b *s3Backend) get(ctx context.Context, key string) ([]byte, string, bool, error) {
	out, err := b.store.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.store.Bucket), Key: aws.String(key)},
		// Emulators send no checksums; the SDK would log that on every read.
		func(o *s3.Options) { o.DisableLogOutputChecksumValidationSkipped = true })
	if isCode(err, "NoSuchKey", "NotFound") {
		return nil, "", false, nil
	}
	if err != nil {
		return nil, "", false, fmt.Errorf("read s3://%s/%s: %w", b.store.Bucket, key, err)
	}
	defer out.Body.Close()
	raw, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, "", false, err
	}
	return raw, aws.ToString(out.ETag), true, nil
}

// Load reads the state and replays the journal entries made on top of it.
// A run that holds the lock folds them into the state and removes them.
func (b *s3Backend) Load(ctx context.Context) (Document, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, err := b.readState(ctx)
	if err != nil {
		return Document{}, err
	}
	keys, err := b.listJournal(ctx)
	if err != nil {
		return Document{}, err
	}
	var changes []engine.Changes
	for _, key := range keys {
		var base int64
		var seq int
		if _, err := fmt.Sscanf(strings.TrimPrefix(key, b.journalPrefix()), "%020d-%010d.json", &base, &seq); err != nil || base != b.serial {
			continue // another state's: removed with the rest by the next save
		}
		raw, _, ok, err := b.get(ctx, key)
		if err != nil {
			return Document{}, err
		}
		if !ok {
			continue
		}
		where := fmt.Sprintf("journal entry s3://%s/%s", b.store.Bucket, key)
		l, err := decodeEntry(raw, where)
		var newer *newerFormatError
		if errors.As(err, &newer) {
			return Document{}, err
		}
		if err != nil {
			return Document{}, fmt.Errorf("%s is damaged: %w", where, err)
		}
		changes = append(changes, l.Changes)
		b.seq = max(b.seq, seq)
	}
	b.entries = keys
	d.State.Replay(changes...)
	if b.lockETag != "" && len(keys) > 0 {
		if err := b.save(ctx, d); err != nil {
			return Document{}, fmt.Errorf("fold the journal into %s: %w", b.Where(), err)
		}
		d.Serial = b.serial
	}
	return d, nil
}

// readState reads the state object alone; the caller holds b.mu.
func (b *s3Backend) readState(ctx context.Context) (Document, error) {
	raw, etag, ok, err := b.get(ctx, b.stateKey())
	if err != nil {
		return Document{}, err
	}
	if !ok {
		b.etag, b.known, b.seq, b.entries, b.serial = "", true, 0, nil, 0
		return Document{Version: Version, Stack: b.stack}, nil
	}
	d, err := decode(raw, b.Where())
	if err != nil {
		// A state this process cannot read (of a newer format) is not
		// taken as read: its ETag must never let a save replace it.
		b.known = false
		return Document{}, err
	}
	b.etag, b.known, b.seq, b.entries, b.serial = etag, true, 0, nil, d.Serial
	return d, nil
}

func (b *s3Backend) listJournal(ctx context.Context) ([]string, error) {
	var keys []string
	p := s3.NewListObjectsV2Paginator(b.store.Client, &s3.ListObjectsV2Input{Bucket: aws.String(b.store.Bucket), Prefix: aws.String(b.journalPrefix())})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list the journal s3://%s/%s: %w", b.store.Bucket, b.journalPrefix(), err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	sort.Strings(keys)
	return keys, nil
}

// Save replaces the state object in one PUT, which S3 makes atomic, then
// removes the journal entries it folds in: they name the old serial from
// then on, so a removal that fails leaves nothing that would be replayed.
func (b *s3Backend) Save(ctx context.Context, d Document) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.save(ctx, d)
}

// Append writes the changes as a journal entry of their own, so that a
// change costs its size, not the state's. The entry is written before the
// state's ETag is checked: if another run has saved since this one read
// the state (it took the lock after a stack unlock), the entry may have
// been missed, and Append fails, so the engine makes no cloud call on it.
func (b *s3Backend) Append(ctx context.Context, c engine.Changes) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.known {
		if _, err := b.readState(ctx); err != nil {
			return err
		}
	}
	raw, err := encodeEntry(0, c) // the key names the base
	if err != nil {
		return err
	}
	b.seq++
	key := b.entryKey(b.serial, b.seq)
	write := newID()
	if _, err := b.store.put(ctx, &s3.PutObjectInput{
		Bucket: aws.String(b.store.Bucket), Key: aws.String(key), Body: bytes.NewReader(raw),
		ContentType: aws.String("application/json"), IfNoneMatch: aws.String("*"),
		Metadata: map[string]string{writeMeta: write},
	}); err != nil {
		if _, ok := b.landed(ctx, err, key, write); !ok {
			return fmt.Errorf("append to the journal s3://%s/%s: %w", b.store.Bucket, key, err)
		}
	}
	b.entries = append(b.entries, key)
	head, err := b.store.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b.store.Bucket), Key: aws.String(b.stateKey())})
	etag := ""
	switch {
	case err == nil:
		etag = aws.ToString(head.ETag)
	case !isNotFound(err):
		return fmt.Errorf("check %s after a journal write: %w", b.Where(), err)
	}
	if etag != b.etag {
		return fmt.Errorf("state %s was changed by another run since this one read it (serial %d); not journalling over it: %w", b.Where(), b.serial, ErrLockLost)
	}
	return nil
}

// save writes d as the next serial; the caller holds b.mu.
func (b *s3Backend) save(ctx context.Context, d Document) error {
	if !b.known {
		// Never read, or its read failed. A state of a newer format must
		// stop this save as it stopped the load, with the same error;
		// any other state this process has not read stops it at the
		// PUT's condition.
		raw, _, ok, err := b.get(ctx, b.stateKey())
		if err != nil {
			return err
		}
		if ok {
			if _, err := decode(raw, b.Where()); err != nil {
				return err
			}
		}
	}
	d.Stack = b.stack
	d.Serial = b.serial + 1
	raw, err := encode(d)
	if err != nil {
		return err
	}
	write := newID()
	in := &s3.PutObjectInput{
		Bucket: aws.String(b.store.Bucket), Key: aws.String(b.stateKey()),
		Body: bytes.NewReader(raw), ContentType: aws.String("application/json"),
		Metadata: map[string]string{writeMeta: write},
	}
	if b.etag == "" {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(b.etag)
	}
	out, err := b.store.put(ctx, in)
	etag := ""
	if err == nil {
		etag = aws.ToString(out.ETag)
	} else if landed, ok := b.landed(ctx, err, b.stateKey(), write); ok {
		etag = landed
	} else if isCode(err, "PreconditionFailed") {
		return fmt.Errorf("state %s was changed by another run since this one read it (serial %d); not overwriting it: %w", b.Where(), b.serial, ErrLockLost)
	} else {
		return fmt.Errorf("write %s: %w", b.Where(), err)
	}
	b.etag, b.serial, b.known, b.seq = etag, d.Serial, true, 0
	entries := b.entries
	b.entries = nil
	for start := 0; start < len(entries); start += 1000 {
		var objs []s3types.ObjectIdentifier
		for _, k := range entries[start:min(start+1000, len(entries))] {
			objs = append(objs, s3types.ObjectIdentifier{Key: aws.String(k)})
		}
		if _, err := b.store.Client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(b.store.Bucket), Delete: &s3types.Delete{Objects: objs, Quiet: aws.Bool(true)}}); err != nil {
			return fmt.Errorf("remove the journal folded into %s: %w", b.Where(), err)
		}
	}
	return nil
}

// writeMeta is the object metadata that names the write that made a state
// or journal object (a new id each time), so that a writer can recognise
// its own object.
const writeMeta = "meridian-write"

// landed reports whether a conditional write to key that failed its
// condition had in fact been made, by this very write, and then the
// object's ETag. The SDK retries a write whose answer was lost (a
// connection reset or timeout) after S3 had made it; the retry then fails
// its If-None-Match or If-Match against the first try's object, which
// carries the write's id.
func (b *s3Backend) landed(ctx context.Context, err error, key, write string) (string, bool) {
	if !isCode(err, "PreconditionFailed", "ConditionalRequestConflict") {
		return "", false
	}
	head, herr := b.store.Client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b.store.Bucket), Key: aws.String(key)})
	if herr != nil || head.Metadata[writeMeta] != write {
		return "", false
	}
	return aws.ToString(head.ETag), true
}

func (b *s3Backend) Lock(ctx context.Context, operation string) (Lock, error) {
	l := newLock(operation)
	raw, _ := json.MarshalIndent(l, "", "  ")
	out, err := b.store.put(ctx, &s3.PutObjectInput{
		Bucket: aws.String(b.store.Bucket), Key: aws.String(b.lockKey()),
		Body: bytes.NewReader(raw), ContentType: aws.String("application/json"),
		IfNoneMatch: aws.String("*"),
	})
	// 409 ConditionalRequestConflict is S3's answer to two conditional
	// writes in flight at once: either way, someone else is taking the lock.
	if isCode(err, "PreconditionFailed", "ConditionalRequestConflict") {
		raw, etag, ok, rerr := b.get(ctx, b.lockKey())
		if rerr != nil {
			return Lock{}, fmt.Errorf("stack %q is locked and its lock cannot be read: %w", b.stack, rerr)
		}
		if !ok {
			return Lock{}, fmt.Errorf("stack %q: lock s3://%s/%s vanished while taking it; try again", b.stack, b.store.Bucket, b.lockKey())
		}
		var held Lock
		if json.Unmarshal(raw, &held) != nil {
			held = Lock{Holder: "unknown (unreadable lock object)", Operation: "unknown"}
		}
		if held.ID == l.ID {
			// The SDK retried a write whose answer was lost (a reset or
			// timeout) after S3 had made it: the lock is this one.
			b.mu.Lock()
			b.lockETag = etag
			b.mu.Unlock()
			return l, nil
		}
		return Lock{}, &LockedError{Stack: b.stack, Where: "s3://" + b.store.Bucket + "/" + b.lockKey(), Lock: held}
	}
	if err != nil {
		return Lock{}, fmt.Errorf("take lock s3://%s/%s: %w", b.store.Bucket, b.lockKey(), err)
	}
	b.mu.Lock()
	b.lockETag = aws.ToString(out.ETag)
	b.mu.Unlock()
	return l, nil
}

func (b *s3Backend) ReadLock(ctx context.Context) (Lock, bool, error) {
	raw, _, ok, err := b.get(ctx, b.lockKey())
	if err != nil || !ok {
		return Lock{}, false, err
	}
	var l Lock
	if err := json.Unmarshal(raw, &l); err != nil {
		return Lock{Holder: "unknown (unreadable lock object)", Operation: "unknown"}, true, nil
	}
	return l, true, nil
}

func (b *s3Backend) Unlock(ctx context.Context, l Lock) error {
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
	b.mu.Lock()
	etag := b.lockETag
	b.mu.Unlock()
	in := &s3.DeleteObjectInput{Bucket: aws.String(b.store.Bucket), Key: aws.String(b.lockKey())}
	if etag != "" {
		// Between the read above and this delete, an unlock and a new lock
		// could have happened; the ETag makes sure we delete our own.
		in.IfMatch = aws.String(etag)
	}
	_, err = b.store.Client.DeleteObject(ctx, in)
	if isCode(err, "PreconditionFailed") {
		return fmt.Errorf("stack %q: not unlocking, the lock changed hands", b.stack)
	}
	return err
}

func (b *s3Backend) BreakLock(ctx context.Context) error {
	if _, ok, err := b.ReadLock(ctx); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("stack %q is not locked", b.stack)
	}
	_, err := b.store.Client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.store.Bucket), Key: aws.String(b.lockKey())})
	return err
}

// isNotFound is a HEAD's 404, which carries no error code.
func isNotFound(err error) bool {
	var re interface{ HTTPStatusCode() int }
	return isCode(err, "NotFound", "NoSuchKey") || errors.As(err, &re) && re.HTTPStatusCode() == 404
}

func isCode(err error, codes ...string) bool {
	var ae smithy.APIError
	if err == nil || !errors.As(err, &ae) {
		return false
	}
	for _, c := range codes {
		if ae.ErrorCode() == c {
			return true
		}
	}
	return false
}

// Remove deletes the stack's state and journal objects (meridian stack
// rm); the caller holds the lock, which its Unlock then removes.
func (b *s3Backend) Remove(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	entries, err := b.listJournal(ctx)
	if err != nil {
		return err
	}
	for _, k := range append(entries, b.stateKey()) {
		if _, err := b.store.Client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.store.Bucket), Key: aws.String(k)}); err != nil {
			return fmt.Errorf("remove %s: %w", k, err)
		}
	}
	b.etag, b.serial, b.known, b.seq, b.entries = "", 0, false, 0, nil
	return nil
}
