package provider

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/float64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	awscloud "github.com/meridianhq/terraform-provider-meridian/internal/cloud/aws"
	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/forecast"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

var (
	_ resource.ResourceWithConfigure      = &capacityReservation{}
	_ resource.ResourceWithValidateConfig = &capacityReservation{}
	_ resource.ResourceWithModifyPlan     = &capacityReservation{}
	_ resource.ResourceWithImportState    = &capacityReservation{}
)

func newCapacityReservation() resource.Resource { return &capacityReservation{} }

type capacityReservation struct{ data *providerData }

const capacityType = "meridian_capacity_reservation"

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

func (r *capacityReservation) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_capacity_reservation"
}

func (r *capacityReservation) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if req.ProviderData != nil {
		r.data = req.ProviderData.(*providerData)
	}
}

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
				Description: "Instance types in order of preference. The first is reserved and launched first; the others give the groups room when it is short. Each must be offered in zone `a` of both regions (checked at plan time).",
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
					"csv_file": schema.StringAttribute{Optional: true, Description: "Path to a CSV history, read at plan time; timestamps in it must be `step` apart and set the start."},
					"step": schema.StringAttribute{
						Optional: true, Computed: true, Default: stringdefault.StaticString(blueprint.DefaultDemandStep),
						Description: "Time between values. Default `1h`.",
					},
					"season": schema.StringAttribute{
						Optional: true, Computed: true, Default: stringdefault.StaticString(blueprint.DefaultDemandSeason),
						Description: "Length of the seasonal cycle: `24h` (default, daily) or `168h` (weekly). The history must hold two full cycles.",
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

func capacityAddress(name string) string { return capacityType + "." + name }

// blueprint converts the model into the capacity blueprint, reading the CSV
// file and price table it names. unknown holds the attributes not known yet.
func (m capacityModel) blueprint(ctx context.Context, cloud *awscloud.Cloud) (blueprint.Capacity, blueprint.PriceTable, map[string]bool, diag.Diagnostics) {
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
		TargetUtilization: float("target_utilization", m.TargetUtilization),
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
	prices := blueprint.DefaultPrices()
	if p := r.str("price_table", m.PriceTable); p != "" {
		b, err := os.ReadFile(p)
		if err == nil {
			prices, err = blueprint.ParsePrices(b)
		}
		if err != nil {
			diags.AddAttributeError(path.Root("price_table"), "Cannot read price table", err.Error())
		}
	}
	if d := m.Demand; d != nil {
		c.Demand = blueprint.Demand{Step: r.str("demand.step", d.Step), Season: r.str("demand.season", d.Season), Start: r.str("demand.start", d.Start)}
		r.elems(ctx, "demand.values", d.Values, &c.Demand.Values, &diags)
		if file := r.str("demand.csv_file", d.CSVFile); file != "" {
			diags.Append(readDemandCSV(file, &c.Demand)...)
		}
		if cw := d.CloudWatch; cw != nil {
			for _, v := range []struct {
				p string
				v types.String
			}{{"region", cw.Region}, {"namespace", cw.Namespace}, {"metric_name", cw.MetricName}, {"statistic", cw.Statistic}, {"start_time", cw.StartTime}, {"end_time", cw.EndTime}} {
				r.str("demand.cloudwatch."+v.p, v.v)
			}
			if !fullyKnown(ctx, cw.Dimensions) {
				r.unknown["demand.cloudwatch.dimensions"] = true
			}
			if len(r.unknown) == 0 && !diags.HasError() {
				diags.Append(readDemandCloudWatch(ctx, cloud, c.PrimaryRegion, cw, &c.Demand)...)
			}
		}
	}
	return c, prices, r.unknown, diags
}

// readDemandCSV fills demand from a CSV file. Timestamps in the file must be
// the declared step apart; they set the start.
func readDemandCSV(file string, d *blueprint.Demand) diag.Diagnostics {
	var diags diag.Diagnostics
	at := path.Root("demand").AtName("csv_file")
	f, err := os.Open(file)
	if err != nil {
		diags.AddAttributeError(at, "Cannot read demand history", err.Error())
		return diags
	}
	defer f.Close()
	s, err := forecast.ReadCSV(f, 0)
	if err != nil {
		diags.AddAttributeError(at, "Cannot read demand history", file+": "+err.Error())
		return diags
	}
	if !s.Start.IsZero() {
		if step, err := blueprint.ParsePeriod(d.Step); err == nil && s.Step != step {
			diags.AddAttributeError(path.Root("demand").AtName("step"), "Step does not match the history",
				fmt.Sprintf("%s has rows %s apart, but demand.step is %s.", file, s.Step, d.Step))
		}
		if d.Start == "" {
			d.Start = s.Start.UTC().Format("2006-01-02T15:04:05Z07:00")
		}
	}
	d.Values = s.Values
	return diags
}

// readDemandCloudWatch fills demand from a CloudWatch metric over a fixed window.
func readDemandCloudWatch(ctx context.Context, cloud *awscloud.Cloud, primary string, cw *cloudWatchModel, d *blueprint.Demand) diag.Diagnostics {
	var diags diag.Diagnostics
	at := path.Root("demand").AtName("cloudwatch")
	q := awscloud.MetricQuery{
		Region: cw.Region.ValueString(), Namespace: cw.Namespace.ValueString(), MetricName: cw.MetricName.ValueString(),
		Statistic: cw.Statistic.ValueString(),
	}
	if q.Region == "" {
		q.Region = primary
	}
	if q.Statistic == "" {
		q.Statistic = "Average"
	}
	diags.Append(cw.Dimensions.ElementsAs(ctx, &q.Dimensions, false)...)
	for _, t := range []struct {
		name string
		v    types.String
		into *time.Time
	}{{"start_time", cw.StartTime, &q.Start}, {"end_time", cw.EndTime, &q.End}} {
		parsed, err := time.Parse(time.RFC3339, t.v.ValueString())
		if err != nil {
			diags.AddAttributeError(at.AtName(t.name), "Invalid time", fmt.Sprintf("%q is not an RFC 3339 time such as 2026-09-01T00:00:00Z; the window must be fixed so that every plan sees the same history.", t.v.ValueString()))
		}
		*t.into = parsed
	}
	if q.Namespace == "" || q.MetricName == "" {
		diags.AddAttributeError(at, "Missing metric", "namespace and metric_name are required in the cloudwatch block.")
	}
	step, err := blueprint.ParsePeriod(blueprint.Capacity{Demand: *d}.WithDefaults().Demand.Step)
	if err != nil {
		diags.AddAttributeError(path.Root("demand").AtName("step"), "Invalid step", err.Error())
	}
	if diags.HasError() {
		return diags
	}
	if cloud == nil {
		diags.AddAttributeError(at, "Provider not configured", "reading demand from CloudWatch needs the provider's aws configuration.")
		return diags
	}
	q.Period = step
	s, err := cloud.MetricHistory(ctx, q)
	if err != nil {
		diags.AddAttributeError(at, "Cannot read demand history", err.Error())
		return diags
	}
	d.Values = s.Values
	if d.Start == "" {
		d.Start = s.Start.UTC().Format(time.RFC3339)
	}
	return diags
}

func (r *capacityReservation) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m capacityModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if m.Demand == nil {
		resp.Diagnostics.AddAttributeError(path.Root("demand"), "Missing demand", subject(capacityType, m.Name.ValueString())+": a demand block with the history is required; meridian never plans capacity from a default.")
		return
	}
	resp.Diagnostics.Append(demandSources(m.Demand)...)
}

