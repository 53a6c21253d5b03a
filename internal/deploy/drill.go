package deploy

import (
	"context"
	"fmt"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	awscloud "github.com/meridianhq/terraform-provider-meridian/internal/cloud/aws"
	"github.com/meridianhq/terraform-provider-meridian/internal/cloud/k8s"
	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
	"github.com/meridianhq/terraform-provider-meridian/internal/drill"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// DrillEnv is where a drill runs: the clouds that hold the pair, and what
// destroys and recreates a region's cluster.
type DrillEnv struct {
	Cloud    *awscloud.Cloud
	Clusters *k8s.Cloud
	// Lifecycle destroys and recreates a region's cluster: the cluster
	// scope needs one, the namespace scope (the default) does not.
	Lifecycle drill.Lifecycle
	// Scope, OutageAt and TimeCompression override the policy's drill
	// block when set (see package drill).
	Scope           string
	OutageAt        string
	TimeCompression float64
	DefaultTags     map[string]string
	Log             func(format string, args ...any)
}

// PrepareDrill checks that policy p can be drilled in env and prepares the
// drill: its targets and its runbook in the dependency graph's order after
// p.RestoreOrder. It makes no cloud call; HealthCheck finds the rest.
// A problem with a declared value is a blueprint.Problem at its path
// (rpo, rto, restore_order, region_pair.workload); one with env is an error.
func PrepareDrill(p blueprint.DRPolicy, env DrillEnv) (*drill.Drill, error) {
	// The provider passes the pair's spec as declared: the drill needs the
	// names its defaults give (the table's, the vaults').
	p = p.WithDefaults()
	pair := p.RegionPair
	problem := func(path, summary, detail string) (*drill.Drill, error) {
		return nil, blueprint.Problem{Paths: []string{path}, Summary: summary, Detail: detail}
	}
	rpo, err := blueprint.ParseDuration(p.RPO)
	if err != nil {
		return problem("rpo", "Invalid RPO", err.Error())
	}
	rto, err := blueprint.ParseDuration(p.RTO)
	if err != nil {
		return problem("rto", "Invalid RTO", err.Error())
	}
	switch {
	case pair.Workload == nil:
		return problem("region_pair.workload", "Nothing to drill", fmt.Sprintf("region pair %q has no workload: a drill restores the primary region's workload", pair.Name))
	case env.Clusters == nil:
		return nil, fmt.Errorf("no Kubernetes clusters are configured: the drill destroys and restores the cluster of %s", pair.PrimaryRegion)
	case env.Cloud == nil:
		return nil, fmt.Errorf("a drill needs AWS, where the snapshot and DNS failover live")
	}
	scope, outageAt, compression := p.Drill.Scope, p.Drill.OutageAt, p.Drill.TimeCompression
	if env.Scope != "" {
		scope = env.Scope
	}
	if env.OutageAt != "" {
		outageAt = env.OutageAt
	}
	if env.TimeCompression != 0 {
		compression = env.TimeCompression
	}
	if scope == "" {
		scope = drill.ScopeNamespace
	}
	switch {
	case scope != drill.ScopeNamespace && scope != drill.ScopeCluster:
		return problem("drill.scope", "Invalid drill scope", fmt.Sprintf("scope %q: %q (delete and restore the workload's namespace) or %q (destroy and recreate the cluster)", scope, drill.ScopeNamespace, drill.ScopeCluster))
	case outageAt != "" && outageAt != drill.OutageWorst && outageAt != drill.OutageRandom && outageAt != drill.OutageNow:
		return problem("drill.outage_at", "Invalid outage point", fmt.Sprintf("outage_at %q: %q, %q or %q", outageAt, drill.OutageWorst, drill.OutageRandom, drill.OutageNow))
	case compression != 0 && compression < 1:
		return problem("drill.time_compression", "Invalid time compression", fmt.Sprintf("time_compression %g: at least 1 (1 is real time; 3600 runs an hour as a second)", compression))
	case scope == drill.ScopeCluster && env.Lifecycle == nil:
		return nil, fmt.Errorf("no cluster lifecycle: the cluster scope destroys and recreates the cluster of %s, and nothing can (use the namespace scope, or give a lifecycle)", pair.PrimaryRegion)
	}
	schedule, err := blueprint.ScheduleInterval(p.Backup.Schedule)
	if err != nil {
		return problem("backup.schedule", "Invalid backup schedule", err.Error())
	}
	g, err := compile.RegionPair(pair, env.DefaultTags)
	if err != nil {
		return problem("region_pair", "Cannot compile the region pair", err.Error())
	}
	runbook, err := compile.MakeRunbook(g, p.RestoreOrder)
	if err != nil {
		return problem("restore_order", "Invalid restore order", err.Error())
	}
	d := &drill.Drill{
		ID: time.Now().UTC().Format("20060102T150405Z"), Pair: pair, Runbook: runbook, RPO: rpo, RTO: rto,
		MaxDeviation: p.Drill.MaxDeviationPercent, Clusters: env.Clusters, Cloud: env.Cloud, Lifecycle: env.Lifecycle, Log: env.Log,
		Scope: scope, OutageAt: outageAt, Schedule: schedule, TimeCompression: compression,
		PrimaryVault: p.Backup.PrimaryVault, SecondaryVault: p.Backup.SecondaryVault,
	}
	return d, nil
}

// HealthCheck finds the primary's health check of the drill's pair in the
// pair's manifest, which the drill inverts to fail DNS over, and the zone
// of its failover record; a pair without DNS has neither.
func HealthCheck(ctx context.Context, d *drill.Drill) error {
	if d.Pair.DNS == nil {
		return nil
	}
	m, err := ReadManifest(ctx, d.Cloud, d.Pair.PrimaryRegion, d.Pair.Name)
	if err != nil {
		return fmt.Errorf("cannot find the pair's health check: %w", err)
	}
	d.HealthCheckID = m.IDs[primitive.Route53HealthCheck+".primary"]
	d.ZoneID = d.Pair.DNS.ZoneID
	if d.ZoneID == "" {
		d.ZoneID = m.IDs[primitive.Route53Zone+".dns"]
	}
	return nil
}
