package compile

import (
	"fmt"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// Primitive types of capacity reservations.
const (
	EC2CapacityReservation = "aws_ec2_capacity_reservation"
	LaunchTemplate         = "aws_launch_template"
	AutoScalingGroup       = "aws_autoscaling_group"
)

// CapacityZone is the availability zone, within a region, that reservations
// and groups use: a reservation holds capacity in one zone, and the group
// must launch there to use it.
func CapacityZone(region string) string { return region + "a" }

// Capacity compiles a capacity reservation into, per region, a targeted
// capacity reservation for the reserved baseline (none when it rounds to
// zero), a launch template that targets it, and an Auto Scaling group whose
// mixed-instances policy puts the on-demand base on the reservation and
// splits the rest between on-demand burst and spot.
func Capacity(written blueprint.Capacity, prices blueprint.PriceTable, defaultTags map[string]string) (primitive.Graph, blueprint.CapacityPlan, error) {
	c := written.WithDefaults()
	if ps := c.Validate(prices); len(ps) > 0 {
		return primitive.Graph{}, blueprint.CapacityPlan{}, ps[0]
	}
	plan, ps := c.Plan(prices)
	if len(ps) > 0 {
		return primitive.Graph{}, blueprint.CapacityPlan{}, ps[0]
	}
	b := &graphBuilder{resource: "meridian_capacity_reservation." + c.Name, tags: mergeTags(defaultTags, c.Tags)}
	name := "meridian-" + c.Name
	for _, split := range []blueprint.RegionSplit{plan.Primary, plan.Secondary} {
		role, region := split.Role, split.Region
		reservationID := ""
		if split.Reserved > 0 {
			cr := EC2CapacityReservation + "." + role
			b.add(primitive.Primitive{
				Name: cr, Type: EC2CapacityReservation, Region: region,
				Properties: map[string]any{
					"instance_type":           c.InstanceTypes[0],
					"instance_platform":       blueprint.InstancePlatform,
					"availability_zone":       CapacityZone(region),
					"tenancy":                 "default",
					"instance_count":          split.Reserved,
					"instance_match_criteria": "targeted",
				},
			}, role)
			reservationID = primitive.Ref(cr, "id")
		}
		lt := LaunchTemplate + "." + role
		b.add(primitive.Primitive{
			Name: lt, Type: LaunchTemplate, Region: region,
			Properties: map[string]any{
				"name":                    name,
				"image_id":                c.ImageID,
				"instance_type":           c.InstanceTypes[0],
				"capacity_reservation_id": reservationID,
			},
		}, role)
		group := map[string]any{
			"name":                    name,
			"min_size":                split.MinSize,
			"max_size":                split.MaxSize,
			"availability_zones":      []any{CapacityZone(region)},
			"launch_template_id":      primitive.Ref(lt, "id"),
			"instance_types":          c.InstanceTypes,
			"on_demand_base_capacity": split.Reserved,
			"on_demand_percentage_above_base_capacity": split.OnDemandPercentageAboveBase,
			"spot_allocation_strategy":                 "price-capacity-optimized",
			"target_tracking": map[string]any{
				"policy_name":  "cpu-target",
				"metric":       "ASGAverageCPUUtilization",
				"target_value": c.TargetUtilization,
			},
			"scheduled_actions": []any{},
		}
		// The standby region scales on failover, not on the primary's daily cycle.
		if role == "primary" {
			var actions []any
			for _, s := range plan.Scheduled {
				actions = append(actions, map[string]any{"name": s.Name, "recurrence": fmt.Sprintf("0 %d * * *", s.Hour), "min_size": s.MinSize})
			}
			if actions != nil {
				group["scheduled_actions"] = actions
			}
		}
		b.add(primitive.Primitive{Name: AutoScalingGroup + "." + role, Type: AutoScalingGroup, Region: region, Properties: group}, role)
	}
	g := b.graph()
	if err := g.Check(); err != nil {
		return primitive.Graph{}, blueprint.CapacityPlan{}, fmt.Errorf("compile %s: %w", b.resource, err)
	}
	return g, plan, nil
}
