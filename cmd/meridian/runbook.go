package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/meridianhq/terraform-provider-meridian/internal/stack"
)

func runbookCmd(f *flags) *cobra.Command {
	return f.with(&cobra.Command{
		Use:   "runbook [LABEL]",
		Short: "Print the restore runbook of the stack's DR policies (Markdown, or --json)",
		Long: `Print the restore runbook of each meridian_dr_policy in the stack (or of the
one whose label is given): its region pair's primitives in restore order,
dependencies first, the policy's restore_order ahead of the rest and DNS
records last, with the estimated time of each step and the critical path.
The Markdown is the provider's runbook_markdown attribute for the same
configuration. Nothing is read from the cloud.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := f.loadStack(true)
			if err != nil {
				return err
			}
			policies, err := selectPolicies(st, args)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for i, p := range policies {
				bp := p.Blueprint.WithDefaults()
				if f.json {
					if err := writeJSONLine(out, map[string]any{
						"event": "runbook", "resource": p.Address(), "name": bp.Name, "region_pair": bp.RegionPair.Name,
						"primary_region": bp.RegionPair.PrimaryRegion, "secondary_region": bp.RegionPair.SecondaryRegion,
						"rpo": bp.RPO, "rto": bp.RTO, "estimated_rto": p.Runbook.Estimate, "steps": p.Runbook.Steps,
					}); err != nil {
						return err
					}
					continue
				}
				if i > 0 {
					fmt.Fprintln(out)
				}
				// Exactly the provider's runbook_markdown.
				fmt.Fprint(out, p.Runbook.Markdown(bp.Name))
			}
			if f.json {
				return writeJSONLine(out, map[string]any{"event": "summary", "operation": "runbook", "policies": len(policies), "ok": true})
			}
			return nil
		},
	}, withJSON)
}

// selectPolicies returns the DR policy named by args (its label or
// address), or every policy of the stack when args is empty.
func selectPolicies(st *stack.Stack, args []string) ([]stack.DRPolicy, error) {
	if len(st.DRPolicies) == 0 {
		return nil, fmt.Errorf("the stack in %s declares no %s", st.Dir, stack.DRPolicyType)
	}
	if len(args) == 0 {
		return st.DRPolicies, nil
	}
	for _, p := range st.DRPolicies {
		if p.Label == args[0] || p.Address() == args[0] {
			return []stack.DRPolicy{p}, nil
		}
	}
	return nil, fmt.Errorf("no %s %q in the stack (%s)", stack.DRPolicyType, args[0], drLabels(st))
}

func drLabels(st *stack.Stack) string {
	var labels []string
	for _, p := range st.DRPolicies {
		labels = append(labels, p.Label)
	}
	if len(labels) == 0 {
		return "it has none"
	}
	return "it has " + strings.Join(labels, ", ")
}
