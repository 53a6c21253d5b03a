package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	awscloud "github.com/meridianhq/terraform-provider-meridian/internal/cloud/aws"
	"github.com/meridianhq/terraform-provider-meridian/internal/deploy"
)

// Conversions between the capacity model and its blueprint and plan.

// blueprint converts the model into the capacity blueprint and resolves the
// inputs it names (the demand history and the price table) through the
// application layer. unknown holds the attributes not known yet; while any
// is, CloudWatch is not read.
func (m capacityModel) blueprint(ctx context.Context, cloud *awscloud.Cloud) (blueprint.Capacity, blueprint.PriceTable, map[string]bool, []blueprint.Problem, diag.Diagnostics) {
	r := &reader{unknown: map[string]bool{}}
	var diags diag.Diagnostics
	float := func(p string, v types.Float64) float64 {
		if v.IsUnknown() {
			r.unknown[p] = true
		}
		return v.ValueFloat64()
	}
	c := blueprint.Capacity{
		Name: r.str("name", m.Name), PrimaryRegion: r.str("primary_region", m.PrimaryRegion), SecondaryRegion: r.str("secondary_region", m.SecondaryRegion),
		ImageID: r.str("image_id", m.ImageID), Unit: r.str("unit", m.Unit), Horizon: r.str("horizon", m.Horizon),
		BaselinePercentile: float("baseline_percentile", m.BaselinePercentile), PeakPercentile: float("peak_percentile", m.PeakPercentile),
		Batch: float("batch", m.Batch), ReviewInterval: r.str("review_interval", m.ReviewInterval), RTO: r.str("rto", m.RTO),
		TargetUtilization: float("target_utilization", m.TargetUtilization), Interval: float("interval", m.Interval),
	}
	if !m.FailoverCoverage.IsNull() {
		fc := float("failover_coverage", m.FailoverCoverage)
		c.FailoverCoverage = &fc
	}
	r.elems(ctx, "instance_types", m.InstanceTypes, &c.InstanceTypes, &diags)
	r.elems(ctx, "tags", m.Tags, &c.Tags, &diags)
	if k := m.Kubernetes; k != nil {
		c.Kubernetes = &blueprint.CapacityKubernetes{Namespace: r.str("kubernetes.namespace", k.Namespace), CreateNamespace: k.CreateNamespace.ValueBool()}
		if k.CreateNamespace.IsUnknown() {
			r.unknown["kubernetes.create_namespace"] = true
		}
	}
	in := deploy.CapacityInputs{PriceTable: r.str("price_table", m.PriceTable)}
	if d := m.Demand; d != nil {
		c.Demand = blueprint.Demand{Step: r.str("demand.step", d.Step), Season: r.str("demand.season", d.Season), Start: r.str("demand.start", d.Start)}
		r.elems(ctx, "demand.values", d.Values, &c.Demand.Values, &diags)
		in.CSVFile = r.str("demand.csv_file", d.CSVFile)
		if cw := d.CloudWatch; cw != nil {
			in.CloudWatch = &deploy.CloudWatchDemand{
				Region: r.str("demand.cloudwatch.region", cw.Region), Namespace: r.str("demand.cloudwatch.namespace", cw.Namespace),
				MetricName: r.str("demand.cloudwatch.metric_name", cw.MetricName), Statistic: r.str("demand.cloudwatch.statistic", cw.Statistic),
				StartTime: r.str("demand.cloudwatch.start_time", cw.StartTime), EndTime: r.str("demand.cloudwatch.end_time", cw.EndTime),
			}
			r.elems(ctx, "demand.cloudwatch.dimensions", cw.Dimensions, &in.CloudWatch.Dimensions, &diags)
		}
	}
	if diags.HasError() {
		return c, blueprint.PriceTable{}, r.unknown, nil, diags
	}
	if len(r.unknown) > 0 {
		in.CloudWatch = nil
	}
	var metrics deploy.Metrics
	if cloud != nil {
		metrics = cloud
	}
	prices, ps := deploy.ResolveCapacity(ctx, &c, in, metrics)
	return c, prices, r.unknown, ps, diags
}

