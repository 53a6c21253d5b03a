package state_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/state"
)

// The golden files in testdata/v1 were written by meridian at commit
// 5dec2e9, before the journal carried a format version, from the document
// and changes below: every field a record, a document and a journal entry
// can have. They must load, as they are, with every later meridian.

func fixtureDoc() state.Document {
	return state.Document{
		Outputs: map[string]string{"endpoint": "https://api.example.test"},
		Drills:  map[string]json.RawMessage{"pair.web": json.RawMessage(`{"passed":true,"rto_seconds":41}`)},
		State: engine.State{Records: []engine.Record{
			{Name: "bucket.logs", Type: "aws:s3:bucket", Region: "us-east-1", ID: "logs-1234",
				Inputs: map[string]any{"versioning": true, "lifecycle_days": float64(30), "names": []any{"a", "b"}},
				Tags:   map[string]string{"team": "core"}, Outputs: map[string]string{"arn": "arn:aws:s3:::logs-1234"},
				Token: "tok-logs"},
			{Name: "role.backup", Type: "aws:iam:role", Region: "us-east-1", ID: "backup-role",
				DependsOn: []string{"bucket.logs"}, Unmarked: true},
			{Name: "table.orders", Type: "aws:dynamodb:table", Region: "eu-west-1", ID: "orders", Token: "tok-orders"},
		}},
	}
}

// fixtureChanges are journalled on top of fixtureDoc, in order.
func fixtureChanges() []engine.Changes {
	return []engine.Changes{
		{Put: []engine.Record{{Name: "zone.main", Type: "aws:route53:zone", Region: "us-east-1", Pending: engine.OpCreate, Token: "tok-zone"}}},
		{Put: []engine.Record{{Name: "zone.main", Type: "aws:route53:zone", Region: "us-east-1", ID: "Z123", Token: "tok-zone",
			Outputs: map[string]string{"name_servers": "ns-1,ns-2"}}}, Removed: []string{"table.orders"}},
		{Put: []engine.Record{{Name: "role.backup", Type: "aws:iam:role", Region: "us-east-1", ID: "backup-role",
			DependsOn: []string{"bucket.logs"}, Pending: engine.OpDelete}}},
	}
}

// fixtureWant is what loading the golden files must give: the document
// with the journalled changes replayed.
func fixtureWant() state.Document {
	d := fixtureDoc()
	d.Version, d.Stack, d.Serial = state.Version, "today", 1
	d.State.Replay(fixtureChanges()...)
	return d
}

func checkFixture(t *testing.T, got state.Document, serial int64) {
	t.Helper()
	want := fixtureWant()
	want.Serial = serial
	// Compared as JSON, which ignores the spacing of the raw drill reports.
	g, _ := json.MarshalIndent(got, "", " ")
	w, _ := json.MarshalIndent(want, "", " ")
	if !bytes.Equal(g, w) {
		t.Fatalf("loaded document differs from the fixture's:\ngot  %s\nwant %s", g, w)
	}
}

