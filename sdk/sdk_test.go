package sdk_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/cloud/memory"
	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
	"github.com/meridianhq/terraform-provider-meridian/internal/stack"
	"github.com/meridianhq/terraform-provider-meridian/internal/state"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed"
	"github.com/meridianhq/terraform-provider-meridian/sdk"
)

func pair(name string) sdk.RegionPair {
	return sdk.RegionPair{
		Name: name, PrimaryRegion: "us-east-1", SecondaryRegion: "us-west-2",
		ObjectStore: &sdk.ObjectStore{BucketPrefix: "sdk-test-" + name, ForceDestroy: true},
		KVTable:     &sdk.KVTable{HashKey: "id"},
		DNS: &sdk.DNS{ZoneName: name + ".example.com", RecordName: "api",
			PrimaryEndpoint: "a." + name + ".example.com", SecondaryEndpoint: "b." + name + ".example.com"},
		Tags: map[string]string{"service": name},
	}
}

// memoryDrivers serves every AWS primitive type from memory, so that the
// workspace's own logic is tested without a cloud.
func memoryDrivers() (engine.Drivers, *memory.Driver) {
	d := memory.New(0)
	out := engine.Drivers{}
	for _, typ := range []string{primitive.S3Bucket, primitive.S3BucketReplication, primitive.IAMRole, primitive.IAMRolePolicy,
		primitive.DynamoDBTable, primitive.DynamoDBReplica, primitive.Route53Zone, primitive.Route53HealthCheck, primitive.Route53Record, primitive.SSMParameter} {
		out[typ] = d
	}
	return out, d
}