// setComputed fills the computed attributes from the plan, or marks them unknown.
func (m *capacityModel) setComputed(p *blueprint.CapacityPlan) {
	m.ID = m.Name
	if p == nil {
		m.Forecast = types.ObjectUnknown(forecastType.AttrTypes)
		m.Split = types.ListUnknown(splitType)
		m.Scheduled = types.ListUnknown(scheduledType)
		m.MonthlyCost, m.AllOnDemandCost = types.Float64Unknown(), types.Float64Unknown()
		m.PriceTableDate = types.StringUnknown()
		m.RightSizing = types.ObjectUnknown(rightSizingType.AttrTypes)
		return
	}
	m.Forecast = types.ObjectValueMust(forecastType.AttrTypes, map[string]attr.Value{
		"baseline": types.Float64Value(round(p.Baseline, 3)), "peak": types.Float64Value(round(p.Peak, 3)),
		"mean": types.Float64Value(round(p.Mean, 3)), "growth": types.Float64Value(round(p.Growth, 4)),
		"interval_lower": types.Float64Value(round(p.IntervalLower, 3)), "interval_upper": types.Float64Value(round(p.IntervalUpper, 3)),
		"interval_coverage": types.Float64Value(p.Interval),
		"history_points":    types.Int64Value(int64(len(p.History.Values))), "horizon_points": types.Int64Value(int64(len(p.Forecast.Points))),
	})
	var splits []attr.Value
	for _, s := range []blueprint.RegionSplit{p.Primary, p.Secondary} {
		splits = append(splits, types.ObjectValueMust(splitType.AttrTypes, map[string]attr.Value{
			"region": types.StringValue(s.Region), "role": types.StringValue(s.Role),
			"reserved": types.Int64Value(int64(s.Reserved)), "on_demand_burst": types.Int64Value(int64(s.OnDemandBurst)),
			"spot_peak": types.Int64Value(int64(s.SpotPeak)), "min_size": types.Int64Value(int64(s.MinSize)),
			"max_size": types.Int64Value(int64(s.MaxSize)), "on_demand_percentage_above_base": types.Int64Value(int64(s.OnDemandPercentageAboveBase)),
			"monthly_cost": types.Float64Value(s.MonthlyCost.Float()), "all_on_demand_monthly_cost": types.Float64Value(s.AllOnDemand.Float()),
		}))
	}
	m.Split = types.ListValueMust(splitType, splits)
	var sched []attr.Value
	for _, s := range p.Scheduled {
		sched = append(sched, types.ObjectValueMust(scheduledType.AttrTypes, map[string]attr.Value{
			"name": types.StringValue(s.Name), "hour_utc": types.Int64Value(int64(s.Hour)), "min_size": types.Int64Value(int64(s.MinSize)),
		}))
	}
	m.Scheduled = types.ListValueMust(scheduledType, sched)
	m.MonthlyCost, m.AllOnDemandCost = types.Float64Value(p.MonthlyCost.Float()), types.Float64Value(p.AllOnDemand.Float())
	m.PriceTableDate = types.StringValue(p.PriceDate)
	m.RightSizing = types.ObjectValueMust(rightSizingType.AttrTypes, map[string]attr.Value{
		"utilisation": types.Float64Value(round(p.Review.Utilisation, 3)), "under_used_share": types.Float64Value(round(p.Review.UnderUsedShare, 3)),
		"finding": types.StringValue(p.Finding), "due": types.StringValue(p.ReviewDue),
	})
}

// capacityModelOf is the model of a blueprint as written, for import. What
// the manifest does not hold (the history, the computed plan) stays null.
func capacityModelOf(written blueprint.Capacity) capacityModel {
	c := written.WithDefaults()
	optional := func(s string) types.String {
		if s == "" {
			return types.StringNull()
		}
		return types.StringValue(s)
	}
	m := capacityModel{
		ID: types.StringValue(c.Name), Name: types.StringValue(c.Name),
		PrimaryRegion: types.StringValue(c.PrimaryRegion), SecondaryRegion: types.StringValue(c.SecondaryRegion),
		ImageID: types.StringValue(c.ImageID), Unit: types.StringValue(c.Unit), Horizon: types.StringValue(c.Horizon),
		BaselinePercentile: types.Float64Value(c.BaselinePercentile), PeakPercentile: types.Float64Value(c.PeakPercentile),
		Batch: types.Float64Value(c.Batch), FailoverCoverage: types.Float64Value(*c.FailoverCoverage), Interval: types.Float64Value(c.Interval),
		ReviewInterval: types.StringValue(c.ReviewInterval), TargetUtilization: types.Float64Value(c.TargetUtilization), RTO: optional(c.RTO),
		PriceTable: types.StringNull(), Tags: types.MapNull(types.StringType),
		Demand: &demandModel{
			Values: types.ListNull(types.Float64Type), CSVFile: types.StringNull(),
			Step: types.StringValue(c.Demand.Step), Season: types.StringValue(c.Demand.Season), Start: optional(c.Demand.Start),
		},
		Forecast: types.ObjectNull(forecastType.AttrTypes), Split: types.ListNull(splitType), Scheduled: types.ListNull(scheduledType),
		MonthlyCost: types.Float64Null(), AllOnDemandCost: types.Float64Null(), PriceTableDate: types.StringNull(),
		RightSizing: types.ObjectNull(rightSizingType.AttrTypes),
	}
	if k := c.Kubernetes; k != nil {
		m.Kubernetes = &capacityKubernetesModel{Namespace: types.StringValue(k.Namespace), CreateNamespace: types.BoolNull()}
		if k.CreateNamespace {
			m.Kubernetes.CreateNamespace = types.BoolValue(true)
		}
	}
	var elems []attr.Value
	for _, t := range c.InstanceTypes {
		elems = append(elems, types.StringValue(t))
	}
	m.InstanceTypes = types.ListValueMust(types.StringType, elems)
	if len(c.Tags) > 0 {
		m.Tags, _ = types.MapValueFrom(context.Background(), types.StringType, c.Tags)
	}
	return m
}
