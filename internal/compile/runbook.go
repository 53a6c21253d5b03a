package compile

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// RunbookStep is one primitive to bring back after losing a region.
type RunbookStep struct {
	// Group runs after every lower group; steps of one group run in parallel.
	Group     int    `json:"group"`
	Primitive string `json:"primitive"`
	Type      string `json:"type"`
	Region    string `json:"region"`
	Action    string `json:"action"`
	Estimate  string `json:"estimate"`
}

// Runbook is the restore order of a region pair's primitives.
type Runbook struct {
	Steps []RunbookStep `json:"steps"`
	// Estimate is the critical path: the sum over groups of each group's slowest step.
	Estimate string `json:"estimate"`
}

// restoreEstimates are conservative times to restore one primitive of each
// type, from AWS's documented restore and propagation times; a drill
// replaces them with measured ones.
var restoreEstimates = map[string]time.Duration{
	primitive.S3Bucket:            10 * time.Minute, // restore of the latest recovery point
	primitive.S3BucketReplication: time.Minute,
	primitive.IAMRole:             time.Minute, // IAM is eventually consistent: seconds to a minute
	primitive.IAMRolePolicy:       time.Minute,
	primitive.DynamoDBTable:       20 * time.Minute, // table restore from a recovery point
	primitive.DynamoDBReplica:     10 * time.Minute,
	primitive.Route53Zone:         time.Minute,
	primitive.Route53HealthCheck:  2 * time.Minute, // a few probe intervals before it reports
	primitive.Route53Record:       2 * time.Minute, // change propagation plus the record TTL
	primitive.SSMParameter:        10 * time.Second,

	primitive.K8sNamespace:             10 * time.Second,
	primitive.K8sConfigMap:             10 * time.Second,
	primitive.K8sPersistentVolumeClaim: 2 * time.Minute, // provision, then copy the snapshot's data in
	primitive.K8sDeployment:            3 * time.Minute, // pull, schedule, start, pass readiness
	primitive.K8sService:               10 * time.Second,
}

// dataStores hold the data a restore brings back; the rest is configuration.
var dataStores = map[string]bool{primitive.S3Bucket: true, primitive.DynamoDBTable: true, primitive.K8sPersistentVolumeClaim: true}

func restoreAction(typ, region string) string {
	switch {
	case dataStores[typ]:
		return "restore data from the latest recovery point in " + region
	case typ == primitive.DynamoDBReplica:
		return "re-add the replica; it copies the restored table"
	case typ == primitive.Route53Record:
		return "switch traffic: apply the failover record"
	default:
		return "recreate"
	}
}

// MakeRunbook orders the primitives of g for a restore: dependencies before
// dependents (data stores before what reads them), the primitives named in
// first ahead of the rest in that order, and DNS records last, so traffic
// returns only when everything behind it is back.
func MakeRunbook(g primitive.Graph, first []string) (Runbook, error) {
	levels, err := g.Levels()
	if err != nil {
		return Runbook{}, err
	}
	byName := map[string]primitive.Primitive{}
	for _, p := range g.Primitives {
		byName[p.Name] = p
	}
	var groups [][]string
	placed := map[string]bool{}
	for i, name := range first {
		p, ok := byName[name]
		if !ok {
			return Runbook{}, fmt.Errorf("restore_order[%d]: %q is not a primitive of the pair", i, name)
		}
		for _, d := range p.Dependencies() {
			if !placed[d] {
				return Runbook{}, fmt.Errorf("restore_order[%d]: %q would be restored before %q, which it depends on", i, name, d)
			}
		}
		groups = append(groups, []string{name})
		placed[name] = true
	}
	var dns []string
	for _, level := range levels {
		var group []string
		for _, name := range level {
			switch {
			case placed[name]:
			case byName[name].Type == primitive.Route53Record:
				dns = append(dns, name)
			default:
				group = append(group, name)
			}
		}
		if len(group) > 0 {
			groups = append(groups, group)
		}
	}
	if len(dns) > 0 {
		groups = append(groups, dns)
	}
	var rb Runbook
	var total time.Duration
	for i, group := range groups {
		var slowest time.Duration
		slices.Sort(group)
		for _, name := range group {
			p := byName[name]
			est, ok := restoreEstimates[p.Type]
			if !ok {
				est = 5 * time.Minute
			}
			slowest = max(slowest, est)
			rb.Steps = append(rb.Steps, RunbookStep{Group: i + 1, Primitive: name, Type: p.Type, Region: p.Region, Action: restoreAction(p.Type, p.Region), Estimate: blueprint.FormatDuration(est)})
		}
		total += slowest
	}
	rb.Estimate = blueprint.FormatDuration(total)
	return rb, nil
}

// Markdown renders the runbook for people: one row a step, parallel groups marked.
func (rb Runbook) Markdown(title string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Restore runbook: %s\n\nEstimated restore time (critical path): **%s**. Steps of one group run in parallel; a group starts when the one before it is done.\n\n", title, rb.Estimate)
	b.WriteString("| group | primitive | type | region | action | estimate |\n|---|---|---|---|---|---|\n")
	size := map[int]int{}
	for _, s := range rb.Steps {
		size[s.Group]++
	}
	for _, s := range rb.Steps {
		group := fmt.Sprint(s.Group)
		if size[s.Group] > 1 {
			group += " (parallel)"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s | %s |\n", group, s.Primitive, s.Type, s.Region, s.Action, s.Estimate)
	}
	return b.String()
}

// estimateOf is the runbook's estimate as a duration.
func (rb Runbook) estimateOf() time.Duration {
	d, _ := blueprint.ParseDuration(rb.Estimate)
	return d
}

// checkRTO is the rule that needs the runbook: an RTO shorter than the
// estimated restore cannot be met.
func checkRTO(p blueprint.DRPolicy, rb Runbook) *blueprint.Problem {
	rto, err := blueprint.ParseDuration(p.RTO)
	if err != nil || rto >= rb.estimateOf() {
		return nil
	}
	var slow []string
	for _, s := range rb.Steps {
		if d, _ := blueprint.ParseDuration(s.Estimate); d >= 10*time.Minute {
			slow = append(slow, fmt.Sprintf("%s (%s)", s.Primitive, s.Estimate))
		}
	}
	return &blueprint.Problem{
		Paths:   []string{"rto"},
		Summary: "RTO shorter than the estimated restore time",
		Detail: fmt.Sprintf("rto %s, but restoring the pair in runbook order takes about %s (slowest steps: %s). Raise the RTO, keep warm replicas, or measure a faster restore with a drill.",
			blueprint.FormatDuration(rto), rb.Estimate, strings.Join(slow, ", ")),
	}
}
