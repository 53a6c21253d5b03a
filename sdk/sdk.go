// Package sdk lets a Go program declare meridian resources in code and
// deploy them, as Pulumi's Automation API does: a Program declares region
// resources, and a Workspace previews, deploys (Up), refreshes and destroys them
// against a stack whose state lives in a local directory or an S3 bucket.
// Plan and PlanDestroy keep the plan they show, under the stack's lock,
// for Apply to apply exactly (Up and Destroy plan and apply at once).
// The meridian CLI is built on this package, so a program and the CLI share
// one engine, one state format and one lock.
package sdk

import (
	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	awscloud "github.com/meridianhq/terraform-provider-meridian/internal/cloud/aws"
	"github.com/meridianhq/terraform-provider-meridian/internal/cloud/k8s"
	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/stack"
)

// The resource kinds and their parts, as a program writes them.
type (
	RegionPair  = blueprint.RegionPair
	ObjectStore = blueprint.ObjectStore
	KVTable     = blueprint.KVTable
	DNS         = blueprint.DNS
	HealthCheck = blueprint.HealthCheck
	Workload    = blueprint.Workload
	Volume      = blueprint.Volume
	DRPolicy    = blueprint.DRPolicy
	TagPolicy   = blueprint.TagPolicy
	Capacity    = blueprint.Capacity
	PriceTable  = blueprint.PriceTable
	// AWS says how to reach AWS (endpoint overrides for moto or LocalStack).
	AWS = awscloud.Config
	// Cluster says how to reach the Kubernetes cluster of a region.
	Cluster = k8s.ClusterConfig
	// Event reports a step starting, retrying, ending or failing.
	Event = engine.Event
	// Step is one primitive's part of a plan.
	Step = engine.Step
	// Drift is a difference between a record and the cloud.
	Drift = engine.Drift
)

// Modes and write profiles of a region pair.
const (
	ActivePassive       = blueprint.ActivePassive
	ActiveActiveSharded = blueprint.ActiveActiveSharded
	ReadHeavy           = blueprint.ReadHeavy
	WriteHeavy          = blueprint.WriteHeavy
)

// Program declares a stack's resources.
type Program func(*Context) error

// Context collects what a program declares.
type Context struct {
	res stack.Resources
}

// RegionPair declares a region pair.
func (c *Context) RegionPair(rp RegionPair) { c.res.RegionPairs = append(c.res.RegionPairs, rp) }

// DRPolicy declares a DR policy: its backup vaults, plan and selection.
func (c *Context) DRPolicy(p DRPolicy) { c.res.DRPolicies = append(c.res.DRPolicies, p) }

// CostTagPolicy declares a cost tag policy. It deploys an AWS
// Organizations tag policy when it enforces in the cloud, and nothing
// otherwise; a region pair enforces it by naming it (CostTagPolicy).
func (c *Context) CostTagPolicy(p TagPolicy) { c.res.TagPolicies = append(c.res.TagPolicies, p) }

// CapacityReservation declares a capacity reservation, priced by prices
// (DefaultPrices for the table meridian ships).
func (c *Context) CapacityReservation(spec Capacity, prices PriceTable) {
	c.res.Capacities = append(c.res.Capacities, stack.Capacity{Spec: spec, Prices: prices})
}

// AllowDataLoss lets plans delete or replace, while they hold data, the
// objects of the region pair named pair (its buckets and table) and of the
// DR policy named policy (its vaults); either may be empty. Without it
// such a plan is an error, as allow_data_loss = false is in a stack.
func (c *Context) AllowDataLoss(pair, policy string) {
	if c.res.AllowDataLoss == nil {
		c.res.AllowDataLoss = map[string]bool{}
	}
	if pair != "" {
		c.res.AllowDataLoss[stack.Prefix(stack.ResourceType, pair)] = true
	}
	if policy != "" {
		c.res.AllowDataLoss[stack.Prefix(stack.DRPolicyType, policy)] = true
	}
}

// DefaultPrices is the price table meridian ships.
func DefaultPrices() PriceTable { return blueprint.DefaultPrices() }

// Declare runs a program and returns what it declared.
func Declare(p Program) (*Context, error) {
	c := &Context{}
	if p == nil {
		return c, nil
	}
	if err := p(c); err != nil {
		return nil, err
	}
	return c, nil
}

// RegionPairs are the region pairs the program declared.
func (c *Context) RegionPairs() []RegionPair { return c.res.RegionPairs }