// demandSources checks that the demand block names exactly one history.
func demandSources(d *demandModel) diag.Diagnostics {
	var diags diag.Diagnostics
	n := 0
	for _, set := range []bool{!d.Values.IsNull(), !d.CSVFile.IsNull(), d.CloudWatch != nil} {
		if set {
			n++
		}
	}
	switch {
	case n > 1:
		diags.AddAttributeError(path.Root("demand"), "Two histories", "demand takes one of values, csv_file or a cloudwatch block.")
	case n == 0:
		diags.AddAttributeError(path.Root("demand"), "Missing demand history", "demand needs values, csv_file or a cloudwatch block; meridian never plans capacity from a default.")
	}
	return diags
}

// plan compiles the model. The graph is nil (without an error) while values are unknown.
func (r *capacityReservation) plan(ctx context.Context, m capacityModel) (*primitive.Graph, *blueprint.CapacityPlan, diag.Diagnostics) {
	c, prices, unknown, diags := m.blueprint(ctx, r.data.cloud)
	if diags.HasError() {
		return nil, nil, diags
	}
	name := subject(capacityType, c.Name)
	cd := c.WithDefaults()
	if len(unknown) > 0 {
		diags.Append(problemDiagnostics(name, cd.Validate(prices), unknown)...)
		return nil, nil, diags
	}
	if ps := cd.Validate(prices); len(ps) > 0 {
		return nil, nil, append(diags, problemDiagnostics(name, ps, nil)...)
	}
	if _, ps := cd.Plan(prices); len(ps) > 0 {
		return nil, nil, append(diags, problemDiagnostics(name, ps, nil)...)
	}
	if c.Kubernetes != nil {
		for _, region := range []string{c.PrimaryRegion, c.SecondaryRegion} {
			if r.data.clusters == nil || !slices.Contains(r.data.clusters.Regions(), region) {
				diags.AddAttributeError(path.Root("kubernetes"), "No cluster for the region",
					fmt.Sprintf("%s: the split is enforced in the cluster of %s, but the provider's kubernetes block has no cluster with region = %q.", name, region, region))
			}
		}
		if diags.HasError() {
			return nil, nil, diags
		}
	}
	g, p, err := compile.Capacity(c, prices, r.data.defaultTags)
	if err != nil {
		diags.AddError("Cannot compile "+name, err.Error())
		return nil, nil, diags
	}
	diags.Append(keyConflictWarnings(compile.KeyConflicts(capacityAddress(c.Name), g))...) // capacity takes no cost tag policy
	return &g, &p, diags
}

