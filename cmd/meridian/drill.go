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
		testbed     string
		last        bool
		scope       string
		outageAt    string
		compression float64
		markdown    bool
	)
	c := &cobra.Command{
		Use:   "drill [LABEL] [--scope namespace|cluster --testbed DIR] [--outage-at worst|random|now] [--time-compression N] | --last",
		Short: "Drill a DR policy: lose the primary region's data and workload for real, restore them from the secondary region, measure RTO and RPO against the data",
		Long: `Drill the meridian_dr_policy of the given label (or the stack's only one) on
its region pair as this stack deployed it (meridian up first):

  1. a writer puts timestamped records into the pair's table at a steady
     rate for the whole drill;
  2. backups run on the policy's schedule (AWS Backup jobs copied to the
     secondary vault), faster by --time-compression (say 720: an hour in
     5 s), and the workload's objects are snapshotted into the secondary
     bucket;
  3. the outage strikes at --outage-at: worst (just before the next
     recovery point would land), random, or now (right after the first);
  4. DNS fails over (the primary's health check is inverted) and what a
     client is answered is observed (Route 53 TestDNSAnswer); the table
     and the workload's namespace (--scope namespace, the default) or its
     whole cluster (--scope cluster) are destroyed;
  5. the table is restored from the newest recovery point in the secondary
     region at the outage, the workload from the secondary bucket in runbook
     order; DNS fails back;
  6. RPO = outage minus the newest write in the restored table (scaled back
     by the compression), RTO = outage until data, workload and DNS are
     back; the writes lost are counted.

Only clusters marked as drill targets (label meridian.io/drill-target=true on
their kube-system namespace) are touched, and whatever step fails, the
workload and table are restored and DNS failed back. The namespace scope
needs only the stack's kubeconfig context. The cluster scope destroys and
recreates the cluster with the lifecycle executable in the --testbed folder,
run as "lifecycle destroy CONTEXT" and "lifecycle recreate CONTEXT"; exit 0
means done, and its output goes into the drill's log. make clusters writes
one into .testbed/clusters for the local clusters.

The report is kept in the stack's state (the pair's latest drill), in the
secondary bucket (meridian/drills/), and printed as a table or, with --json,
as one JSON event; --last prints the kept one again. The command exits 1
when the drill fails or misses its targets by more than the policy's
drill.max_deviation_percent.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if scope == drill.ScopeCluster && testbed == "" && !last {
				return errors.New("--scope cluster needs --testbed DIR: the drill destroys and recreates the primary region's cluster through DIR/lifecycle (make clusters writes one into .testbed/clusters for the local clusters)")
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
			var lifecycle drill.Lifecycle
			what := fmt.Sprintf("the namespace %s and the table of %s (context %q)", pair.Name, pair.PrimaryRegion, contexts[pair.PrimaryRegion])
			if testbed != "" {
				exe, err := drill.NewExecutable(testbed, contexts, log)
				if err != nil {
					return fmt.Errorf("--testbed %s: %w (start the clusters with make clusters, or put your own %s executable there)", testbed, err, drill.LifecycleFile)
				}
				lifecycle = exe
			}
			if scope == drill.ScopeCluster {
				what = fmt.Sprintf("the cluster and the table of %s (context %q)", pair.PrimaryRegion, contexts[pair.PrimaryRegion])
			}
			if err := p.confirm(cmd, fmt.Sprintf("Destroy %s for real and restore them?", what)); err != nil {
				return err
			}
			rep, err := p.ws.Drill(cmd.Context(), policy.Blueprint, sdk.DrillOptions{Lifecycle: lifecycle, Log: log, Scope: scope, OutageAt: outageAt, TimeCompression: compression})
			if len(rep.Steps) == 0 {
				return err
			}
			return errors.Join(err, p.showDrill(policy, rep, err == nil, markdown))
		},
	}
	c.Flags().StringVar(&testbed, "testbed", "", "folder whose lifecycle executable destroys and recreates the primary's cluster, for --scope cluster (make clusters writes .testbed/clusters)")
	c.Flags().StringVar(&scope, "scope", "", "what the drill destroys: namespace (the workload's namespace; the default) or cluster (the whole cluster, through --testbed); overrides the policy's drill.scope")
	c.Flags().StringVar(&outageAt, "outage-at", "", "where in the backup cycle the outage strikes: worst (default), random or now; overrides the policy's drill.outage_at")
	c.Flags().Float64Var(&compression, "time-compression", 0, "run the backup schedule this many times faster (720 runs 1h as 5s); shown in the report; overrides the policy's drill.time_compression")
	c.Flags().BoolVar(&markdown, "markdown", false, "also print the report as a Markdown section (for the architecture document)")
	c.Flags().BoolVar(&last, "last", false, "print the latest drill report kept in the stack's state instead of drilling (exit 1 if that drill did not pass)")
	return f.with(c, withJSON|withYes)
}

// showDrill prints a drill's report and, if ran to its end without an
// error (judge), returns an error when the drill missed its targets.
func (p *project) showDrill(policy stack.DRPolicy, rep sdk.DrillReport, judge, markdown bool) error {
	if p.f.json {
		p.emit(map[string]any{"event": "drill", "resource": policy.Address(), "estimated_rto": policy.Runbook.Estimate, "report": rep})
	} else {
		writeDrillReport(p.out, rep, policy.Runbook.Estimate)
		if markdown {
			fmt.Fprintln(p.out, "\n"+rep.Markdown())
		}
	}
	if judge && !rep.Passed {
		why := strings.Join(rep.Failed, "; ")
		if why == "" { // a report kept before reports listed why
			why = "it missed its targets"
		}
		return fmt.Errorf("the drill of %s failed: %s", policy.Address(), why)
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
		return fmt.Errorf("stack %s keeps no drill of region pair %q: run meridian drill %s", p.name, pair, policy.Label)
	}
	var rep sdk.DrillReport
	if err := json.Unmarshal(raw, &rep); err != nil {
		return fmt.Errorf("the drill report of %q in stack %s: %w", pair, p.name, err)
	}
	return p.showDrill(policy, rep, true, false)
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
	fmt.Fprintf(out, "scope: %s, outage at: %s", orNone(rep.Scope), orNone(rep.OutageAt))
	if rep.TimeCompression > 1 {
		fmt.Fprintf(out, ", backup schedule %s run %g times faster (RPO scaled back; %s as measured)", rep.BackupSchedule, rep.TimeCompression, orNone(rep.MeasuredRPOWall))
	}
	fmt.Fprintln(out)
	if rp := rep.RecoveryPoint; rp != nil {
		fmt.Fprintf(out, "recovery point used: %s (vault %s, %s), %s old at the outage\n", rp.ARN, rp.Vault, rp.Region, rp.Age)
	}
	if w := rep.Writes; w != nil {
		fmt.Fprintf(out, "writes: %d at %g/s, %d restored, %d lost", w.Written, w.Rate, w.Restored, w.Lost)
		if w.Lost > 0 {
			fmt.Fprintf(out, " (%s .. %s)", w.FirstLostKey, w.LastLostKey)
		}
		fmt.Fprintln(out)
	}
	if f := rep.Failover; f != nil {
		fmt.Fprintf(out, "DNS failover observed: %v (answered %s during the outage, %s after)\n", f.Observed, orNone(strings.Join(f.Outage, ",")), orNone(strings.Join(f.Restored, ",")))
	}
	for _, f := range rep.Failed {
		fmt.Fprintf(out, "FAILED: %s\n", f)
	}
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
	if len(rep.Slowest) > 0 {
		fmt.Fprintln(out, "\nslowest steps:")
		for _, s := range rep.Slowest {
			fmt.Fprintf(out, "  %s  %s\n", s.Duration, s.Name)
		}
	}
	if len(rep.NotExercised) > 0 {
		fmt.Fprintln(out, "\nnot exercised:")
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
