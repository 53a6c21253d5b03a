package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
	"github.com/meridianhq/terraform-provider-meridian/internal/deploy"
	"github.com/meridianhq/terraform-provider-meridian/internal/drill"
	"github.com/meridianhq/terraform-provider-meridian/internal/stack"
	"github.com/meridianhq/terraform-provider-meridian/internal/state"
)

type (
	// DrillReport is what a drill measured: each step, and the RTO and RPO
	// against the policy's targets.
	DrillReport = drill.Report
	// Lifecycle destroys and recreates the cluster of a region (the CLI
	// and the provider run a folder's lifecycle executable).
	Lifecycle = drill.Lifecycle
	// DrillStep is one step of a drill, as its report records it.
	DrillStep = drill.Step
)

// DrillOptions say how to lose and rebuild the primary region.
type DrillOptions struct {
	// Lifecycle destroys and recreates the primary's cluster; only the
	// cluster scope needs it.
	Lifecycle Lifecycle
	// Scope ("namespace", the default, or "cluster"), OutageAt ("worst",
	// "random", "now") and TimeCompression (the backup schedule run that
	// many times faster) override the policy's drill block when set.
	Scope           string
	OutageAt        string
	TimeCompression float64
	// Log, if set, hears each step as it starts.
	Log func(format string, args ...any)
}

// Drill proves a DR policy on its region pair as this stack deployed it:
// a writer writes records while backups run on the policy's schedule, the
// primary's table and workload are destroyed and restored from the newest
// recovery point in the secondary region, DNS fails over and back, and the
// RTO and RPO are measured against the data (see package drill). It holds the
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
	if err := w.connect(ctx); err != nil {
		return fail("%v", err)
	}
	d, err := deploy.PrepareDrill(p, deploy.DrillEnv{Cloud: w.cloud, Clusters: w.clusters, Lifecycle: opts.Lifecycle, DefaultTags: w.opts.DefaultTags, Log: opts.Log,
		Scope: opts.Scope, OutageAt: opts.OutageAt, TimeCompression: opts.TimeCompression})
	if err != nil {
		return fail("%v", err)
	}
	g, err := compile.RegionPair(pair, w.opts.DefaultTags)
	if err != nil {
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
		if err := deploy.HealthCheck(ctx, d); err != nil {
			return fmt.Errorf("drill of DR policy %q: %w", p.Name, err)
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