// checkOfferings makes an instance type that a region's zone does not offer
// a plan-time error on instance_types.
func (r *capacityReservation) checkOfferings(ctx context.Context, m capacityModel, diags *diag.Diagnostics) {
	var typesWanted []string
	diags.Append(m.InstanceTypes.ElementsAs(ctx, &typesWanted, false)...)
	for _, region := range []string{m.PrimaryRegion.ValueString(), m.SecondaryRegion.ValueString()} {
		zone := compile.CapacityZone(region)
		offered, err := r.data.cloud.InstanceTypesOffered(ctx, region, zone, typesWanted)
		if errors.Is(err, awscloud.ErrUnsupported) {
			diags.AddAttributeWarning(path.Root("instance_types"), "Instance type offerings not checked", fmt.Sprintf("%s: the endpoint does not serve DescribeInstanceTypeOfferings in %s: %v", subject(capacityType, m.Name.ValueString()), region, err))
			continue
		}
		if err != nil {
			diags.AddAttributeError(path.Root("instance_types"), "Cannot check instance type offerings", fmt.Sprintf("%s: DescribeInstanceTypeOfferings in %s: %v", subject(capacityType, m.Name.ValueString()), region, err))
			continue
		}
		var missing []string
		for _, t := range typesWanted {
			if !offered[t] {
				missing = append(missing, t)
			}
		}
		if len(missing) > 0 {
			diags.AddAttributeError(path.Root("instance_types"), "Instance type not offered",
				fmt.Sprintf("%s: %s not offered in %s (DescribeInstanceTypeOfferings), so no capacity can be reserved there; choose types offered in both regions.",
					subject(capacityType, m.Name.ValueString()), strings.Join(missing, ", "), zone))
		}
	}
}

// hasSummary says whether diags hold an error with that summary.
func hasSummary(diags diag.Diagnostics, summary string) bool {
	for _, d := range diags.Errors() {
		if d.Summary() == summary {
			return true
		}
	}
	return false
}

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
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
		"interval_coverage": types.Float64Value(blueprint.IntervalCoverage),
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

func (r *capacityReservation) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return
	}
	var plan, state capacityModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if !req.State.Raw.IsNull() {
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	g, p, diags := r.plan(ctx, plan)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		if hasSummary(diags, "No price for instance type") && !plan.PrimaryRegion.IsUnknown() && !plan.SecondaryRegion.IsUnknown() {
			// A type the zone does not offer needs another type, not a
			// price: say so now, not after the user has written a price.
			r.checkOfferings(ctx, plan, &resp.Diagnostics)
		}
		return
	}
	name := capacityAddress(plan.Name.ValueString())
	plan.setComputed(p)
	plan.Primitives = types.ListUnknown(primitiveType)
	plan.PartialRecords = types.StringNull() // an apply that succeeds leaves none
	switch {
	case g == nil:
		resp.Diagnostics.AddWarning("Checked at apply", subject(capacityType, plan.Name.ValueString())+": some arguments are not known until apply; the forecast and the capacity rules are checked then, before any change is made.")
	default:
		r.checkOfferings(ctx, plan, &resp.Diagnostics)
		if resp.Diagnostics.HasError() {
			return
		}
		if !req.State.Raw.IsNull() {
			records, diags := loadRecords(ctx, req.Private)
			resp.Diagnostics.Append(diags...)
			if _, changed := planChanges(r.data, name, *g, records, &resp.Diagnostics); !changed {
				plan.Primitives = state.Primitives
			}
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)
}

