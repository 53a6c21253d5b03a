package state_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/meridianhq/terraform-provider-meridian/internal/cloud/memory"
	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
	"github.com/meridianhq/terraform-provider-meridian/internal/state"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed"
)

func TestLocal(t *testing.T) {
	testStore(t, state.LocalStore{Dir: t.TempDir()})
}

// motoBucket starts moto, stopped when tb ends, and makes bucket in it.
func motoBucket(tb testing.TB, bucket string) *s3.Client {
	tb.Helper()
	testbed.RequireTool(tb, "moto_server")
	ctx := context.Background()
	m, err := testbed.StartMoto(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = m.Stop() })
	client := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(m.Endpoint()), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		tb.Fatal(err)
	}
	return client
}

func TestS3(t *testing.T) {
	ctx := context.Background()
	client := motoBucket(t, "meridian-state")
	store := state.S3Store{Client: client, Bucket: "meridian-state", Prefix: "team/stacks"}
	testStore(t, store)

	t.Run("a writer that lost its lock cannot overwrite the state", func(t *testing.T) {
		a, _ := store.Stack("shared")
		b, _ := store.Stack("shared")
		if _, err := a.Load(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Load(ctx); err != nil {
			t.Fatal(err)
		}
		if err := b.Save(ctx, state.Document{}); err != nil {
			t.Fatal(err)
		}
		err := a.Save(ctx, state.Document{})
		if err == nil || !strings.Contains(err.Error(), "changed by another run") || !errors.Is(err, state.ErrLockLost) {
			t.Fatalf("stale writer saved over a newer state, or not with ErrLockLost: %v", err)
		}
	})

	journal := func(stack string) []s3types.Object {
		out, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("meridian-state"), Prefix: aws.String("team/stacks/" + stack + ".journal/")})
		if err != nil {
			t.Fatal(err)
		}
		return out.Contents
	}
	stateETag := func(stack string) string {
		out, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("meridian-state"), Key: aws.String("team/stacks/" + stack + ".json")})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.ETag)
	}
	t.Run("the journal costs the changes, not the state", func(t *testing.T) {
		b, _ := store.Stack("big")
		var d state.Document
		for i := range 500 {
			d.Records = append(d.Records, engine.Record{Name: fmt.Sprintf("obj.%03d", i), Type: "t", Region: "r", ID: fmt.Sprintf("id-%03d", i), Inputs: map[string]any{"payload": strings.Repeat("x", 100)}})
		}
		if err := b.Save(ctx, d); err != nil {
			t.Fatal(err)
		}
		before := stateETag("big")
		for i := range 3 {
			if err := b.Append(ctx, engine.Changes{Put: []engine.Record{{Name: fmt.Sprintf("new.%d", i), Type: "t", Region: "r", ID: "id-new"}}}); err != nil {
				t.Fatal(err)
			}
		}
		entries := journal("big")
		if len(entries) != 3 || stateETag("big") != before {
			t.Fatalf("%d journal objects, state rewritten: %v", len(entries), stateETag("big") != before)
		}
		for _, o := range entries {
			if aws.ToInt64(o.Size) > 512 {
				t.Errorf("journal entry %s is %d bytes for one record", aws.ToString(o.Key), aws.ToInt64(o.Size))
			}
		}
		reader, _ := store.Stack("big")
		got, err := reader.Load(ctx)
		if err != nil || len(got.Records) != 503 || got.Serial != 1 || len(journal("big")) != 3 {
			t.Fatalf("load without the lock: %d records, serial %d, %d journal objects, %v", len(got.Records), got.Serial, len(journal("big")), err)
		}
		holder, _ := store.Stack("big")
		l, err := holder.Lock(ctx, "up")
		if err != nil {
			t.Fatal(err)
		}
		defer holder.Unlock(ctx, l)
		got, err = holder.Load(ctx)
		if err != nil || len(got.Records) != 503 || got.Serial != 2 || len(journal("big")) != 0 {
			t.Fatalf("load with the lock: %d records, serial %d, %d journal objects left, %v", len(got.Records), got.Serial, len(journal("big")), err)
		}
	})
	t.Run("a writer that lost its lock cannot journal over the new state", func(t *testing.T) {
		a, _ := store.Stack("taken")
		if _, err := a.Lock(ctx, "up"); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Load(ctx); err != nil {
			t.Fatal(err)
		}
		if err := a.Append(ctx, engine.Changes{Put: []engine.Record{{Name: "early", Type: "t", Region: "r", ID: "1"}}}); err != nil {
			t.Fatal(err)
		}
		b, _ := store.Stack("taken")
		if err := b.BreakLock(ctx); err != nil {
			t.Fatal(err)
		}
		lb, err := b.Lock(ctx, "up")
		if err != nil {
			t.Fatal(err)
		}
		defer b.Unlock(ctx, lb)
		if d, err := b.Load(ctx); err != nil || len(d.Records) != 1 {
			t.Fatalf("the new holder's load: %+v, %v", d.Records, err)
		}
		err = a.Append(ctx, engine.Changes{Put: []engine.Record{{Name: "late", Type: "t", Region: "r", ID: "2"}}})
		if err == nil || !strings.Contains(err.Error(), "changed by another run") {
			t.Fatalf("stale writer journalled over a newer state: %v", err)
		}
		c, _ := store.Stack("taken")
		if d, err := c.Load(ctx); err != nil || len(d.Records) != 1 || d.Records[0].Name != "early" {
			t.Fatalf("state after the stale write: %+v, %v", d.Records, err)
		}
	})
}

