package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/meridianhq/terraform-provider-meridian/internal/architecture"
	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/stack"
	"github.com/meridianhq/terraform-provider-meridian/sdk"
)

func docCmd(f *flags) *cobra.Command {
	var (
		out   string
		check bool
		at    string
	)
	c := &cobra.Command{
		Use:   "doc",
		Short: "Write the architecture document of the stack (Markdown and SVG diagrams); --check lists what cannot be defended",
		Long: `Write DIR/architecture.md and its SVG diagrams (topology, failover path,
runbook, demand forecast) from the stack's blueprints, their compiled
primitives, the latest drill of each region pair kept in the stack's state,
the capacity forecasts and the price table. Every decision names its
alternative and the trade-off in numbers, each number naming its source.
Nothing is read from the cloud.

--check writes nothing: it lists what the document cannot defend (a region
pair with no DR policy, a drill never run, failed, or older than its
drill.schedule allows (monthly: 31 days) and never more than 90 days,
an RPO the backup schedule and replication do not back, untagged spend, a
choice with no alternative) and exits 1 if there is any, for CI.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := timeNow()
			if at != "" {
				t, err := time.Parse("2006-01-02", at)
				if err != nil {
					return fmt.Errorf("--at %q: expected a date such as 2026-11-30", at)
				}
				now = t
			}
			name, err := f.stackName()
			if err != nil {
				return err
			}
			st, err := f.loadStack(true)
			if err != nil {
				return err
			}
			// Only the state is read (the drills it keeps): no cluster is
			// connected to, so a CI job can review a stack without them.
			ws, err := sdk.Open(cmd.Context(), sdk.Options{Stack: name, State: f.stateLocation(), StateKMSKey: f.stateKMSKey, AWS: st.AWS})
			if err != nil {
				return err
			}
			state, err := ws.State(cmd.Context())
			if err != nil {
				return err
			}
			in, err := docStack(name, st, state.Drills, now)
			if err != nil {
				return err
			}
			doc := architecture.Write(in)
			w := cmd.OutOrStdout()
			if check {
				return reportFindings(f, w, doc.Findings)
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			path := filepath.Join(out, "architecture.md")
			if err := os.WriteFile(path, []byte(doc.Markdown), 0o644); err != nil {
				return err
			}
			var files []string
			for _, d := range doc.Diagrams {
				if err := os.WriteFile(filepath.Join(out, d.File), []byte(d.SVG), 0o644); err != nil {
					return err
				}
				files = append(files, filepath.Join(out, d.File))
			}
			if f.json {
				findings := append([]architecture.Finding{}, doc.Findings...) // [] rather than null
				return writeJSONLine(w, map[string]any{"event": "doc_summary", "document": path, "diagrams": files,
					"decisions": len(doc.Decisions), "findings": findings, "ok": true})
			}
			fmt.Fprintln(w, path)
			return nil
		},
	}
	c.Flags().StringVar(&out, "out", "doc", "directory to write architecture.md and the diagrams into")
	c.Flags().BoolVar(&check, "check", false, "write nothing; list what cannot be defended and exit 1 if anything")
	c.Flags().StringVar(&at, "at", "", "review as of this date (YYYY-MM-DD; default today): how old the last drills are")
	return f.with(c, withJSON)
}

func reportFindings(f *flags, w io.Writer, findings []architecture.Finding) error {
	for _, x := range findings {
		if f.json {
			if err := writeJSONLine(w, map[string]any{"event": "finding", "kind": x.Kind, "resource": x.Resource, "detail": x.Detail}); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", x.Kind, x.Resource, x.Detail)
	}
	if f.json {
		if err := writeJSONLine(w, map[string]any{"event": "doc_check_summary", "findings": len(findings), "ok": len(findings) == 0}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(w, "%d findings\n", len(findings))
	}
	if len(findings) > 0 {
		return fmt.Errorf("%d findings: the architecture cannot be defended yet", len(findings))
	}
	return nil
}

// docStack gathers the document's evidence from the stack and the drill
// reports its state keeps (by region pair name).
func docStack(name string, st *stack.Stack, drills map[string]json.RawMessage, now time.Time) (architecture.Stack, error) {
	graphs, diags := st.TagGraphs()
	if diags.HasErrors() {
		return architecture.Stack{}, fmt.Errorf("cannot compile the stack:\n%s", strings.TrimRight(stack.FormatDiagnostics(diags), "\n"))
	}
	in := architecture.Stack{Name: name, Now: now, Prices: blueprint.DefaultPrices()}
	graphOf := map[string]int{}
	for i, g := range graphs {
		in.Governed = append(in.Governed, architecture.Governed{Resource: g.Resource, Graph: g.Graph})
		graphOf[g.Resource] = i
	}
	for _, p := range st.CostTagPolicies {
		in.TagPolicies = append(in.TagPolicies, p.Blueprint)
	}
	for _, rp := range st.RegionPairs {
		in.Pairs = append(in.Pairs, architecture.Pair{Address: rp.Address(), Blueprint: rp.Blueprint, Graph: graphs[graphOf[rp.Address()]].Graph})
	}
	for _, p := range st.DRPolicies {
		pol := architecture.Policy{Address: p.Address(), Blueprint: p.Blueprint, Graph: p.Graph, Runbook: p.Runbook}
		if raw, ok := drills[p.Blueprint.RegionPair.Name]; ok {
			var rep sdk.DrillReport
			if err := json.Unmarshal(raw, &rep); err != nil {
				return in, fmt.Errorf("the drill report of %q in the state: %w", p.Blueprint.RegionPair.Name, err)
			}
			pol.Drill = &rep
		}
		in.Policies = append(in.Policies, pol)
	}
	for i := range st.CapacityReservations {
		c := &st.CapacityReservations[i]
		bp, plan, diags := c.Plan()
		if diags.HasErrors() {
			return in, fmt.Errorf("cannot plan %s:\n%s", c.Address(), strings.TrimRight(stack.FormatDiagnostics(diags), "\n"))
		}
		prices := blueprint.DefaultPrices()
		if c.PriceTable != "" {
			b, err := os.ReadFile(c.PriceTable)
			if err != nil {
				return in, fmt.Errorf("%s: %w", c.Address(), err)
			}
			if prices, err = blueprint.ParsePrices(b); err != nil {
				return in, fmt.Errorf("%s: %w", c.Address(), err)
			}
		}
		if i == 0 {
			in.Prices = prices
		}
		in.Capacity = append(in.Capacity, architecture.Capacity{Address: c.Address(), Blueprint: bp, Plan: plan, Prices: prices})
	}
	return in, nil
}
