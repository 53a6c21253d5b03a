package state

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
)

// S3Store keeps each stack in Bucket as <Prefix>/<stack>.json, locked by
// <Prefix>/<stack>.lock.
//
// Both objects are written with S3 conditional writes: the lock with
// If-None-Match: * (only one of two racing runs can create it), the state
// with If-Match on the ETag this process last read or wrote (a run that lost
// its lock to `stack unlock` cannot overwrite the new holder's state), and
// the lock is released with a DeleteObject If-Match on its own ETag. moto
// 5.2.1 honours all three (checked: a second PutObject with If-None-Match: *
// answers 412 PreconditionFailed), so no lock table is needed.
type S3Store struct {
	Client *s3.Client
	Bucket string
	Prefix string
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
	// doc is a copy of the document as last read or written, which Append
	// changes and writes whole: an object cannot be appended to.
	doc Document
	// lockETag is the ETag of the lock object this process wrote.
	lockETag string
}

func (b *s3Backend) stateKey() string { return b.store.key(b.stack + ".json") }
func (b *s3Backend) lockKey() string  { return b.store.key(b.stack + ".lock") }
func (b *s3Backend) Where() string    { return "s3://" + b.store.Bucket + "/" + b.stateKey() }

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

func (b *s3Backend) Load(ctx context.Context) (Document, error) {
	raw, etag, ok, err := b.get(ctx, b.stateKey())
	if err != nil {
		return Document{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.etag = etag
	if !ok {
		b.serial = 0
		b.doc = Document{Version: Version, Stack: b.stack}
		return b.doc, nil
	}
	d, err := decode(raw, b.Where())
	if err != nil {
		return Document{}, err
	}
	b.serial = d.Serial
	b.doc = copyDocument(d)
	return d, nil
}

// Save replaces the state object in one PUT, which S3 makes atomic.
func (b *s3Backend) Save(ctx context.Context, d Document) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.put(ctx, d)
}

// Append rewrites the whole object with the changes made to the document
// last read or written. That costs the size of the state per call, as
// before; the engine's group commits keep the calls few.
func (b *s3Backend) Append(ctx context.Context, c engine.Changes) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	d := copyDocument(b.doc)
	replay(&d.State, []engine.Changes{c})
	return b.put(ctx, d)
}

func copyDocument(d Document) Document {
	d.State = d.State.Clone()
	d.Outputs = maps.Clone(d.Outputs)
	d.Drills = maps.Clone(d.Drills)
	return d
}

// put writes d as the next serial; the caller holds b.mu.
func (b *s3Backend) put(ctx context.Context, d Document) error {
	d.Stack = b.stack
	d.Serial = b.serial + 1
	raw, err := encode(d)
	if err != nil {
		return err
	}
	in := &s3.PutObjectInput{
		Bucket: aws.String(b.store.Bucket), Key: aws.String(b.stateKey()),
		Body: bytes.NewReader(raw), ContentType: aws.String("application/json"),
	}
	if b.etag == "" {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(b.etag)
	}
	out, err := b.store.Client.PutObject(ctx, in)
	if isCode(err, "PreconditionFailed") {
		return fmt.Errorf("state %s was changed by another run since this one read it (serial %d); not overwriting it", b.Where(), b.serial)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", b.Where(), err)
	}
	b.etag, b.serial = aws.ToString(out.ETag), d.Serial
	b.doc = copyDocument(d)
	return nil
}

func (b *s3Backend) Lock(ctx context.Context, operation string) (Lock, error) {
	l := newLock(operation)
	raw, _ := json.MarshalIndent(l, "", "  ")
	out, err := b.store.Client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(b.store.Bucket), Key: aws.String(b.lockKey()),
		Body: bytes.NewReader(raw), ContentType: aws.String("application/json"),
		IfNoneMatch: aws.String("*"),
	})
	// 409 ConditionalRequestConflict is S3's answer to two conditional
	// writes in flight at once: either way, someone else is taking the lock.
	if isCode(err, "PreconditionFailed", "ConditionalRequestConflict") {
		held, ok, rerr := b.ReadLock(ctx)
		if rerr != nil {
			return Lock{}, fmt.Errorf("stack %q is locked and its lock cannot be read: %w", b.stack, rerr)
		}
		if !ok {
			return Lock{}, fmt.Errorf("stack %q: lock s3://%s/%s vanished while taking it; try again", b.stack, b.store.Bucket, b.lockKey())
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
