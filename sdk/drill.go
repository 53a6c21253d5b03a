package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
	"github.com/meridianhq/terraform-provider-meridian/internal/drill"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
	"github.com/meridianhq/terraform-provider-meridian/internal/stack"
	"github.com/meridianhq/terraform-provider-meridian/internal/state"
)

type (
	// DrillReport is what a drill measured: each step, and the RTO and RPO
	// against the policy's targets.
	DrillReport = drill.Report
	// Lifecycle destroys and recreates the cluster of a region; on the
	// local testbed it is a cluster.Regions.
	Lifecycle = drill.Lifecycle
	// DrillStep is one step of a drill, as its report records it.
	DrillStep = drill.Step
)

// DrillOptions say how to lose and rebuild the primary region.
type DrillOptions struct {
	Lifecycle Lifecycle
	// Log, if set, hears each step as it starts.
	Log func(format string, args ...any)
}

// Drill proves a DR policy on its region pair as this stack deployed it:
// it snapshots the primary region's workload, destroys and recreates the
// primary cluster, restores the snapshot in runbook order, fails DNS over
// and back, and measures the RTO and RPO (see package drill). It holds the
// stack's lock, refuses a pair that is not wholly in the stack's state, and
// keeps the report in the state (Document.Drills) and in the pair's
// secondary bucket. The report is returned even when the drill fails.
func (w *Workspace) Drill(ctx context.Context, policy DRPolicy, opts DrillOptions) (DrillReport, error) {
	p := policy.WithDefaults()
	pair := p.RegionPair
	fail := func(format string, args ...any) (DrillReport, error) {
		return DrillReport{}, fmt.Errorf("drill of DR policy %q: %s", p.Name, fmt.Sprintf(format, args...))
	}
	if ps := p.Validate(); len(ps) > 0 {
		return fail("%v", errors.Join(problems(ps)...))
	}
	rpo, err := blueprint.ParseDuration(p.RPO)
	if err != nil {
		return fail("rpo: %v", err)
	}
	rto, err := blueprint.ParseDuration(p.RTO)
	if err != nil {
		return fail("rto: %v", err)
	}
	switch {
	case pair.Workload == nil:
		return fail("region pair %q has no workload: a drill restores the primary region's workload", pair.Name)
	case w.clusters == nil:
		return fail("no Kubernetes clusters are configured: the drill destroys and restores the cluster of %s", pair.PrimaryRegion)
	case w.cloud == nil:
		return fail("a drill needs AWS, where the snapshot and DNS failover live")
	case opts.Lifecycle == nil:
		return fail("no cluster lifecycle: nothing can destroy and recreate the cluster of %s", pair.PrimaryRegion)
	}
	g, err := compile.RegionPair(pair, w.opts.DefaultTags)
	if err != nil {
		return fail("%v", err)
	}
	runbook, err := compile.MakeRunbook(g, p.RestoreOrder)
	if err != nil {
		return fail("restore_order: %v", err)
	}
	if err := w.connect(ctx); err != nil {
		return fail("%v", err)
	}
	var rep DrillReport
	err = w.withLock(ctx, "drill", func() error {
		doc, err := w.backend.Load(ctx)
		if err != nil {
			return err
		}
		var missing []string
		for _, prim := range g.Primitives {
			if r, ok := doc.Get(stack.PrimitiveName(pair.Name, prim.Name)); !ok || r.Pending != "" {
				missing = append(missing, prim.Name)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("drill of DR policy %q: region pair %q is not deployed in stack %q (%d of its %d primitives are not in the state, such as %s): run meridian up first",
				p.Name, pair.Name, w.opts.Stack, len(missing), len(g.Primitives), missing[0])
		}
		d := &drill.Drill{
			ID: time.Now().UTC().Format("20060102T150405Z"), Pair: pair, Runbook: runbook, RPO: rpo, RTO: rto,
			MaxDeviation: p.Drill.MaxDeviationPercent, Clusters: w.clusters, Cloud: w.cloud, Lifecycle: opts.Lifecycle, Log: opts.Log,
		}
		if pair.DNS != nil {
			r, _ := doc.Get(stack.PrimitiveName(pair.Name, primitive.Route53HealthCheck+".primary"))
			d.HealthCheckID = r.ID
		}
		var runErr error
		rep, runErr = d.Run(ctx)
		if len(rep.Steps) == 0 {
			return runErr // refused before any step: nothing to keep
		}
		return errors.Join(runErr, keep(context.WithoutCancel(ctx), w.backend, doc, rep))
	})
	return rep, err
}

// keep records a drill's report as its pair's latest in the state.
func keep(ctx context.Context, b state.Backend, doc state.Document, rep DrillReport) error {
	raw, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	if doc.Drills == nil {
		doc.Drills = map[string]json.RawMessage{}
	}
	doc.Drills[rep.Pair] = raw
	return b.Save(ctx, doc)
}

func problems(ps []blueprint.Problem) []error {
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = p
	}
	return errs
}
