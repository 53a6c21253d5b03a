package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/float64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
)

// The schema of meridian_capacity_reservation and the model it decodes into.

type capacityModel struct {
	ID                 types.String             `tfsdk:"id"`
	Name               types.String             `tfsdk:"name"`
	PrimaryRegion      types.String             `tfsdk:"primary_region"`
	SecondaryRegion    types.String             `tfsdk:"secondary_region"`
	InstanceTypes      types.List               `tfsdk:"instance_types"`
	ImageID            types.String             `tfsdk:"image_id"`
	Unit               types.String             `tfsdk:"unit"`
	Demand             *demandModel             `tfsdk:"demand"`
	Horizon            types.String             `tfsdk:"horizon"`
	BaselinePercentile types.Float64            `tfsdk:"baseline_percentile"`
	PeakPercentile     types.Float64            `tfsdk:"peak_percentile"`
	Batch              types.Float64            `tfsdk:"batch"`
	FailoverCoverage   types.Float64            `tfsdk:"failover_coverage"`
	Interval           types.Float64            `tfsdk:"interval"`
	RTO                types.String             `tfsdk:"rto"`
	ReviewInterval     types.String             `tfsdk:"review_interval"`
	TargetUtilization  types.Float64            `tfsdk:"target_utilization"`
	PriceTable         types.String             `tfsdk:"price_table"`
	Tags               types.Map                `tfsdk:"tags"`
	Kubernetes         *capacityKubernetesModel `tfsdk:"kubernetes"`

	Forecast        types.Object  `tfsdk:"forecast"`
	Split           types.List    `tfsdk:"split"`
	Scheduled       types.List    `tfsdk:"scheduled_scaling"`
	MonthlyCost     types.Float64 `tfsdk:"estimated_monthly_cost"`
	AllOnDemandCost types.Float64 `tfsdk:"all_on_demand_monthly_cost"`
	PriceTableDate  types.String  `tfsdk:"price_table_date"`
	RightSizing     types.Object  `tfsdk:"right_sizing"`
	Primitives      types.List    `tfsdk:"primitives"`
	PartialRecords  types.String  `tfsdk:"partial_records"`
}

func (m *capacityModel) address() string            { return capacityAddress(m.Name.ValueString()) }
func (m *capacityModel) setPrimitives(l types.List) { m.Primitives = l }
func (m *capacityModel) partial() types.String      { return m.PartialRecords }
func (m *capacityModel) setPartial(v types.String)  { m.PartialRecords = v }

type capacityKubernetesModel struct {
	Namespace       types.String `tfsdk:"namespace"`
	CreateNamespace types.Bool   `tfsdk:"create_namespace"`
}

type demandModel struct {
	Values     types.List       `tfsdk:"values"`
	CSVFile    types.String     `tfsdk:"csv_file"`
	Step       types.String     `tfsdk:"step"`
	Season     types.String     `tfsdk:"season"`
	Start      types.String     `tfsdk:"start"`
	CloudWatch *cloudWatchModel `tfsdk:"cloudwatch"`
}

type cloudWatchModel struct {
	Region     types.String `tfsdk:"region"`
	Namespace  types.String `tfsdk:"namespace"`
	MetricName types.String `tfsdk:"metric_name"`
	Dimensions types.Map    `tfsdk:"dimensions"`
	Statistic  types.String `tfsdk:"statistic"`
	StartTime  types.String `tfsdk:"start_time"`
	EndTime    types.String `tfsdk:"end_time"`
}

// cloudWatchDoc describes the cloudwatch block, the same in the resource and the data source.
const cloudWatchDoc = "The history from CloudWatch (GetMetricStatistics): the metric's statistic at every `step` from `start_time` to `end_time` (RFC 3339). The window is fixed, so that every plan sees the same history; a period without a datapoint is an error that names it."

var cloudWatchAttrDocs = map[string]string{
	"region":      "Region of the metric. Default: primary_region.",
	"namespace":   "Metric namespace, e.g. `AWS/EC2` or your own. Required in the block.",
	"metric_name": "Metric name. Required in the block.",
	"dimensions":  "Dimensions that select the metric.",
	"statistic":   "`Average` (default), `Sum`, `Maximum`, `Minimum` or `SampleCount`.",
	"start_time":  "First period of the history (RFC 3339). Required in the block.",
	"end_time":    "End of the history, exclusive (RFC 3339). Required in the block.",
}

