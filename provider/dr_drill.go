package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

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
	"github.com/meridianhq/terraform-provider-meridian/internal/deploy"
	"github.com/meridianhq/terraform-provider-meridian/internal/drill"
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
		Version:     schemaVersion,
		Description: "A DR drill, run when the resource is created: the primary region's workload is snapshotted into the secondary bucket, the primary cluster is destroyed and recreated for real, the snapshot is restored in runbook order, DNS fails over and back, and the RTO (outage to service ready) and RPO (age of the newest restored write) are measured per step against the targets. Only clusters marked as drill targets (label `meridian.io/drill-target=true` on kube-system) are touched. The cluster is destroyed and recreated by the `lifecycle` executable in the `testbed` folder (`make clusters` writes one for the local clusters). The report is kept in state and in the secondary bucket, where `meridian_dr_policy` reads it.",
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
				Description: "Folder holding a `lifecycle` executable that the drill runs as `lifecycle destroy CONTEXT` and `lifecycle recreate CONTEXT` for the primary region's cluster (its context in the provider's kubernetes block); exit 0 means done, and its output goes into the drill's log. `make clusters` writes one into .testbed/clusters for the local clusters; write your own to drill other clusters."},
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
	policy := blueprint.DRPolicy{RegionPair: pair, RPO: m.RPO.ValueString(), RTO: m.RTO.ValueString(), Drill: blueprint.Drill{MaxDeviationPercent: int(m.MaxDeviation.ValueInt64())}}
	resp.Diagnostics.Append(m.RestoreOrder.ElementsAs(ctx, &policy.RestoreOrder, false)...)
	log := func(format string, args ...any) { tflog.Info(ctx, fmt.Sprintf(format, args...)) }
	lifecycle, err := drill.NewExecutable(m.Testbed.ValueString(), r.data.contexts, log)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("testbed"), "No cluster lifecycle", fmt.Sprintf("%s: %v (start the local clusters with make clusters, or put your own %s executable there)", m.Testbed.ValueString(), err, drill.LifecycleFile))
		return
	}
	d, err := deploy.PrepareDrill(policy, deploy.DrillEnv{
		Cloud: r.data.cloud, Clusters: r.data.clusters, Lifecycle: lifecycle, DefaultTags: r.data.defaultTags, Log: log,
	})
	var problem blueprint.Problem
	switch {
	case errors.As(err, &problem):
		at := problem.Paths[0]
		if strings.HasPrefix(at, "region_pair.") {
			at = "region_pair"
		}
		resp.Diagnostics.AddAttributeError(path.Root(at), problem.Summary, address(pair.Name)+": "+problem.Detail)
		return
	case err != nil:
		resp.Diagnostics.AddError("Cannot drill "+address(pair.Name), err.Error())
		return
	}
	if err := deploy.HealthCheck(ctx, d); err != nil {
		resp.Diagnostics.AddError("Cannot drill "+address(pair.Name), err.Error())
		return
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

func (r *drDrill) Read(context.Context, resource.ReadRequest, *resource.ReadResponse) {}

// Update keeps the drill as it was: every argument forces a new drill.
func (r *drDrill) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var m drDrillModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

// Delete forgets the drill; its report stays in the secondary bucket.
func (r *drDrill) Delete(context.Context, resource.DeleteRequest, *resource.DeleteResponse) {}