func TestWorkspaceLifecycleInMemory(t *testing.T) {
	ctx := context.Background()
	drivers, mem := memoryDrivers()
	ws, err := sdk.Open(ctx, sdk.Options{Stack: "dev", State: t.TempDir(), Drivers: drivers})
	if err != nil {
		t.Fatal(err)
	}
	prog := func(c *sdk.Context) error {
		c.RegionPair(pair("alpha"))
		c.RegionPair(pair("beta"))
		return nil
	}
	pv, err := ws.Preview(ctx, prog)
	if err != nil {
		t.Fatal(err)
	}
	if pv.Counts[engine.OpCreate] != 24 {
		t.Fatalf("preview counts %v", pv.Counts)
	}
	computed := false
	for _, s := range pv.Steps {
		for _, d := range s.Diffs {
			computed = computed || d.Computed
		}
	}
	if !computed {
		t.Error("no property is marked as known only after apply")
	}
	res, err := ws.Up(ctx, prog, func(ps []sdk.RegionPair) map[string]string {
		return map[string]string{"pairs": fmt.Sprint(len(ps))}
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 24 || mem.Len() != 24 {
		t.Fatalf("records %d, objects %d", res.Records, mem.Len())
	}
	doc, _ := ws.State(ctx)
	if doc.Outputs["pairs"] != "2" {
		t.Errorf("outputs %v", doc.Outputs)
	}
	if pv, _ := ws.Preview(ctx, prog); len(pv.Plan.Changes()) != 0 {
		t.Fatalf("second preview is not empty: %v", pv.Plan.Changes())
	}
	// A tag change is an in-place update with the old and new values.
	changed := func(c *sdk.Context) error {
		a := pair("alpha")
		a.Tags["service"] = "alpha2"
		c.RegionPair(a)
		c.RegionPair(pair("beta"))
		return nil
	}
	pv, _ = ws.Preview(ctx, changed)
	for _, s := range pv.Steps {
		for _, d := range s.Diffs {
			if d.Computed {
				t.Errorf("%s.%s is shown as unknown although the state knows it: %v", s.Name, d.Key, d.New)
			}
		}
	}
	if pv.Counts[engine.OpUpdate] == 0 || pv.Counts[engine.OpCreate] != 0 {
		t.Fatalf("tag change: %v", pv.Counts)
	}
	for _, s := range pv.Steps {
		// The manifest records the blueprint, tags included.
		if !strings.HasPrefix(s.Name, "alpha/") || len(s.Diffs) == 0 || s.Diffs[0].Key != "tags" || (len(s.Diffs) > 1 && s.Diffs[1].Key != "value") {
			t.Fatalf("step %s: %+v", s.Name, s.Diffs)
		}
	}
	// Targets: only beta is destroyed.
	if _, err := ws.Destroy(ctx, "beta"); err != nil {
		t.Fatal(err)
	}
	if mem.Len() != 12 {
		t.Fatalf("after targeted destroy: %d objects", mem.Len())
	}
	if _, err := ws.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
	if mem.Len() != 0 {
		t.Fatalf("after destroy: %d objects", mem.Len())
	}
}

func TestUpFailsFastWhileLocked(t *testing.T) {
	ctx := context.Background()
	drivers, _ := memoryDrivers()
	dir := t.TempDir()
	a, _ := sdk.Open(ctx, sdk.Options{Stack: "dev", State: dir, Drivers: drivers})
	b, _ := sdk.Open(ctx, sdk.Options{Stack: "dev", State: dir, Drivers: drivers})
	l, err := a.Backend().Lock(ctx, "up")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Backend().Unlock(ctx, l)
	start := time.Now()
	_, err = b.Up(ctx, func(c *sdk.Context) error { c.RegionPair(pair("alpha")); return nil }, nil)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("second up: %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("waited %s for a held lock", time.Since(start))
	}
}

func TestWorkspaceAgainstMoto(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("TF_ACC is not set: the moto run of the SDK is an acceptance test")
	}
	ctx := context.Background()
	m := testbed.StartAWSForTest(t) // the strict layer in front with MERIDIAN_STRICT
	ws, err := sdk.Open(ctx, sdk.Options{Stack: "moto", State: t.TempDir(), AWS: sdk.AWS{
		Endpoint: m.Endpoint(), AccessKey: "test", SecretKey: "test", S3UsePathStyle: true, Emulator: true,
	}})
	if err != nil {
		t.Fatal(err)
	}
	prog := func(c *sdk.Context) error { c.RegionPair(pair("gamma")); return nil }
	if _, err := ws.Up(ctx, prog, nil); err != nil {
		t.Fatal(err)
	}
	if pv, err := ws.Preview(ctx, prog); err != nil || len(pv.Plan.Changes()) != 0 {
		t.Fatalf("after up: %v %v", pv.Plan.Changes(), err)
	}
	drifts, _, err := ws.Refresh(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if pv, _ := ws.Preview(ctx, prog); len(pv.Plan.Changes()) != 0 {
		t.Fatalf("after refresh (drifts %v): %v", drifts, pv.Plan.Changes())
	}
	// Import the pair into a second stack from its manifest, then destroy it there.
	other, _ := sdk.Open(ctx, sdk.Options{Stack: "imported", State: t.TempDir(), AWS: sdk.AWS{
		Endpoint: m.Endpoint(), AccessKey: "test", SecretKey: "test", S3UsePathStyle: true, Emulator: true,
	}})
	rp, err := other.Import(ctx, "us-east-1", "gamma")
	if err != nil {
		t.Fatal(err)
	}
	if rp.Name != "gamma" {
		t.Fatalf("imported %+v", rp)
	}
	if pv, _ := other.Preview(ctx, func(c *sdk.Context) error { c.RegionPair(rp); return nil }); len(pv.Plan.Changes()) != 0 {
		t.Fatalf("imported stack plans changes: %v", pv.Plan.Changes())
	}
	if _, err := ws.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestProgramDeclaresEveryKind deploys a region pair and its DR policy from
// a program (in memory): each resource's primitives are named after it, a
// second plan is empty, and one resource can be destroyed by its prefix.
func TestProgramDeclaresEveryKind(t *testing.T) {
	ctx := context.Background()
	rp := pair("gamma")
	dr := sdk.DRPolicy{Name: "gamma", RegionPair: rp, RPO: "15m", RTO: "4h"}
	prog := func(c *sdk.Context) error {
		c.RegionPair(rp)
		c.DRPolicy(dr)
		return nil
	}
	g, err := stack.CompileResources(stack.Resources{RegionPairs: []sdk.RegionPair{rp}, DRPolicies: []sdk.DRPolicy{dr}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	mem, drivers := memory.New(0), engine.Drivers{}
	for _, p := range g.Primitives {
		drivers[p.Type] = mem
	}
	ws, err := sdk.Open(ctx, sdk.Options{Stack: "dev", State: t.TempDir(), Drivers: drivers})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ws.Up(ctx, prog, nil); err != nil {
		t.Fatal(err)
	}
	count := func() map[string]int {
		doc, err := ws.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n := map[string]int{}
		for _, r := range doc.Records {
			n[strings.SplitN(r.Name, "/", 2)[0]]++
		}
		return n
	}
	if n := count(); n["gamma"] != 12 || n["meridian_dr_policy.gamma"] == 0 || len(n) != 2 {
		t.Fatalf("records by resource after up: %v", n)
	}
	pv, err := ws.Preview(ctx, prog)
	if err != nil || len(pv.Plan.Changes()) != 0 {
		t.Fatalf("second preview: %v changes, %v", pv.Counts, err)
	}
	if _, err := ws.Destroy(ctx, "meridian_dr_policy.gamma"); err != nil {
		t.Fatal(err)
	}
	if n := count(); n["gamma"] != 12 || n["meridian_dr_policy.gamma"] != 0 {
		t.Fatalf("records by resource after destroying the DR policy: %v", n)
	}
}

// TestImportOfANewerStateIsRefused: a document a newer meridian exported
// is refused, naming both versions, and the stack keeps its state.
func TestImportOfANewerStateIsRefused(t *testing.T) {
	ctx := context.Background()
	drivers, _ := memoryDrivers()
	ws, err := sdk.Open(ctx, sdk.Options{Stack: "dev", State: t.TempDir(), Drivers: drivers})
	if err != nil {
		t.Fatal(err)
	}
	kept := state.Document{State: engine.State{Records: []engine.Record{{Name: "kept", Type: "t", Region: "r", ID: "1"}}}}
	if err := ws.ImportState(ctx, kept); err != nil {
		t.Fatal(err)
	}
	newer := state.Document{Version: state.Version + 1, State: engine.State{Records: []engine.Record{{Name: "new", Type: "t", Region: "r", ID: "2"}}}}
	err = ws.ImportState(ctx, newer)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("format version %d, newer than this meridian's %d", state.Version+1, state.Version)) {
		t.Fatalf("import of a newer document: %v", err)
	}
	doc, err := ws.State(ctx)
	if err != nil || len(doc.Records) != 1 || doc.Records[0].Name != "kept" || doc.Version != state.Version {
		t.Fatalf("state after the refused import: %+v, %v", doc, err)
	}
}