// testStore is the contract every backend keeps.
func testStore(t *testing.T, store state.Store) {
	ctx := context.Background()
	t.Run("load of a new stack is empty; save and load round trip", func(t *testing.T) {
		b, err := store.Stack("dev")
		if err != nil {
			t.Fatal(err)
		}
		d, err := b.Load(ctx)
		if err != nil || len(d.Records) != 0 || d.Serial != 0 {
			t.Fatalf("new stack: %+v, %v", d, err)
		}
		d.Records = []engine.Record{{Name: "a", Type: "t", Region: "r", ID: "id-a", Inputs: map[string]any{"x": "1"}}}
		d.Outputs = map[string]string{"k": "v"}
		d.Drills = map[string]json.RawMessage{"orders": json.RawMessage(`{"passed":true}`)}
		for range 3 {
			if err := b.Save(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		again, _ := store.Stack("dev")
		got, err := again.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got.Serial != 3 || got.Stack != "dev" || len(got.Records) != 1 || got.Records[0].ID != "id-a" || got.Outputs["k"] != "v" {
			t.Fatalf("round trip: %+v", got)
		}
		var drill struct{ Passed bool }
		if err := json.Unmarshal(got.Drills["orders"], &drill); err != nil || !drill.Passed {
			t.Fatalf("drill report after the round trip: %s (%v)", got.Drills["orders"], err)
		}
		names, err := store.Stacks(ctx)
		if err != nil || len(names) != 1 || names[0] != "dev" {
			t.Fatalf("stacks: %v %v", names, err)
		}
	})
	t.Run("lock is exclusive and names its holder", func(t *testing.T) {
		a, _ := store.Stack("locked")
		b, _ := store.Stack("locked")
		var wg sync.WaitGroup
		locks := make([]state.Lock, 8)
		errs := make([]error, 8)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				be := a
				if i%2 == 1 {
					be = b
				}
				locks[i], errs[i] = be.Lock(ctx, fmt.Sprintf("up #%d", i))
			}()
		}
		wg.Wait()
		winners := 0
		var held state.Lock
		for i, err := range errs {
			if err == nil {
				winners++
				held = locks[i]
				continue
			}
			var le *state.LockedError
			if !errors.As(err, &le) {
				t.Fatalf("loser %d: not a LockedError: %v", i, err)
			}
			if !strings.Contains(err.Error(), "@") || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
				t.Fatalf("loser %d: does not name the holder: %v", i, err)
			}
		}
		if winners != 1 {
			t.Fatalf("%d runs took the lock at once", winners)
		}
		if got, ok, err := b.ReadLock(ctx); err != nil || !ok || got.ID != held.ID {
			t.Fatalf("read lock: %+v %v %v", got, ok, err)
		}
		if err := b.Unlock(ctx, state.Lock{ID: "someone-else"}); err == nil {
			t.Fatal("unlocked with a lock it does not hold")
		}
		if err := a.Unlock(ctx, held); err != nil {
			t.Fatal(err)
		}
		l, err := b.Lock(ctx, "destroy")
		if err != nil {
			t.Fatalf("lock after unlock: %v", err)
		}
		if err := b.Unlock(ctx, l); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a stale lock is reported and kept until broken", func(t *testing.T) {
		b, _ := store.Stack("stale")
		// A child process takes the lock and dies without releasing it.
		dead := deadPID(t)
		l, err := b.Lock(ctx, "up")
		if err != nil {
			t.Fatal(err)
		}
		l.PID = dead
		if why := l.Stale(time.Now()); !strings.Contains(why, "not running") {
			t.Fatalf("dead holder not reported: %q", why)
		}
		le := &state.LockedError{Stack: "stale", Where: b.Where(), Lock: l}
		if !strings.Contains(le.Error(), "looks stale") || !strings.Contains(le.Error(), "meridian stack unlock") {
			t.Fatalf("message: %s", le.Error())
		}
		if _, err := b.Lock(ctx, "up"); err == nil {
			t.Fatal("a second lock was taken while the first was held")
		}
		if err := b.BreakLock(ctx); err != nil {
			t.Fatal(err)
		}
		if err := b.BreakLock(ctx); err == nil {
			t.Fatal("breaking an absent lock should say it is not locked")
		}
		l2, err := b.Lock(ctx, "up")
		if err != nil {
			t.Fatal(err)
		}
		_ = b.Unlock(ctx, l2)
	})
	t.Run("the engine's journal saves every change", func(t *testing.T) {
		b, _ := store.Stack("journal")
		doc, err := b.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var g primitive.Graph
		for i := range 5 {
			g.Primitives = append(g.Primitives, primitive.Primitive{Name: fmt.Sprintf("obj.%d", i), Type: memory.Type, Region: "local", Properties: map[string]any{"key": fmt.Sprint(i)}})
		}
		drv := memory.New(0)
		var saved []int
		e := &engine.Engine{Drivers: engine.Drivers{memory.Type: drv}}
		journal := state.Journal(ctx, b, &doc)
		e.Journal = func(entry engine.JournalEntry) error {
			if err := journal(entry); err != nil {
				return err
			}
			reread, _ := store.Stack("journal")
			d, err := reread.Load(ctx)
			if err != nil {
				return err
			}
			saved = append(saved, len(d.Records))
			return nil
		}
		p, err := engine.Diff(g, doc.State, e.Drivers)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Apply(ctx, p, &doc.State); err != nil {
			t.Fatal(err)
		}
		// At most one save before and one after each create (the engine
		// groups changes made while a save is in flight), the last complete.
		if len(saved) == 0 || len(saved) > 10 || saved[len(saved)-1] != 5 {
			t.Fatalf("saves: %v", saved)
		}
		reread, _ := store.Stack("journal")
		d, _ := reread.Load(ctx)
		for _, r := range d.Records {
			if r.Pending != "" || r.ID == "" {
				t.Fatalf("record not complete: %+v", r)
			}
		}
	})
}

func deadPID(t *testing.T) int {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func TestLocalSaveLeavesNoTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	b, _ := state.LocalStore{Dir: dir}.Stack("x")
	for range 5 {
		if err := b.Save(context.Background(), state.Document{}); err != nil {
			t.Fatal(err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "x.json" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("files: %v", names)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.json")); err != nil {
		t.Fatal(err)
	}
}

func TestStackNames(t *testing.T) {
	for _, bad := range []string{"", "..", "a/b", "-x", strings.Repeat("a", 64)} {
		if _, err := (state.LocalStore{Dir: t.TempDir()}).Stack(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
