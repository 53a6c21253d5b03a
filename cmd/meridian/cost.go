package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	awscloud "github.com/meridianhq/terraform-provider-meridian/internal/cloud/aws"
	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
	"github.com/meridianhq/terraform-provider-meridian/internal/stack"
	"github.com/meridianhq/terraform-provider-meridian/sdk"
)

// costFinding is one tag rule one primitive (or account resource) breaks.
type costFinding struct {
	Event    string `json:"event"`
	Policy   string `json:"policy"`
	Resource string `json:"resource,omitempty"`
	// Primitive and Type name a primitive of the stack; ARN an account's resource.
	Primitive string `json:"primitive,omitempty"`
	ARN       string `json:"arn,omitempty"`
	Type      string `json:"type"`
	Region    string `json:"region"`
	Tag       string `json:"tag,omitempty"`
	Summary   string `json:"summary"`
	Detail    string `json:"detail"`
}

func costCmd(f *flags) *cobra.Command {
	var account bool
	var regions []string
	c := &cobra.Command{
		Use:   "cost",
		Short: "Check every primitive of the stack against its cost tag policies; --account audits the account",
		Long: `Check the tags of every primitive the stack compiles into (region pairs, DR
policies, capacity reservations) against each meridian_cost_tag_policy in the stack, at plan time, with the tags
each would be deployed with. Every violation is printed with its resource,
primitive, primitive type and tag, and the exit code is 1 if there is one.

--account reads the account instead, through the Resource Groups Tagging API
and S3 (the provider block's aws settings), in the stack's regions or those
given with --region, and lists every resource that breaks a policy, whoever
created it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := f.loadStack(true)
			if err != nil {
				return err
			}
			if len(st.CostTagPolicies) == 0 {
				return fmt.Errorf("the stack in %s declares no %s: there are no tag rules to check", f.dir, stack.CostTagPolicyType)
			}
			var findings []costFinding
			var checked int
			var what string
			if account {
				if len(regions) == 0 {
					regions = stackRegions(st)
				}
				for _, r := range regions {
					if !blueprint.KnownRegion(r) {
						return fmt.Errorf("--region %q is not an AWS region meridian knows", r)
					}
				}
				if len(regions) == 0 {
					return fmt.Errorf("the stack names no region: pass --region REGION")
				}
				cloud, err := awscloud.New(cmd.Context(), sdk.WithEnvironment(st.AWS))
				if err != nil {
					return err
				}
				resources, err := cloud.TaggedResources(cmd.Context(), regions)
				if err != nil {
					return fmt.Errorf("cannot audit the account: %w", err)
				}
				findings, checked = checkAccount(st.CostTagPolicies, resources), len(resources)
				what = fmt.Sprintf("%d resources of the account in %s", checked, strings.Join(regions, ", "))
			} else {
				graphs, diags := st.TagGraphs()
				if diags.HasErrors() {
					return fmt.Errorf("cannot compile the stack to check its tags:\n%s", strings.TrimRight(stack.FormatDiagnostics(diags), "\n"))
				}
				findings = checkStack(st.CostTagPolicies, graphs)
				for _, g := range graphs {
					checked += len(g.Graph.Primitives)
				}
				what = fmt.Sprintf("%d primitives of %d resources", checked, len(graphs))
			}
			out := cmd.OutOrStdout()
			var policies []string
			for _, p := range st.CostTagPolicies {
				policies = append(policies, p.Blueprint.Name)
			}
			if f.json {
				for _, x := range findings {
					if err := writeJSONLine(out, x); err != nil {
						return err
					}
				}
				if err := writeJSONLine(out, map[string]any{"event": "cost_summary", "account": account, "policies": policies,
					"checked": checked, "violations": len(findings), "compliant": len(findings) == 0}); err != nil {
					return err
				}
			} else {
				printFindings(out, findings, account)
				fmt.Fprintf(out, "%s checked against %s: %d violations\n", what, strings.Join(policies, ", "), len(findings))
			}
			if len(findings) > 0 {
				return fmt.Errorf("%d tag policy violations", len(findings))
			}
			return nil
		},
	}
	c.Flags().BoolVar(&account, "account", false, "audit the account (tagging API and S3) instead of the stack's plan, including resources meridian did not create")
	c.Flags().StringArrayVar(&regions, "region", nil, "with --account: a region to audit (repeatable; default the stack's regions)")
	return f.with(c, withJSON)
}

// checkStack checks each primitive against each policy with compile.Enforce,
// one primitive at a time so that every finding names its primitive.
func checkStack(policies []stack.CostTagPolicy, graphs []stack.TagGraph) []costFinding {
	var out []costFinding
	for _, p := range policies {
		for _, g := range graphs {
			for _, prim := range g.Graph.Primitives {
				for _, v := range compile.Enforce(p.Blueprint, g.Resource, primitive.Graph{Primitives: []primitive.Primitive{prim}}) {
					out = append(out, costFinding{Event: "violation", Policy: p.Blueprint.Name, Resource: v.Resource, Primitive: prim.Name,
						Type: prim.Type, Region: prim.Region, Tag: v.Tag, Summary: v.Summary, Detail: v.Detail})
				}
			}
		}
	}
	return out
}

// checkAccount checks every resource of the account against each policy.
// Resources meridian created carry meridian:resource; the others are
// reported the same way.
func checkAccount(policies []stack.CostTagPolicy, resources []awscloud.Tagged) []costFinding {
	var out []costFinding
	for _, p := range policies {
		for _, r := range resources {
			for _, pr := range p.Blueprint.Check(r.Tags) {
				out = append(out, costFinding{Event: "account_violation", Policy: p.Blueprint.Name, Resource: r.Tags[compile.TagResource],
					ARN: r.ARN, Type: r.Type, Region: r.Region, Tag: pr.Tag, Summary: pr.Summary, Detail: pr.Detail})
			}
		}
	}
	return out
}

func printFindings(out io.Writer, findings []costFinding, account bool) {
	if len(findings) == 0 {
		return
	}
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	if account {
		fmt.Fprintln(w, "POLICY\tRESOURCE\tTYPE\tREGION\tCREATED BY\tTAG\tPROBLEM")
	} else {
		fmt.Fprintln(w, "POLICY\tRESOURCE\tPRIMITIVE\tTYPE\tREGION\tTAG\tPROBLEM")
	}
	for _, x := range findings {
		tag := x.Tag
		if tag == "" {
			tag = "-"
		}
		if account {
			by := x.Resource
			if by == "" {
				by = "not meridian"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s: %s\n", x.Policy, x.ARN, x.Type, x.Region, by, tag, x.Summary, x.Detail)
			continue
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s: %s\n", x.Policy, x.Resource, x.Primitive, x.Type, x.Region, tag, x.Summary, x.Detail)
	}
	_ = w.Flush()
}

// stackRegions are the regions the stack's resources use, sorted.
func stackRegions(st *stack.Stack) []string {
	var out []string
	add := func(rs ...string) {
		for _, r := range rs {
			if r != "" && !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	for _, rp := range st.RegionPairs {
		add(rp.Blueprint.PrimaryRegion, rp.Blueprint.SecondaryRegion)
	}
	for _, c := range st.CapacityReservations {
		add(c.Blueprint.PrimaryRegion, c.Blueprint.SecondaryRegion)
	}
	sort.Strings(out)
	return out
}
