package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/meridianhq/terraform-provider-meridian/internal/drill"
	"github.com/meridianhq/terraform-provider-meridian/internal/stack"
	"github.com/meridianhq/terraform-provider-meridian/sdk"
)

func drillCmd(f *flags) *cobra.Command {
	var (
		testbed string
		last    bool
	)
	c := &cobra.Command{
		Use:   "drill [LABEL] --testbed DIR | --last",
		Short: "Drill a DR policy: destroy the primary region's cluster for real, restore it in runbook order, measure RTO and RPO",
		Long: `Drill the meridian_dr_policy of the given label (or the stack's only one) on
its region pair as this stack deployed it (meridian up first):

  1. write a canary into the primary region's workload namespace, then
     snapshot the namespace's objects into the pair's secondary bucket;
  2. fail DNS over to the secondary (the primary's health check is inverted);
  3. destroy the primary region's cluster and create a fresh, empty one;
  4. restore the snapshot in the policy's runbook order, wait until the
     workload is Available, fail DNS back;
  5. check every restored object against the snapshot, and measure the RTO
     (outage start to service ready) and the RPO (age at the outage of the
     newest write that came back) against the policy's targets.

Only clusters marked as drill targets (label meridian.io/drill-target=true on
their kube-system namespace) are touched, and whatever step fails, the
cluster is recreated and DNS failed back. Clusters are destroyed and
recreated by the lifecycle executable in the --testbed folder, run as
"lifecycle destroy CONTEXT" and "lifecycle recreate CONTEXT" with the
primary's context in the stack's kubernetes config; exit 0 means done, and
its output goes into the drill's log. make clusters writes one into
.testbed/clusters for the local clusters; write your own to drill others.

The report is kept in the stack's state (the pair's latest drill), in the
secondary bucket (meridian/drills/), and printed as a table or, with --json,
as one JSON event; --last prints the kept one again. The command exits 1
when the drill fails or misses its targets by more than the policy's
drill.max_deviation_percent.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if testbed == "" && !last {
				return errors.New("--testbed DIR is required: a drill destroys and recreates the primary region's cluster through DIR/lifecycle (make clusters writes one into .testbed/clusters for the local clusters)")
			}
			p, err := open(cmd, f, true)
			if err != nil {
				return err
			}
			p.live = nil // a drill has no engine steps to draw
			policies, err := selectPolicies(p.st, args)
			if err != nil {
				return err
			}
			if len(policies) > 1 {
				return fmt.Errorf("the stack declares %d %s (%s): name the one to drill", len(policies), stack.DRPolicyType, strings.TrimPrefix(drLabels(p.st), "it has "))
			}
			policy := policies[0]
			if last {
				return p.lastDrill(cmd.Context(), policy)
			}
			contexts := map[string]string{}
			for region, c := range p.st.Kubernetes {
				contexts[region] = c.Context
			}
			pair := policy.Blueprint.RegionPair
			log := func(format string, args ...any) {
				if f.json {
					p.emit(map[string]any{"event": "progress", "resource": policy.Address(), "message": fmt.Sprintf(format, args...)})
				} else {
					p.printf(format+"\n", args...)
				}
			}
			lifecycle, err := drill.NewExecutable(testbed, contexts, log)
			if err != nil {
				return fmt.Errorf("--testbed %s: %w (start the clusters with make clusters, or put your own %s executable there)", testbed, err, drill.LifecycleFile)
			}
			if err := p.confirm(cmd, fmt.Sprintf("Destroy the cluster of %s (context %q) for real and restore it?", pair.PrimaryRegion, contexts[pair.PrimaryRegion])); err != nil {
				return err
			}
			rep, err := p.ws.Drill(cmd.Context(), policy.Blueprint, sdk.DrillOptions{Lifecycle: lifecycle, Log: log})
			if len(rep.Steps) == 0 {
				return err
			}
			return errors.Join(err, p.showDrill(policy, rep, err == nil))
		},
	}
	c.Flags().StringVar(&testbed, "testbed", "", "folder whose lifecycle executable destroys and recreates the primary's cluster (make clusters writes .testbed/clusters)")
	c.Flags().BoolVar(&last, "last", false, "print the latest drill report kept in the stack's state instead of drilling (exit 1 if that drill did not pass)")
	return f.with(c, withJSON|withYes)
}

// showDrill prints a drill's report and, if ran to its end without an
// error (judge), returns an error when the drill missed its targets.
func (p *project) showDrill(policy stack.DRPolicy, rep sdk.DrillReport, judge bool) error {
	if p.f.json {
		p.emit(map[string]any{"event": "drill", "resource": policy.Address(), "estimated_rto": policy.Runbook.Estimate, "report": rep})
	} else {
		writeDrillReport(p.out, rep, policy.Runbook.Estimate)
	}
	if judge && !rep.Passed {
		return fmt.Errorf("the drill of %s missed its targets: RTO %s (target %s), RPO %s (target %s), restored objects identical: %v",
			policy.Address(), orNone(rep.MeasuredRTO), rep.TargetRTO, orNone(rep.MeasuredRPO), rep.TargetRPO, rep.Identical)
	}
	return nil
}

// lastDrill shows the policy's pair's latest drill, as the state keeps it.
func (p *project) lastDrill(ctx context.Context, policy stack.DRPolicy) error {
	doc, err := p.ws.State(ctx)
	if err != nil {
		return err
	}
	pair := policy.Blueprint.RegionPair.Name
	raw, ok := doc.Drills[pair]
	if !ok {
		return fmt.Errorf("stack %s keeps no drill of region pair %q: run meridian drill %s --testbed DIR", p.name, pair, policy.Label)
	}
	var rep sdk.DrillReport
	if err := json.Unmarshal(raw, &rep); err != nil {
		return fmt.Errorf("the drill report of %q in stack %s: %w", pair, p.name, err)
	}
	return p.showDrill(policy, rep, true)
}

// checkMeasured holds the stack's DR policies to the RTO their pairs' last
// drills measured, which meridian drill keeps in the state: a policy whose
// target a drill has already missed does not plan.
func (p *project) checkMeasured(ctx context.Context) error {
	doc, err := p.ws.State(ctx)
	if err != nil {
		return err
	}
	measured := map[string]string{}
	for pair, raw := range doc.Drills {
		var rep sdk.DrillReport
		if json.Unmarshal(raw, &rep) == nil {
			measured[pair] = rep.MeasuredRTO
		}
	}
	if diags := p.st.CheckMeasured(measured); diags.HasErrors() {
		return fmt.Errorf("the stack has errors:\n%s", strings.TrimRight(stack.FormatDiagnostics(diags), "\n"))
	}
	return nil
}

// writeDrillReport prints the measurements next to the targets, then the steps.
func writeDrillReport(out io.Writer, rep sdk.DrillReport, estimate string) {
	verdict := map[bool]string{true: "passed", false: "FAILED"}[rep.Passed]
	fmt.Fprintf(out, "\ndrill %s of region pair %s (%s): %s\n", rep.ID, rep.Pair, rep.Region, verdict)
	fmt.Fprintf(out, "%-4s%10s  %8s\n", "", "measured", "target")
	fmt.Fprintf(out, "%-4s%10s  %8s\n", "RTO", orNone(rep.MeasuredRTO), rep.TargetRTO)
	fmt.Fprintf(out, "%-4s%10s  %8s\n", "RPO", orNone(rep.MeasuredRPO), rep.TargetRPO)
	fmt.Fprintf(out, "design estimate of the RTO: %s\n", estimate)
	fmt.Fprintf(out, "restored objects: %d, identical to the snapshot: %v\n", rep.Restored, rep.Identical)
	for _, m := range rep.Mismatch {
		fmt.Fprintf(out, "  differs: %s\n", m)
	}
	fmt.Fprintln(out)
	var steps strings.Builder
	tw := tabwriter.NewWriter(&steps, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "STEP\tGROUP\tDURATION\tERROR\n")
	for _, s := range rep.Steps {
		group := ""
		if s.Group > 0 {
			group = fmt.Sprint(s.Group)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, group, s.Duration, s.Error)
	}
	tw.Flush()
	for _, line := range strings.Split(strings.TrimSuffix(steps.String(), "\n"), "\n") {
		fmt.Fprintln(out, strings.TrimRight(line, " "))
	}
	if len(rep.NotExercised) > 0 {
		fmt.Fprintln(out, "\nnot exercised on this testbed:")
		for _, n := range rep.NotExercised {
			fmt.Fprintf(out, "  - %s\n", n)
		}
	}
	if rep.Error != "" {
		fmt.Fprintf(out, "\nerror: %s\n", rep.Error)
	}
}

func orNone(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
