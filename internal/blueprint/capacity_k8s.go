package blueprint

import (
	"fmt"
	"regexp"
)

// CapacityKubernetes writes a capacity reservation's split into the
// Kubernetes cluster of each region as well: one PriorityClass per tier
// and a ResourceQuota per class in Namespace, sized from the split.
type CapacityKubernetes struct {
	Namespace string `json:"namespace"`
	// CreateNamespace makes the reservation own the namespace; otherwise it
	// must exist (a region pair's workload namespace, say).
	CreateNamespace bool `json:"create_namespace,omitempty"`
}

// The tiers of a split, as Kubernetes sees them, highest priority first.
// Reserved pods may preempt burst and batch pods; burst pods may preempt
// batch pods; batch pods never preempt anything, they wait, which is what
// running on interruptible capacity means.
var CapacityTiers = []CapacityTier{
	{Name: "reserved", Value: 100000, PreemptionPolicy: "PreemptLowerPriority",
		Description: "reserved baseline: runs on capacity held by reservations; preempts the tiers below"},
	{Name: "on-demand", Value: 10000, PreemptionPolicy: "PreemptLowerPriority",
		Description: "on-demand burst above the reserved baseline; preempts batch"},
	{Name: "spot", Value: 1000, PreemptionPolicy: "Never",
		Description: "batch on spot capacity: interruptible, never preempts, preempted first"},
}

// CapacityTier is one tier's PriorityClass.
type CapacityTier struct {
	Name             string
	Value            int
	PreemptionPolicy string
	Description      string
}

// Instances is the tier's share of a region's split.
func (t CapacityTier) Instances(s RegionSplit) int {
	switch t.Name {
	case "reserved":
		return s.Reserved
	case "on-demand":
		return s.OnDemandBurst
	}
	return s.SpotPeak
}

var namespacePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

func (k *CapacityKubernetes) validate() []Problem {
	if k == nil {
		return nil
	}
	if !namespacePattern.MatchString(k.Namespace) {
		return []Problem{{Paths: []string{"kubernetes.namespace"}, Summary: "Invalid namespace",
			Detail: fmt.Sprintf("%q is not a Kubernetes namespace name: 1-63 lowercase letters, digits and hyphens, starting and ending with a letter or digit.", k.Namespace)}}
	}
	return nil
}
