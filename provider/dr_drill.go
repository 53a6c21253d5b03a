package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/listplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/mapplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
	"github.com/meridianhq/terraform-provider-meridian/internal/drill"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed/cluster"
)

var _ resource.ResourceWithConfigure = &drDrill{}

func newDRDrill() resource.Resource { return &drDrill{} }

// drDrill runs a drill when it is created: creating it again (a new
// trigger) runs another.
type drDrill struct{ data *providerData }

type drDrillModel struct {
	ID           types.String `tfsdk:"id"`
	RegionPair   types.String `tfsdk:"region_pair"`
	RPO          types.String `tfsdk:"rpo"`
	RTO          types.String `tfsdk:"rto"`
	RestoreOrder types.List   `tfsdk:"restore_order"`
	MaxDeviation types.Int64  `tfsdk:"max_deviation_percent"`
	Testbed      types.String `tfsdk:"testbed"`
	Triggers     types.Map    `tfsdk:"triggers"`
	MeasuredRTO  types.String `tfsdk:"measured_rto"`
	MeasuredRPO  types.String `tfsdk:"measured_rpo"`
	Passed       types.Bool   `tfsdk:"passed"`
	Identical    types.Bool   `tfsdk:"identical"`
	Steps        types.List   `tfsdk:"steps"`
	NotExercised types.List   `tfsdk:"not_exercised"`
	Report       types.String `tfsdk:"report"`
}

var drillStepType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"name": types.StringType, "group": types.Int64Type, "started": types.StringType, "duration": types.StringType, "error": types.StringType,
}}

func (r *drDrill) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_dr_drill"
}

func (r *drDrill) Configure(_ context.Context, req resource.ConfigureRequest, _ *resource.ConfigureResponse) {
	if req.ProviderData != nil {
		r.data = req.ProviderData.(*providerData)
	}
}

func (r *drDrill) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{
		Description: "A DR drill, run when the resource is created: the primary region's workload is snapshotted into the secondary bucket, the primary cluster is destroyed and recreated for real, the snapshot is restored in runbook order, DNS fails over and back, and the RTO (outage to service ready) and RPO (age of the newest restored write) are measured per step against the targets. Only clusters marked as drill targets (label `meridian.io/drill-target=true` on kube-system) are touched. Runs on the local testbed (`testbed`). The report is kept in state and in the secondary bucket, where `meridian_dr_policy` reads it.",
		Attributes: map[string]schema.Attribute{
			"id":          schema.StringAttribute{Computed: true, Description: "The drill's id.", PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"region_pair": schema.StringAttribute{Required: true, PlanModifiers: replace, Description: "The `spec` of the region pair to drill."},
			"rpo":         schema.StringAttribute{Required: true, PlanModifiers: replace, Description: "Target RPO, e.g. `meridian_dr_policy.x.rpo`."},
			"rto":         schema.StringAttribute{Required: true, PlanModifiers: replace, Description: "Target RTO, e.g. `meridian_dr_policy.x.rto`."},
			"restore_order": schema.ListAttribute{Optional: true, ElementType: types.StringType,
				PlanModifiers: []planmodifier.List{listplanmodifier.RequiresReplace()}, Description: "As in `meridian_dr_policy`."},
			"max_deviation_percent": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(DefaultDrillDeviation),
				PlanModifiers: []planmodifier.Int64{int64planmodifier.RequiresReplace()}, Description: "How far over target the measurements may be and the drill pass. Default 20."},
			"testbed": schema.StringAttribute{Required: true, PlanModifiers: replace,
				Description: "Folder of the local cluster set (`make clusters` writes .testbed/clusters) whose clusters the provider's kubernetes block names: the drill destroys and recreates the primary's."},
			"triggers": schema.MapAttribute{Optional: true, ElementType: types.StringType,
				PlanModifiers: []planmodifier.Map{mapplanmodifier.RequiresReplace()}, Description: "Any change runs a new drill."},
			"measured_rto":  schema.StringAttribute{Computed: true, Description: "Outage start to service ready."},
			"measured_rpo":  schema.StringAttribute{Computed: true, Description: "Age, at the outage, of the newest write that came back."},
			"passed":        schema.BoolAttribute{Computed: true, Description: "Restored objects identical to the snapshot, and RTO and RPO within target plus the allowed deviation."},
			"identical":     schema.BoolAttribute{Computed: true, Description: "Every restored object reads back as it was snapshotted."},
			"steps":         schema.ListAttribute{Computed: true, ElementType: drillStepType, Description: "Each step with its start, duration and error."},
			"not_exercised": schema.ListAttribute{Computed: true, ElementType: types.StringType, Description: "What this testbed could not drill, said plainly."},
			"report":        schema.StringAttribute{Computed: true, Description: "The whole report as JSON."},
		},
	}
}

