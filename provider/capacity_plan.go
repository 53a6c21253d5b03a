package provider

import (
	"context"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	awscloud "github.com/meridianhq/terraform-provider-meridian/internal/cloud/aws"
	"github.com/meridianhq/terraform-provider-meridian/internal/forecast"
)

var _ datasource.DataSourceWithConfigure = &capacityPlan{}

func newCapacityPlan() datasource.DataSource { return &capacityPlan{} }

// capacityPlan shows what a demand history implies before anything is
// reserved: the same forecast and split as meridian_capacity_reservation, as
// a table and a chart. It calls no cloud API unless the history comes from
// CloudWatch.
type capacityPlan struct{ data *providerData }

func (d *capacityPlan) Configure(_ context.Context, req datasource.ConfigureRequest, _ *datasource.ConfigureResponse) {
	if req.ProviderData != nil {
		d.data = req.ProviderData.(*providerData)
	}
}

type capacityPlanModel struct {
	PrimaryRegion      types.String  `tfsdk:"primary_region"`
	SecondaryRegion    types.String  `tfsdk:"secondary_region"`
	InstanceTypes      types.List    `tfsdk:"instance_types"`
	Unit               types.String  `tfsdk:"unit"`
	Demand             *demandModel  `tfsdk:"demand"`
	Horizon            types.String  `tfsdk:"horizon"`
	BaselinePercentile types.Float64 `tfsdk:"baseline_percentile"`
	PeakPercentile     types.Float64 `tfsdk:"peak_percentile"`
	Batch              types.Float64 `tfsdk:"batch"`
	FailoverCoverage   types.Float64 `tfsdk:"failover_coverage"`
	PriceTable         types.String  `tfsdk:"price_table"`
	ChartFile          types.String  `tfsdk:"chart_file"`
	Interval           types.Float64 `tfsdk:"interval"`

	Table           types.String  `tfsdk:"table"`
	ChartSVG        types.String  `tfsdk:"chart_svg"`
	Reserved        types.Int64   `tfsdk:"reserved"`
	MonthlyCost     types.Float64 `tfsdk:"estimated_monthly_cost"`
	AllOnDemandCost types.Float64 `tfsdk:"all_on_demand_monthly_cost"`
	Model           types.String  `tfsdk:"model"`
	Forecast        types.List    `tfsdk:"forecast"`
}

// forecastPointType is one step of the forecast attribute.
var forecastPointType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"time": types.StringType, "mean": types.Float64Type, "lower": types.Float64Type, "upper": types.Float64Type,
}}

func (d *capacityPlan) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_capacity_plan"
}

