// Package sdk lets a Go program declare meridian resources in code and
// deploy them, as Pulumi's Automation API does: a Program declares region
// pairs, and a Workspace previews, deploys (Up), refreshes and destroys them
// against a stack whose state lives in a local directory or an S3 bucket.
// The meridian CLI is built on this package, so a program and the CLI share
// one engine, one state format and one lock.
package sdk

import (
	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	awscloud "github.com/meridianhq/terraform-provider-meridian/internal/cloud/aws"
	"github.com/meridianhq/terraform-provider-meridian/internal/cloud/k8s"
	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
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
	pairs []RegionPair
}

// RegionPair declares a region pair.
func (c *Context) RegionPair(rp RegionPair) { c.pairs = append(c.pairs, rp) }

// Declare runs a program and returns the region pairs it declared.
func Declare(p Program) ([]RegionPair, error) {
	c := &Context{}
	if p == nil {
		return nil, nil
	}
	if err := p(c); err != nil {
		return nil, err
	}
	return c.pairs, nil
}