func (r *drDrill) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var m drDrillModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var pair blueprint.RegionPair
	if err := json.Unmarshal([]byte(m.RegionPair.ValueString()), &pair); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("region_pair"), "Invalid region pair", "region_pair takes the spec of a meridian_region_pair: "+err.Error())
		return
	}
	rpo, err1 := blueprint.ParseDuration(m.RPO.ValueString())
	rto, err2 := blueprint.ParseDuration(m.RTO.ValueString())
	if err1 != nil || err2 != nil {
		resp.Diagnostics.AddError("Invalid targets", fmt.Sprintf("rpo: %v; rto: %v", err1, err2))
		return
	}
	if r.data.clusters == nil || pair.Workload == nil {
		resp.Diagnostics.AddAttributeError(path.Root("region_pair"), "Nothing to drill", "a drill restores the pair's workload: the pair needs a workload block and the provider a kubernetes block.")
		return
	}
	var first []string
	resp.Diagnostics.Append(m.RestoreOrder.ElementsAs(ctx, &first, false)...)
	g, err := compile.RegionPair(pair, r.data.defaultTags)
	if err != nil {
		resp.Diagnostics.AddError("Cannot compile the region pair", err.Error())
		return
	}
	rb, err := compile.MakeRunbook(g, first)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("restore_order"), "Invalid restore order", err.Error())
		return
	}
	set, err := cluster.Load(m.Testbed.ValueString())
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("testbed"), "No cluster set", fmt.Sprintf("%s: %v (start one with make clusters)", m.Testbed.ValueString(), err))
		return
	}
	d := &drill.Drill{
		ID: time.Now().UTC().Format("20060102T150405Z"), Pair: pair, Runbook: rb, RPO: rpo, RTO: rto,
		MaxDeviation: int(m.MaxDeviation.ValueInt64()), Clusters: r.data.clusters, Cloud: r.data.cloud,
		Lifecycle: cluster.Regions{Set: set, Contexts: r.data.contexts},
		Log:       func(format string, args ...any) { tflog.Info(ctx, fmt.Sprintf(format, args...)) },
	}
	if pair.DNS != nil {
		d.HealthCheckID, err = r.healthCheckID(ctx, pair)
		if err != nil {
			resp.Diagnostics.AddError("Cannot find the pair's health check", err.Error())
			return
		}
	}
	rep, err := d.Run(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Drill of "+address(pair.Name)+" failed", err.Error())
		if len(rep.Steps) == 0 {
			return // refused before any step: nothing to record
		}
	}
	m.ID = types.StringValue(rep.ID)
	m.MeasuredRTO, m.MeasuredRPO = types.StringValue(rep.MeasuredRTO), types.StringValue(rep.MeasuredRPO)
	m.Passed, m.Identical = types.BoolValue(rep.Passed), types.BoolValue(rep.Identical)
	var steps []attr.Value
	for _, s := range rep.Steps {
		steps = append(steps, types.ObjectValueMust(drillStepType.AttrTypes, map[string]attr.Value{
			"name": types.StringValue(s.Name), "group": types.Int64Value(int64(s.Group)), "started": types.StringValue(s.Started),
			"duration": types.StringValue(s.Duration), "error": types.StringValue(s.Error),
		}))
	}
	m.Steps = types.ListValueMust(drillStepType, steps)
	m.NotExercised, _ = types.ListValueFrom(ctx, types.StringType, rep.NotExercised)
	b, _ := json.Marshal(rep)
	m.Report = types.StringValue(string(b))
	if !rep.Passed && err == nil {
		resp.Diagnostics.AddWarning("Drill failed its targets", fmt.Sprintf("%s: measured RTO %s (target %s), RPO %s (target %s), restored objects identical: %v.",
			address(pair.Name), rep.MeasuredRTO, rep.TargetRTO, rep.MeasuredRPO, rep.TargetRPO, rep.Identical))
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

// healthCheckID reads the pair's health check from its manifest.
func (r *drDrill) healthCheckID(ctx context.Context, pair blueprint.RegionPair) (string, error) {
	manifest, err := r.data.cloud.GetParameter(ctx, pair.PrimaryRegion, compile.ManifestName(pair.Name))
	if err != nil {
		return "", err
	}
	var m struct {
		IDs map[string]string `json:"ids"`
	}
	if err := primitive.Decode(manifest, &m); err != nil {
		return "", err
	}
	return m.IDs[primitive.Route53HealthCheck+".primary"], nil
}

func (r *drDrill) Read(context.Context, resource.ReadRequest, *resource.ReadResponse) {}

// Update keeps the drill as it was: every argument forces a new drill.
func (r *drDrill) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m drDrillModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

// Delete forgets the drill; its report stays in the secondary bucket.
func (r *drDrill) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {}