var (
	forecastType = types.ObjectType{AttrTypes: map[string]attr.Type{
		"baseline": types.Float64Type, "peak": types.Float64Type, "mean": types.Float64Type, "growth": types.Float64Type,
		"interval_lower": types.Float64Type, "interval_upper": types.Float64Type, "interval_coverage": types.Float64Type,
		"history_points": types.Int64Type, "horizon_points": types.Int64Type,
	}}
	splitType = types.ObjectType{AttrTypes: map[string]attr.Type{
		"region": types.StringType, "role": types.StringType, "reserved": types.Int64Type, "on_demand_burst": types.Int64Type,
		"spot_peak": types.Int64Type, "min_size": types.Int64Type, "max_size": types.Int64Type,
		"on_demand_percentage_above_base": types.Int64Type, "monthly_cost": types.Float64Type, "all_on_demand_monthly_cost": types.Float64Type,
	}}
	scheduledType = types.ObjectType{AttrTypes: map[string]attr.Type{
		"name": types.StringType, "hour_utc": types.Int64Type, "min_size": types.Int64Type,
	}}
	rightSizingType = types.ObjectType{AttrTypes: map[string]attr.Type{
		"utilisation": types.Float64Type, "under_used_share": types.Float64Type, "finding": types.StringType, "due": types.StringType,
	}}
)

