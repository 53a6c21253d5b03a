package compile

import (
	"fmt"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// CapacityZone is the availability zone, within a region, that reservations
// and groups use: a reservation holds capacity in one zone, and the group
// must launch there to use it. It is the zone chosen at plan time
// (c.Zones); a graph compiled with no cloud to ask (tests, a stack's graph
// before it is planned) gets the region's "a" zone, which not every
// account or region has.
func CapacityZone(c blueprint.Capacity, region string) string {
	if z := c.Zones[region]; z != "" {
		return z
	}
	return region + "a"
}

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
			cr := primitive.EC2CapacityReservation + "." + role
			b.add(primitive.Primitive{
				Name: cr, Type: primitive.EC2CapacityReservation, Region: region,
				Properties: map[string]any{
					"instance_type":           c.InstanceTypes[0],
					"instance_platform":       blueprint.InstancePlatform,
					"availability_zone":       CapacityZone(c, region),
					"tenancy":                 "default",
					"instance_count":          split.Reserved,
					"instance_match_criteria": "targeted",
				},
			}, role)
			reservationID = primitive.Ref(cr, "id")
		}
		lt := primitive.LaunchTemplate + "." + role
		b.add(primitive.Primitive{
			Name: lt, Type: primitive.LaunchTemplate, Region: region,
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
			"availability_zones":      []any{CapacityZone(c, region)},
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
		b.add(primitive.Primitive{Name: primitive.AutoScalingGroup + "." + role, Type: primitive.AutoScalingGroup, Region: region, Properties: group}, role)
	}
	if c.Kubernetes != nil {
		b.capacityQuotas(c, plan, prices)
	}
	// The manifest keeps, in the cloud, what import needs: the blueprint as
	// written but without its history (which may be long, and a parameter
	// holds 4 KB), and the primitives as compiled with their ids, so that an
	// import records exactly what was applied.
	ids, prims := map[string]any{}, []any{}
	for _, p := range b.graph().Primitives {
		ids[p.Name] = primitive.Ref(p.Name, "id")
		prims = append(prims, map[string]any{
			"name": p.Name, "type": p.Type, "region": p.Region, "properties": p.Properties, "depends_on": p.Dependencies(),
		})
	}
	summary := written
	summary.Demand.Values = nil
	summary.Zones = nil // chosen, not written; the primitives carry them
	b.add(primitive.Primitive{
		Name: Manifest, Type: primitive.SSMParameter, Region: c.PrimaryRegion,
		Properties: map[string]any{
			"name":  CapacityManifestName(c.Name),
			"value": map[string]any{"kind": "meridian_capacity_reservation", "blueprint": summary, "primitives": prims, "ids": ids},
		},
	}, "primary")
	g := b.graph()
	if err := g.Check(); err != nil {
		return primitive.Graph{}, blueprint.CapacityPlan{}, fmt.Errorf("compile %s: %w", b.resource, err)
	}
	if err := checkManifests(b.resource, g); err != nil {
		return primitive.Graph{}, blueprint.CapacityPlan{}, err
	}
	return g, plan, nil
}

// CapacityManifestName is where a capacity reservation's manifest lives, in its primary region.
func CapacityManifestName(name string) string { return "/meridian/capacity_reservation/" + name }

// CapacityManifest is what import reads back from the manifest.
type CapacityManifest struct {
	Blueprint  blueprint.Capacity `json:"blueprint"`
	Primitives []struct {
		Name       string         `json:"name"`
		Type       string         `json:"type"`
		Region     string         `json:"region"`
		Properties map[string]any `json:"properties"`
		DependsOn  []string       `json:"depends_on"`
	} `json:"primitives"`
	IDs map[string]string `json:"ids"`
}

// Graph is the graph the manifest was written from, manifest included,
// with references already resolved to the ids they had.
func (m CapacityManifest) Graph(value map[string]any, primaryRegion string) primitive.Graph {
	var g primitive.Graph
	for _, p := range m.Primitives {
		g.Primitives = append(g.Primitives, primitive.Primitive{Name: p.Name, Type: p.Type, Region: p.Region, Properties: p.Properties, DependsOn: p.DependsOn})
	}
	var all []string
	for _, p := range m.Primitives {
		all = append(all, p.Name)
	}
	g.Primitives = append(g.Primitives, primitive.Primitive{
		Name: Manifest, Type: primitive.SSMParameter, Region: primaryRegion, DependsOn: all,
		Properties: map[string]any{"name": CapacityManifestName(m.Blueprint.Name), "value": value},
	})
	return g
}