func (r *capacityReservation) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan capacityModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.apply(ctx, plan, nil, &resp.State, resp.Private, &resp.Diagnostics)
}

func (r *capacityReservation) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan capacityModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.apply(ctx, plan, req.Private, &resp.State, resp.Private, &resp.Diagnostics)
}

func (r *capacityReservation) apply(ctx context.Context, plan capacityModel, prior privateReader, state stateSetter, private privateState, diags *diag.Diagnostics) {
	name := capacityAddress(plan.Name.ValueString())
	g, p, d := r.plan(ctx, plan)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	if g == nil {
		diags.AddError("Values not known at apply", name+": some arguments are still unknown; this is a bug in meridian or Terraform.")
		return
	}
	records, d := loadRecordsFrom(ctx, prior)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	records = deploy(ctx, r.data, name, *g, records, diags)
	plan.setComputed(p)
	plan.Primitives = primitivesValue(records)
	plan.PartialRecords = partialRecords(records, diags.HasError())
	diags.Append(saveRecords(ctx, private, records)...)
	if diags.HasError() && len(records.Records) == 0 {
		return
	}
	diags.Append(state.Set(ctx, plan)...)
}

func (r *capacityReservation) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	readRecorded[capacityModel](ctx, r.data, true, req, resp)
}

func (r *capacityReservation) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	deleteRecorded[capacityModel](ctx, r.data, req, resp)
}

func loadRecordsFrom(ctx context.Context, p privateReader) (engine.State, diag.Diagnostics) {
	if p == nil {
		return engine.State{}, nil
	}
	return loadRecords(ctx, p)
}

// ImportState takes "<primary_region>/<name>" and reads the manifest there:
// the blueprint as written (without its history) and the primitives as
// compiled, with their ids. The history is not in the cloud, so the next
// plan takes it from the configuration and shows the forecast it implies.
func (r *capacityReservation) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	region, name, ok := strings.Cut(req.ID, "/")
	if !ok || region == "" || name == "" {
		resp.Diagnostics.AddError("Invalid import id", fmt.Sprintf("%q: expected <primary_region>/<name>, e.g. us-east-1/checkout-web.", req.ID))
		return
	}
	if r.data == nil {
		resp.Diagnostics.AddError("Provider not configured", capacityType+" import needs a configured provider.")
		return
	}
	manifestName := compile.CapacityManifestName(name)
	value, err := r.data.cloud.GetParameter(ctx, region, manifestName)
	if err != nil {
		resp.Diagnostics.AddError("Cannot import "+capacityAddress(name), fmt.Sprintf("no meridian manifest %s in %s: %v", manifestName, region, err))
		return
	}
	var m compile.CapacityManifest
	if err := primitive.Decode(value, &m); err != nil || value["kind"] != capacityType {
		resp.Diagnostics.AddError("Cannot import "+capacityAddress(name), fmt.Sprintf("%s is not the manifest of a capacity reservation (%v)", manifestName, err))
		return
	}
	ids := map[string]string{compile.Manifest: manifestName}
	for k, v := range m.IDs {
		ids[k] = v
	}
	records, err := r.data.engine(capacityAddress(name)).Adopt(ctx, m.Graph(value, region), ids)
	if err != nil {
		resp.Diagnostics.AddError("Cannot import "+capacityAddress(name), err.Error())
		return
	}
	model := capacityModelOf(m.Blueprint)
	model.Primitives = primitivesValue(records)
	resp.Diagnostics.Append(resp.State.Set(ctx, model)...)
	resp.Diagnostics.Append(saveRecords(ctx, resp.Private, records)...)
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
		Batch: types.Float64Value(c.Batch), FailoverCoverage: types.Float64Value(*c.FailoverCoverage),
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