// copyFixture copies the golden files named into dir, as they are.
func copyFixture(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, name := range names {
		raw, err := os.ReadFile(filepath.Join("testdata", "v1", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// versionOf reads the "version" of a stored document.
func versionOf(t *testing.T, raw []byte) int {
	t.Helper()
	var v struct{ Version int }
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v.Version
}

// TestTodaysLocalFormatLoads loads a state file and journal written before
// formats were versioned, then folds them in under the lock: the state is
// written back at the current version and loads the same again.
func TestTodaysLocalFormatLoads(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	copyFixture(t, dir, "today.json", "today.journal")
	b, _ := state.LocalStore{Dir: dir}.Stack("today")
	got, err := b.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkFixture(t, got, 1)

	holder, _ := state.LocalStore{Dir: dir}.Stack("today")
	l, err := holder.Lock(ctx, "up")
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Unlock(ctx, l)
	if got, err = holder.Load(ctx); err != nil {
		t.Fatal(err)
	}
	checkFixture(t, got, 2)
	if _, err := os.Stat(filepath.Join(dir, "today.journal")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the journal was not folded in: %v", err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "today.json"))
	if err != nil {
		t.Fatal(err)
	}
	if v := versionOf(t, raw); v != state.Version {
		t.Errorf("state written back at version %d, want %d", v, state.Version)
	}
	// New journal lines carry the version too.
	if err := holder.Append(ctx, engine.Changes{Removed: []string{"zone.main"}}); err != nil {
		t.Fatal(err)
	}
	line, err := os.ReadFile(filepath.Join(dir, "today.journal"))
	if err != nil {
		t.Fatal(err)
	}
	if v := versionOf(t, line); v != state.Version {
		t.Errorf("journal line %s written at version %d, want %d", line, v, state.Version)
	}
	reader, _ := state.LocalStore{Dir: dir}.Stack("today")
	if got, err = reader.Load(ctx); err != nil || len(got.Records) != 2 {
		t.Errorf("after the new line: %s, %v", ids(got.State), err)
	}
}

// withVersion returns the JSON object raw with its "version" set to v.
func withVersion(t *testing.T, raw []byte, v int) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	m["version"] = json.RawMessage(fmt.Sprint(v))
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkRefusal checks that err refuses where as a newer format, naming
// both versions.
func checkRefusal(t *testing.T, err error, where string, newer int) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s of format version %d was read", where, newer)
	}
	for _, want := range []string{where, fmt.Sprintf("format version %d", newer), fmt.Sprintf("this meridian's %d", state.Version)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal does not say %q: %v", want, err)
		}
	}
}

// TestNewerLocalStateIsRefused: a state file a newer meridian wrote is
// refused by Load, and no save, by the same backend or a new one, writes
// over it.
func TestNewerLocalStateIsRefused(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "today.json")
	raw, err := os.ReadFile(filepath.Join("testdata", "v1", "today.json"))
	if err != nil {
		t.Fatal(err)
	}
	newer := withVersion(t, raw, state.Version+1)
	if err := os.WriteFile(path, newer, 0o644); err != nil {
		t.Fatal(err)
	}
	b, _ := state.LocalStore{Dir: dir}.Stack("today")
	_, err = b.Load(ctx)
	checkRefusal(t, err, path, state.Version+1)
	checkRefusal(t, b.Save(ctx, fixtureDoc()), path, state.Version+1)
	fresh, _ := state.LocalStore{Dir: dir}.Stack("today")
	checkRefusal(t, fresh.Save(ctx, fixtureDoc()), path, state.Version+1)
	if after, _ := os.ReadFile(path); !bytes.Equal(after, newer) {
		t.Fatalf("the newer state was written over:\n%s", after)
	}
}

// TestNewerLocalJournalLineIsRefused: a journal line a newer meridian
// wrote is refused wherever it is, even last and in a shape today's types
// cannot read (which a torn line would be dropped for), and the journal is
// never cut.
func TestNewerLocalJournalLineIsRefused(t *testing.T) {
	for name, line := range map[string]string{
		"readable": `{"version":%d,"base":1,"put":[{"name":"zone.main","type":"aws:route53:zone","region":"us-east-1","id":"Z999"}]}`,
		"reshaped": `{"version":%d,"base":1,"put":{"zone.main":{"id":"Z999"}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			copyFixture(t, dir, "today.json", "today.journal")
			journal := filepath.Join(dir, "today.journal")
			f, err := os.OpenFile(journal, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(f, line+"\n", state.Version+1)
			f.Close()
			before, _ := os.ReadFile(journal)

			b, _ := state.LocalStore{Dir: dir}.Stack("today")
			_, err = b.Load(ctx)
			checkRefusal(t, err, journal+" line 4", state.Version+1)
			l, err := b.Lock(ctx, "up")
			if err != nil {
				t.Fatal(err)
			}
			defer b.Unlock(ctx, l)
			_, err = b.Load(ctx)
			checkRefusal(t, err, journal+" line 4", state.Version+1)
			checkRefusal(t, b.Append(ctx, engine.Changes{Removed: []string{"bucket.logs"}}), journal+" line 4", state.Version+1)
			if after, _ := os.ReadFile(journal); !bytes.Equal(after, before) {
				t.Fatalf("the journal was changed:\n%s", after)
			}
		})
	}
}

// putFixture uploads the golden S3 objects under prefix, as they are, with
// a client of its own; it returns the keys.
func putFixture(t *testing.T, client *s3.Client, bucket, prefix string) []string {
	t.Helper()
	root := filepath.Join("testdata", "v1", "s3")
	var keys []string
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		key := prefix + "/" + filepath.ToSlash(rel)
		keys = append(keys, key)
		_, err = client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(raw)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 4 {
		t.Fatalf("fixture objects: %v", keys)
	}
	return keys
}

func getObject(t *testing.T, client *s3.Client, bucket, key string) []byte {
	t.Helper()
	out, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	raw, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func listKeys(t *testing.T, client *s3.Client, bucket, prefix string) []string {
	t.Helper()
	out, err := client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

// TestS3Formats loads the S3 backend's objects as written before formats
// were versioned, and refuses a state or journal entry a newer meridian
// wrote, without replacing or removing anything.
func TestS3Formats(t *testing.T) {
	ctx := context.Background()
	const bucket = "meridian-formats"
	client := motoBucket(t, bucket)

	t.Run("today's objects load and are written back at the current version", func(t *testing.T) {
		putFixture(t, client, bucket, "today-load")
		store := state.S3Store{Client: client, Bucket: bucket, Prefix: "today-load"}
		b, _ := store.Stack("today")
		got, err := b.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		checkFixture(t, got, 1)
		holder, _ := store.Stack("today")
		l, err := holder.Lock(ctx, "up")
		if err != nil {
			t.Fatal(err)
		}
		defer holder.Unlock(ctx, l)
		if got, err = holder.Load(ctx); err != nil {
			t.Fatal(err)
		}
		checkFixture(t, got, 2)
		if v := versionOf(t, getObject(t, client, bucket, "today-load/today.json")); v != state.Version {
			t.Errorf("state written back at version %d, want %d", v, state.Version)
		}
		if err := holder.Append(ctx, engine.Changes{Removed: []string{"zone.main"}}); err != nil {
			t.Fatal(err)
		}
		entries := listKeys(t, client, bucket, "today-load/today.journal/")
		if len(entries) != 1 {
			t.Fatalf("journal entries after one append: %v", entries)
		}
		if v := versionOf(t, getObject(t, client, bucket, entries[0])); v != state.Version {
			t.Errorf("journal entry written at version %d, want %d", v, state.Version)
		}
	})

	t.Run("a newer state is refused and never replaced", func(t *testing.T) {
		keys := putFixture(t, client, bucket, "newer-state")
		key := "newer-state/today.json"
		newer := withVersion(t, getObject(t, client, bucket, key), state.Version+1)
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(newer)}); err != nil {
			t.Fatal(err)
		}
		store := state.S3Store{Client: client, Bucket: bucket, Prefix: "newer-state"}
		b, _ := store.Stack("today")
		l, err := b.Lock(ctx, "up")
		if err != nil {
			t.Fatal(err)
		}
		defer b.Unlock(ctx, l)
		where := "s3://" + bucket + "/" + key
		_, err = b.Load(ctx)
		checkRefusal(t, err, where, state.Version+1)
		checkRefusal(t, b.Save(ctx, fixtureDoc()), where, state.Version+1)
		fresh, _ := store.Stack("today")
		checkRefusal(t, fresh.Save(ctx, fixtureDoc()), where, state.Version+1)
		if after := getObject(t, client, bucket, key); !bytes.Equal(after, newer) {
			t.Fatalf("the newer state was written over:\n%s", after)
		}
		if got := listKeys(t, client, bucket, "newer-state/"); len(got) != len(keys)+1 { // + the lock
			t.Fatalf("objects after the refusal: %v", got)
		}
	})

	t.Run("a newer journal entry is refused and nothing is folded", func(t *testing.T) {
		keys := putFixture(t, client, bucket, "newer-entry")
		key := "newer-entry/today.journal/00000000000000000001-0000000002.json"
		newer := withVersion(t, getObject(t, client, bucket, key), state.Version+1)
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(newer)}); err != nil {
			t.Fatal(err)
		}
		stateBefore := getObject(t, client, bucket, "newer-entry/today.json")
		store := state.S3Store{Client: client, Bucket: bucket, Prefix: "newer-entry"}
		b, _ := store.Stack("today")
		l, err := b.Lock(ctx, "up")
		if err != nil {
			t.Fatal(err)
		}
		defer b.Unlock(ctx, l)
		_, err = b.Load(ctx)
		checkRefusal(t, err, "journal entry s3://"+bucket+"/"+key, state.Version+1)
		if after := getObject(t, client, bucket, "newer-entry/today.json"); !bytes.Equal(after, stateBefore) {
			t.Fatalf("the state was rewritten:\n%s", after)
		}
		if got := listKeys(t, client, bucket, "newer-entry/today.journal/"); len(got) != len(keys)-1 {
			t.Fatalf("journal entries after the refusal: %v", got)
		}
	})
}
