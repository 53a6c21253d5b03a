package sdk_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/meridianhq/terraform-provider-meridian/sdk"
)

// TestDrillRefusals checks what a drill refuses before it touches any
// cluster: it needs clusters, a workload, a lifecycle and a deployed pair,
// and a refusal leaves the stack unlocked with no report. The clusters and
// AWS named here are unreachable addresses: reaching either fails the test.
// (test/ runs real drills on real clusters.)
func TestDrillRefusals(t *testing.T) {
	ctx := context.Background()
	state := t.TempDir()
	unreachable := sdk.AWS{Endpoint: "http://127.0.0.1:1", AccessKey: "test", SecretKey: "test", SkipCredentialsValidation: true, Emulator: true}
	clusters := map[string]sdk.Cluster{"us-east-1": {Host: "https://127.0.0.1:1"}, "us-west-2": {Host: "https://127.0.0.1:2"}}
	withWorkload := pair("orders")
	withWorkload.Workload = &sdk.Workload{Image: "orders:1"}
	policy := func(rp sdk.RegionPair) sdk.DRPolicy {
		return sdk.DRPolicy{Name: "orders", RegionPair: rp, RPO: "15m", RTO: "4h"}
	}
	var lifecycle sdk.Lifecycle = unreachableLifecycle{}

	open := func(k map[string]sdk.Cluster) *sdk.Workspace {
		ws, err := sdk.Open(ctx, sdk.Options{Stack: "dev", State: state, AWS: unreachable, Kubernetes: k})
		if err != nil {
			t.Fatal(err)
		}
		return ws
	}
	cases := []struct {
		name      string
		ws        *sdk.Workspace
		policy    sdk.DRPolicy
		lifecycle sdk.Lifecycle
		want      string
		opts      sdk.DrillOptions
	}{
		{"no workload", open(clusters), policy(pair("orders")), lifecycle, `region pair "orders" has no workload`, sdk.DrillOptions{}},
		{"no clusters", open(nil), policy(withWorkload), lifecycle, "no Kubernetes clusters are configured", sdk.DrillOptions{}},
		{"no lifecycle", open(clusters), policy(withWorkload), nil, "the cluster scope destroys and recreates the cluster of us-east-1, and nothing can", sdk.DrillOptions{Scope: "cluster"}},
		{"unknown outage point", open(clusters), policy(withWorkload), lifecycle, `outage_at "later"`, sdk.DrillOptions{OutageAt: "later"}},
		{"time compression below 1", open(clusters), policy(withWorkload), lifecycle, "time_compression 0.5", sdk.DrillOptions{TimeCompression: 0.5}},
		{"swapped targets", open(clusters), sdk.DRPolicy{Name: "orders", RegionPair: withWorkload, RPO: "1d", RTO: "5m"}, lifecycle, "RPO and RTO look swapped", sdk.DrillOptions{}},
		{"not deployed", open(clusters), policy(withWorkload), lifecycle, `region pair "orders" is not deployed in stack "dev"`, sdk.DrillOptions{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts := c.opts
			opts.Lifecycle = c.lifecycle
			rep, err := c.ws.Drill(ctx, c.policy, opts)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `DR policy "orders"`) {
				t.Fatalf("drill: %v, want an error about %q", err, c.want)
			}
			if len(rep.Steps) != 0 {
				t.Errorf("a refused drill ran steps: %+v", rep.Steps)
			}
			doc, err := c.ws.State(ctx)
			if err != nil || len(doc.Drills) != 0 {
				t.Errorf("state after a refusal: %+v, %v", doc.Drills, err)
			}
			if l, err := c.ws.Backend().Lock(ctx, "check"); err != nil {
				t.Errorf("the stack stayed locked: %v", err)
			} else if err := c.ws.Backend().Unlock(ctx, l); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// unreachableLifecycle is a lifecycle that a refused drill must not reach.
type unreachableLifecycle struct{}

func (unreachableLifecycle) Destroy(context.Context, string) error {
	return errors.New("a refused drill destroyed a cluster")
}

func (unreachableLifecycle) Recreate(context.Context, string) error {
	return errors.New("a refused drill recreated a cluster")
}