func (r *capacityReservation) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{
		Version:     schemaVersion,
		Description: "Capacity planned from a demand forecast, in two regions: targeted EC2 capacity reservations for the baseline, a launch template that targets them, and an Auto Scaling group whose mixed-instances policy runs the reserved baseline on-demand, the burst on-demand above it and the batch share on spot, with target tracking and scheduled scaling from the daily profile. The secondary region reserves `failover_coverage` of the primary's reservation. A new forecast (new history, horizon or percentiles) updates everything in place.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed: true, Description: "The name.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Required: true, PlanModifiers: replace,
				Description: "3-40 lowercase letters, digits and hyphens; launch templates and groups are named `meridian-<name>`. Changing it replaces everything. Diagnostics name the resource by its type and this name (`meridian_capacity_reservation \"web\"`), and every primitive carries it in the `meridian:resource` tag (`meridian_capacity_reservation.web`): the provider never sees the terraform address, and the name, unlike the address, does not change with `moved` blocks or modules.",
			},
			"primary_region": schema.StringAttribute{Required: true, PlanModifiers: replace, Description: "Region that serves the demand."},
			"secondary_region": schema.StringAttribute{
				Required: true, PlanModifiers: replace,
				Description: "Failover region: it holds reservations for `failover_coverage` of the primary's and a group that scales out on failover.",
			},
			"instance_types": schema.ListAttribute{
				Required: true, ElementType: types.StringType,
				Description: "Instance types in order of preference. The first is reserved and launched first; the others give the groups room when it is short. In each region, the reservation and the group go to the first available zone, by name, that offers them all (DescribeAvailabilityZones and DescribeInstanceTypeOfferings, at plan time); a region with no such zone is a plan-time error.",
			},
			"image_id": schema.StringAttribute{Required: true, Description: "AMI the launch templates start instances from (the same id in both regions; use a copied AMI's id per region with two resources otherwise)."},
			"unit": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(blueprint.UnitInstances),
				Description: "What the demand counts: `instances` (default) or `vcpu` (converted with the first instance type's vCPUs).",
			},
			"horizon": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(blueprint.DefaultHorizon),
				Description: "How far ahead to forecast, e.g. `30d`, `4w`, `720h` or `1w3d` (numbers with units: ms, s, m, h, d, w). Default `30d`.",
			},
			"baseline_percentile": schema.Float64Attribute{
				Optional: true, Computed: true, Default: float64default.StaticFloat64(blueprint.DefaultBaselinePercentile),
				Description: "The reserved baseline is the demand that this percentile of the horizon stays at or below, forecast uncertainty included. Default 50.",
			},
			"peak_percentile": schema.Float64Attribute{
				Optional: true, Computed: true, Default: float64default.StaticFloat64(blueprint.DefaultPeakPercentile),
				Description: "The groups' maximum covers the demand at this percentile. Default 95.",
			},
			"batch": schema.Float64Attribute{
				Optional: true, Computed: true, Default: float64default.StaticFloat64(0),
				Description: "Share of demand (0 to below 1) that tolerates interruption and runs on spot. Default 0.",
			},
			"interval": schema.Float64Attribute{
				Optional: true, Computed: true, Default: float64default.StaticFloat64(blueprint.DefaultIntervalCoverage),
				Description: "Coverage of the forecast's prediction interval (0 to 1), calibrated by back-test; the groups' maximum is bought from its upper bound plus 10% headroom. Default 0.95.",
			},
			"failover_coverage": schema.Float64Attribute{
				Optional: true, Computed: true, Default: float64default.StaticFloat64(blueprint.DefaultFailoverCoverage),
				Description: "Share (0 to 1) of the primary's reservation also reserved in the secondary region. Default 1: a failover region without reserved capacity may have none on the day it is needed.",
			},
			"rto": schema.StringAttribute{
				Optional:    true,
				Description: "Recovery time objective of the failover, e.g. `meridian_dr_policy.x.rto`. Under 1h the secondary must reserve all of the primary's reservation (failover_coverage = 1), under 4h at least half: in a regional event on-demand capacity nearby runs short, and only reservations are sure to be there. Checked at plan time.",
			},
			"review_interval": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(blueprint.DefaultReviewInterval),
				Description: "When the right-sizing review is due after the end of the history. Default `30d`.",
			},
			"target_utilization": schema.Float64Attribute{
				Optional: true, Computed: true, Default: float64default.StaticFloat64(blueprint.DefaultTargetUtilization),
				Description: "Average CPU percentage the groups' target tracking policy holds. Default 60.",
			},
			"price_table": schema.StringAttribute{
				Optional:    true,
				Description: "Path to a JSON price table that replaces the shipped one (same format: date, currency, hours_per_month, prices[region][type] = {vcpus, on_demand, reserved, spot}).",
			},
			"tags": schema.MapAttribute{
				Optional: true, ElementType: types.StringType,
				Description: "Tags for every primitive (and, through the launch template, every instance and volume); they win over the provider's default_tags.",
			},
			"forecast": schema.SingleNestedAttribute{
				Computed: true, Description: "The forecast over the horizon, in the demand's unit: baseline and peak percentiles, mean, growth of the trend over the horizon, and the widest prediction interval.",
				Attributes: map[string]schema.Attribute{
					"baseline":          schema.Float64Attribute{Computed: true},
					"peak":              schema.Float64Attribute{Computed: true},
					"mean":              schema.Float64Attribute{Computed: true},
					"growth":            schema.Float64Attribute{Computed: true, Description: "Relative change of the deseasonalised level over the horizon (0.1 = +10%)."},
					"interval_lower":    schema.Float64Attribute{Computed: true},
					"interval_upper":    schema.Float64Attribute{Computed: true},
					"interval_coverage": schema.Float64Attribute{Computed: true},
					"history_points":    schema.Int64Attribute{Computed: true},
					"horizon_points":    schema.Int64Attribute{Computed: true},
				},
			},
			"split": schema.ListNestedAttribute{
				Computed: true, Description: "Per region, in instances: reserved (the groups' on-demand base), on-demand burst and spot at peak, group sizes, and the estimated monthly cost against running the same on-demand.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"region": schema.StringAttribute{Computed: true}, "role": schema.StringAttribute{Computed: true},
					"reserved": schema.Int64Attribute{Computed: true}, "on_demand_burst": schema.Int64Attribute{Computed: true},
					"spot_peak": schema.Int64Attribute{Computed: true}, "min_size": schema.Int64Attribute{Computed: true},
					"max_size": schema.Int64Attribute{Computed: true}, "on_demand_percentage_above_base": schema.Int64Attribute{Computed: true},
					"monthly_cost": schema.Float64Attribute{Computed: true}, "all_on_demand_monthly_cost": schema.Float64Attribute{Computed: true},
				}},
			},
			"scheduled_scaling": schema.ListNestedAttribute{
				Computed: true, Description: "The primary group's scheduled minimum changes, from the forecast's daily profile (hours in UTC).",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name": schema.StringAttribute{Computed: true}, "hour_utc": schema.Int64Attribute{Computed: true}, "min_size": schema.Int64Attribute{Computed: true},
				}},
			},
			"estimated_monthly_cost":     schema.Float64Attribute{Computed: true, Description: "Both regions, the split as planned, at the price table's prices."},
			"all_on_demand_monthly_cost": schema.Float64Attribute{Computed: true, Description: "The same capacity all on-demand."},
			"price_table_date":           schema.StringAttribute{Computed: true, Description: "The date of the prices behind the estimates."},
			"right_sizing": schema.SingleNestedAttribute{
				Computed: true, Description: "The primary reservation replayed against the history: mean utilisation, share of time under-used, a finding, and when the next review is due.",
				Attributes: map[string]schema.Attribute{
					"utilisation": schema.Float64Attribute{Computed: true}, "under_used_share": schema.Float64Attribute{Computed: true},
					"finding": schema.StringAttribute{Computed: true}, "due": schema.StringAttribute{Computed: true},
				},
			},
			"primitives":            schema.ListAttribute{Computed: true, ElementType: primitiveType, Description: "The cloud objects this is made of."},
			partialRecordsAttribute: schema.StringAttribute{Computed: true, Sensitive: true, Description: partialRecordsDescription},
		},
		Blocks: map[string]schema.Block{
			"kubernetes": schema.SingleNestedBlock{
				Description: "Enforce the split in the Kubernetes cluster of each region too (the provider's `kubernetes` block must have a cluster for both regions): three PriorityClasses, `<name>-reserved` (highest), `<name>-on-demand` and `<name>-spot` (lowest, never preempts), and in `namespace` a ResourceQuota per class, scoped to it, whose `requests.cpu` is the tier's instances in that region times the vCPUs of the first instance type. The secondary's reserved quota is its failover reservation.",
				Attributes: map[string]schema.Attribute{
					"namespace": schema.StringAttribute{Optional: true, Description: "Namespace of the quotas. Required in the block."},
					"create_namespace": schema.BoolAttribute{
						Optional:    true,
						Description: "Create the namespace (and delete it with the reservation). Default false: the namespace must exist, e.g. a region pair's workload namespace.",
					},
				},
			},
			"demand": schema.SingleNestedBlock{
				Description: "The demand history: `values` inline or a `csv_file` (`timestamp,value` rows in RFC 3339, or `value` rows), at a fixed `step`, with a seasonal cycle of `season`. Required.",
				Attributes: map[string]schema.Attribute{
					"values":   schema.ListAttribute{Optional: true, ElementType: types.Float64Type, Description: "Observed demand, oldest first."},
					"csv_file": schema.StringAttribute{Optional: true, Description: "Path to a CSV history, read at plan time; timestamps in it must be `step` apart and set the start. A file of values without timestamps needs `start`."},
					"step": schema.StringAttribute{
						Optional: true, Computed: true, Default: stringdefault.StaticString(blueprint.DefaultDemandStep),
						Description: "Time between values, or calendar months (`1mo`). Default `1h`.",
					},
					"season": schema.StringAttribute{
						Optional: true, Computed: true, Default: stringdefault.StaticString(blueprint.DefaultDemandSeason),
						Description: "Length of the seasonal cycle: `auto` (default: the cycles are found in the history, a day and a week for hourly data, a year for monthly data, each once the history holds two of it), or one given, such as `24h` or `168h`, which must appear twice in the history.",
					},
					"start": schema.StringAttribute{Optional: true, Description: "When the first value was observed (RFC 3339); places the daily peak at its clock hour. Default: midnight UTC."},
				},
				Blocks: map[string]schema.Block{
					"cloudwatch": schema.SingleNestedBlock{
						Description: cloudWatchDoc,
						Attributes: map[string]schema.Attribute{
							"region":      schema.StringAttribute{Optional: true, Description: cloudWatchAttrDocs["region"]},
							"namespace":   schema.StringAttribute{Optional: true, Description: cloudWatchAttrDocs["namespace"]},
							"metric_name": schema.StringAttribute{Optional: true, Description: cloudWatchAttrDocs["metric_name"]},
							"dimensions":  schema.MapAttribute{Optional: true, ElementType: types.StringType, Description: cloudWatchAttrDocs["dimensions"]},
							"statistic":   schema.StringAttribute{Optional: true, Description: cloudWatchAttrDocs["statistic"]},
							"start_time":  schema.StringAttribute{Optional: true, Description: cloudWatchAttrDocs["start_time"]},
							"end_time":    schema.StringAttribute{Optional: true, Description: cloudWatchAttrDocs["end_time"]},
						},
					},
				},
			},
		},
	}
}
