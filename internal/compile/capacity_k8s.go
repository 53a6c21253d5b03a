package compile

import (
	"strconv"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// QuotaResource is what a tier's quota limits: the CPU its pods request,
// the unit the split is costed in once multiplied out of instances.
const QuotaResource = "requests.cpu"

// capacityQuotas writes the split into each region's cluster: per tier a
// PriorityClass named <reservation>-<tier> and, in the namespace, a
// ResourceQuota of the same name that counts only pods of that class and
// holds the tier's instances in vCPUs of the reserved instance type. The
// secondary's reserved tier is its failover reservation, so a failover
// cannot schedule more guaranteed work than the capacity held for it.
func (b *graphBuilder) capacityQuotas(c blueprint.Capacity, plan blueprint.CapacityPlan, prices blueprint.PriceTable) {
	k := c.Kubernetes
	for _, split := range []blueprint.RegionSplit{plan.Primary, plan.Secondary} {
		role, region := split.Role, split.Region
		namespace := any(k.Namespace)
		if k.CreateNamespace {
			ns := primitive.K8sNamespace + "." + role
			b.add(primitive.Primitive{Name: ns, Type: primitive.K8sNamespace, Region: region, Properties: map[string]any{"name": k.Namespace}}, role)
			namespace = primitive.Ref(ns, "id")
		}
		vcpus := prices.Prices[region][c.InstanceTypes[0]].VCPUs
		for _, tier := range blueprint.CapacityTiers {
			name := c.Name + "-" + tier.Name
			class := primitive.K8sPriorityClass + "." + tier.Name + "." + role
			b.add(primitive.Primitive{
				Name: class, Type: primitive.K8sPriorityClass, Region: region,
				Properties: map[string]any{
					"name": name, "value": tier.Value, "global_default": false,
					"preemption_policy": tier.PreemptionPolicy,
					"description":       b.resource + ": " + tier.Description,
				},
			}, role)
			b.add(primitive.Primitive{
				Name: primitive.K8sResourceQuota + "." + tier.Name + "." + role, Type: primitive.K8sResourceQuota, Region: region,
				Properties: map[string]any{
					"namespace": namespace, "name": name, "priority_class": name,
					"hard": map[string]any{QuotaResource: strconv.Itoa(tier.Instances(split) * vcpus)},
				},
				DependsOn: []string{class},
			}, role)
		}
	}
}
