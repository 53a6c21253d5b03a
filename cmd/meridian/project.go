package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/meridianhq/terraform-provider-meridian/internal/stack"
	"github.com/meridianhq/terraform-provider-meridian/sdk"
)

// project is a stack directory and the stack selected in it.
type project struct {
	f     *flags
	st    *stack.Stack
	res   []resource
	ws    *sdk.Workspace
	name  string
	out   io.Writer
	start time.Time
	mu    sync.Mutex
	// live, if set, shows the steps as a tree redrawn in place.
	live *liveDisplay
}

func open(cmd *cobra.Command, f *flags, needStack bool) (*project, error) {
	name, err := f.stackName()
	if err != nil {
		return nil, err
	}
	st, err := f.loadStack(needStack || strings.HasPrefix(f.stateLocation(), "s3://"))
	if err != nil {
		return nil, err
	}
	p := &project{f: f, st: st, res: resources(st), name: name, out: cmd.OutOrStdout(), start: time.Now()}
	if p.live, err = p.liveDisplay(cmd); err != nil {
		return nil, err
	}
	parallel := f.parallel
	if parallel == 0 {
		parallel = st.Parallelism
	}
	p.ws, err = sdk.Open(cmd.Context(), sdk.Options{
		Stack: name, State: f.stateLocation(), StateKMSKey: f.stateKMSKey, AWS: st.AWS, Kubernetes: st.Kubernetes, DefaultTags: st.DefaultTags,
		Parallelism: parallel, OnEvent: p.progress,
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// check runs the plan-time checks that need the stack's files, before the
// plan: it reads the capacity reservations' inputs first (once; CloudWatch
// through the stack's AWS), since the names and tags depend on them.
func (p *project) check(ctx context.Context) error {
	if diags := p.st.Resolve(ctx, p.ws.Metrics()); diags.HasErrors() {
		return fmt.Errorf("the stack has errors:\n%s", strings.TrimRight(stack.FormatDiagnostics(diags), "\n"))
	}
	if err := p.checkNames(); err != nil {
		return err
	}
	if err := p.checkMeasured(ctx); err != nil {
		return err
	}
	return p.checkTags()
}

// locate places at their file:line the problems the workspace found in the
// stack's resources (an instance type the zone does not offer).
func (p *project) locate(err error) error {
	if diags := p.st.Locate(err); diags.HasErrors() {
		return fmt.Errorf("the stack has errors:\n%s", strings.TrimRight(stack.FormatDiagnostics(diags), "\n"))
	}
	return err
}

// checkNames fails when two of the stack's primitives claim one cloud name
// (two pairs with the same bucket_prefix, kv_table name or zone_name), at
// both declarations, before any cloud call: up would otherwise fail half
// way, or make two hosted zones of one name.
func (p *project) checkNames() error {
	if diags := p.st.CheckNames(); diags.HasErrors() {
		return fmt.Errorf("the stack has errors:\n%s", strings.TrimRight(stack.FormatDiagnostics(diags), "\n"))
	}
	return nil
}

// checkTags holds each resource to its cost tag policy before any cloud
// call, with what meridian cost reports: the violation at its file:line and
// the resource by its address. Keys spelt two ways without a policy are
// warnings.
func (p *project) checkTags() error {
	diags := p.st.CheckTags()
	if diags.HasErrors() {
		return fmt.Errorf("the stack breaks its cost tag policies:\n%s", strings.TrimRight(stack.FormatDiagnostics(diags), "\n"))
	}
	for _, d := range diags {
		p.warn([]string{strings.TrimSuffix(stack.FormatDiagnostics(hcl.Diagnostics{d}), "\n")})
	}
	return nil
}

// program declares every resource of the stack.
func (p *project) program(c *sdk.Context) error {
	res, diags := p.st.Resources()
	if diags.HasErrors() {
		return fmt.Errorf("the stack has errors:\n%s", strings.TrimRight(stack.FormatDiagnostics(diags), "\n"))
	}
	for _, rp := range res.RegionPairs {
		c.RegionPair(rp)
		if res.AllowDataLoss[stack.Prefix(stack.ResourceType, rp.Name)] {
			c.AllowDataLoss(rp.Name, "")
		}
	}
	for _, dr := range res.DRPolicies {
		c.DRPolicy(dr)
		if res.AllowDataLoss[stack.Prefix(stack.DRPolicyType, dr.Name)] {
			c.AllowDataLoss("", dr.Name)
		}
	}
	for _, tp := range res.TagPolicies {
		c.CostTagPolicy(tp)
	}
	for _, cr := range res.Capacities {
		c.CapacityReservation(cr.Spec, cr.Prices)
	}
	return nil
}

// resource is a stack resource as the graph and the user name it.
type resource struct{ address, prefix string }

// resources lists the stack's resources: their addresses and the prefixes
// of their primitives' names.
func resources(st *stack.Stack) []resource {
	var out []resource
	for _, rp := range st.RegionPairs {
		out = append(out, resource{rp.Address(), stack.Prefix(stack.ResourceType, rp.Blueprint.Name)})
	}
	for _, dr := range st.DRPolicies {
		out = append(out, resource{dr.Address(), stack.Prefix(stack.DRPolicyType, dr.Blueprint.Name)})
	}
	for _, tp := range st.CostTagPolicies {
		out = append(out, resource{tp.Address(), stack.Prefix(stack.CostTagPolicyType, tp.Blueprint.Name)})
	}
	for _, cr := range st.CapacityReservations {
		out = append(out, resource{cr.Address(), stack.Prefix(stack.CapacityReservationType, cr.Blueprint.Name)})
	}
	return out
}

// targets maps resource addresses to the prefixes the graph uses; other
// targets (a pair's name, pair/primitive) pass as they are.
func (p *project) targets() ([]string, error) {
	var out []string
	for _, t := range p.f.targets {
		if !strings.HasPrefix(t, "meridian_") {
			out = append(out, t)
			continue
		}
		found := false
		for _, r := range p.res {
			if r.address == t {
				out, found = append(out, r.prefix), true
			}
		}
		if !found {
			addresses := map[string]bool{}
			for _, r := range p.res {
				addresses[r.address] = true
			}
			msg := fmt.Sprintf("--target %s: no such resource in the stack", t)
			if closest := sdk.Closest(t, addresses); len(closest) > 0 {
				msg += "; closest: " + strings.Join(closest, ", ")
			}
			return nil, errors.New(msg)
		}
	}
	return out, nil
}

// groupOf names the stack resource a primitive belongs to (its address,
// such as meridian_region_pair.LABEL, or its prefix if the stack files no
// longer declare it) and the primitive's name within it.
func (p *project) groupOf(name string) (string, string) {
	prefix, short, ok := strings.Cut(name, stack.Separator)
	if !ok {
		return name, name
	}
	for _, r := range p.res {
		if r.prefix == prefix {
			return r.address, short
		}
	}
	return prefix, short
}