func (d *capacityPlan) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "What a demand history implies, without reserving anything: the forecast and the reserved / on-demand / spot split of `meridian_capacity_reservation` (same arguments and defaults), as a table with the cost against all on-demand, and an SVG chart of history, forecast, interval and reserved baseline.",
		Attributes: map[string]schema.Attribute{
			"primary_region":      schema.StringAttribute{Required: true},
			"secondary_region":    schema.StringAttribute{Required: true},
			"instance_types":      schema.ListAttribute{Required: true, ElementType: types.StringType, Description: "In order of preference; the first is reserved."},
			"unit":                schema.StringAttribute{Optional: true, Description: "`instances` (default) or `vcpu`."},
			"horizon":             schema.StringAttribute{Optional: true, Description: "Default `30d`."},
			"baseline_percentile": schema.Float64Attribute{Optional: true, Description: "Default 50."},
			"peak_percentile":     schema.Float64Attribute{Optional: true, Description: "Default 95."},
			"batch":               schema.Float64Attribute{Optional: true, Description: "Share of demand on spot. Default 0."},
			"failover_coverage":   schema.Float64Attribute{Optional: true, Description: "Default 1."},
			"price_table":         schema.StringAttribute{Optional: true, Description: "Path to a JSON price table that replaces the shipped one."},
			"chart_file":          schema.StringAttribute{Optional: true, Description: "If set, the SVG chart is also written to this path."},
			"interval":            schema.Float64Attribute{Optional: true, Description: "Coverage of the forecast's prediction interval, from which the group's maximum is bought (its upper bound plus 10% headroom). Default 0.95."},
			"model":               schema.StringAttribute{Computed: true, Description: "The forecasting model the rolling-origin back-test chose, and why."},
			"forecast": schema.ListAttribute{Computed: true, ElementType: forecastPointType,
				Description: "The forecast of every step over the horizon: `time` (RFC 3339), `mean`, and the interval's `lower` and `upper` bounds at the chosen coverage."},
			"table":                      schema.StringAttribute{Computed: true, Description: "The split per region and the monthly cost against all on-demand, as plain text."},
			"chart_svg":                  schema.StringAttribute{Computed: true, Description: "The chart as an SVG document."},
			"reserved":                   schema.Int64Attribute{Computed: true, Description: "Instances reserved in the primary region."},
			"estimated_monthly_cost":     schema.Float64Attribute{Computed: true},
			"all_on_demand_monthly_cost": schema.Float64Attribute{Computed: true},
		},
		Blocks: map[string]schema.Block{
			"demand": schema.SingleNestedBlock{
				Description: "The demand history, as in `meridian_capacity_reservation`.",
				Attributes: map[string]schema.Attribute{
					"values":   schema.ListAttribute{Optional: true, ElementType: types.Float64Type},
					"csv_file": schema.StringAttribute{Optional: true},
					"step":     schema.StringAttribute{Optional: true, Description: "Default `1h`."},
					"season":   schema.StringAttribute{Optional: true, Description: "Default `auto`: the seasons are found in the history (a day and a week for hourly data, a year for monthly data); a duration such as `168h` overrides."},
					"start":    schema.StringAttribute{Optional: true},
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

func (d *capacityPlan) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m capacityPlanModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if m.Demand == nil {
		resp.Diagnostics.AddAttributeError(path.Root("demand"), "Missing demand", "a demand block with the history is required.")
		return
	}
	if resp.Diagnostics.Append(demandSources(m.Demand)...); resp.Diagnostics.HasError() {
		return
	}
	var cloud *awscloud.Cloud
	if d.data != nil {
		cloud = d.data.cloud
	}
	// The resource's model carries the conversion; name and image are not
	// part of a plan, so placeholders pass their rules.
	rm := capacityModel{
		Name: types.StringValue("plan"), ImageID: types.StringValue("not-deployed"), Tags: types.MapNull(types.StringType),
		PrimaryRegion: m.PrimaryRegion, SecondaryRegion: m.SecondaryRegion, InstanceTypes: m.InstanceTypes,
		Unit: m.Unit, Demand: m.Demand, Horizon: m.Horizon, BaselinePercentile: m.BaselinePercentile,
		PeakPercentile: m.PeakPercentile, Batch: m.Batch, FailoverCoverage: m.FailoverCoverage,
		ReviewInterval: types.StringNull(), RTO: types.StringNull(), TargetUtilization: types.Float64Null(), PriceTable: m.PriceTable,
		Interval: m.Interval,
	}
	c, prices, _, ps, diags := rm.blueprint(ctx, cloud)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	c = c.WithDefaults()
	if !(c.Interval > 0 && c.Interval < 1) {
		resp.Diagnostics.AddAttributeError(path.Root("interval"), "Invalid interval", "interval must be between 0 and 1 (e.g. 0.95).")
		return
	}
	var p blueprint.CapacityPlan
	if len(ps) == 0 {
		p, ps = c.Plan(prices)
	}
	if len(ps) > 0 {
		resp.Diagnostics.Append(problemDiagnostics("meridian_capacity_plan", ps, nil)...)
		return
	}
	var svg strings.Builder
	err := forecast.WriteSVG(&svg, forecast.Chart{
		Title:   "demand (" + c.Unit + "): history, forecast and reserved baseline, " + c.PrimaryRegion,
		History: p.History, Forecast: p.Forecast,
		Reserved: float64(p.Primary.Reserved) * p.UnitsPerInst, Peak: p.Peak,
		Capacity: float64(p.Primary.MaxSize) * p.UnitsPerInst,
	})
	if err != nil {
		resp.Diagnostics.AddError("Cannot draw the chart", err.Error())
		return
	}
	if f := m.ChartFile.ValueString(); f != "" {
		if err := os.WriteFile(f, []byte(svg.String()), 0o644); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("chart_file"), "Cannot write the chart", err.Error())
			return
		}
	}
	m.Table = types.StringValue(p.Table())
	m.ChartSVG = types.StringValue(svg.String())
	m.Reserved = types.Int64Value(int64(p.Primary.Reserved))
	m.MonthlyCost, m.AllOnDemandCost = types.Float64Value(p.MonthlyCost.Float()), types.Float64Value(p.AllOnDemand.Float())
	m.Model = types.StringValue(p.Forecast.Model + ": " + p.Forecast.Why)
	var points []attr.Value
	for _, pt := range p.Forecast.Points {
		points = append(points, types.ObjectValueMust(forecastPointType.AttrTypes, map[string]attr.Value{
			"time": types.StringValue(pt.Time.UTC().Format(time.RFC3339)), "mean": types.Float64Value(pt.Mean),
			"lower": types.Float64Value(pt.Lower), "upper": types.Float64Value(pt.Upper),
		}))
	}
	m.Forecast = types.ListValueMust(forecastPointType, points)
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}
