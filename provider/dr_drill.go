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
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/float64planmodifier"
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
	ID           types.String  `tfsdk:"id"`
	RegionPair   types.String  `tfsdk:"region_pair"`
	RPO          types.String  `tfsdk:"rpo"`
	RTO          types.String  `tfsdk:"rto"`
	RestoreOrder types.List    `tfsdk:"restore_order"`
	MaxDeviation types.Int64   `tfsdk:"max_deviation_percent"`
	Testbed      types.String  `tfsdk:"testbed"`
	Scope        types.String  `tfsdk:"scope"`
	OutageAt     types.String  `tfsdk:"outage_at"`
	Compression  types.Float64 `tfsdk:"time_compression"`
	Schedule     types.String  `tfsdk:"backup_schedule"`
	Triggers     types.Map     `tfsdk:"triggers"`
	MeasuredRTO  types.String  `tfsdk:"measured_rto"`
	MeasuredRPO  types.String  `tfsdk:"measured_rpo"`
	Passed       types.Bool    `tfsdk:"passed"`
	Identical    types.Bool    `tfsdk:"identical"`
	Steps        types.List    `tfsdk:"steps"`
	NotExercised types.List    `tfsdk:"not_exercised"`
	Report       types.String  `tfsdk:"report"`
	Markdown     types.String  `tfsdk:"markdown"`
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
		Description: "A DR drill, run when the resource is created. A writer puts timestamped records into the pair's table for the whole drill; backups run on the policy's schedule (AWS Backup jobs copied to the secondary vault), optionally time-compressed; the outage strikes at `outage_at` in the backup cycle; DNS fails over and what a client is answered is observed (Route 53 TestDNSAnswer); the primary's table and the workload's namespace (`scope = \"namespace\"`, the default, any cluster a kubeconfig context reaches) or its whole cluster (`scope = \"cluster\"`, through the `testbed` folder's `lifecycle` executable) are destroyed; the table is restored from the newest recovery point in the secondary region at the outage, the workload from its snapshot in the secondary bucket. RPO = outage minus the newest write in the restored data; RTO = outage until data, workload and DNS are back. Only clusters marked as drill targets (label `meridian.io/drill-target=true` on kube-system) are touched. The report is kept in state and in the secondary bucket, where `meridian_dr_policy` reads it.",
		Attributes: map[string]schema.Attribute{
			"id":          schema.StringAttribute{Computed: true, Description: "The drill's id.", PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"region_pair": schema.StringAttribute{Required: true, PlanModifiers: replace, Description: "The `spec` of the region pair to drill."},
			"rpo":         schema.StringAttribute{Required: true, PlanModifiers: replace, Description: "Target RPO, e.g. `meridian_dr_policy.x.rpo`."},
			"rto":         schema.StringAttribute{Required: true, PlanModifiers: replace, Description: "Target RTO, e.g. `meridian_dr_policy.x.rto`."},
			"restore_order": schema.ListAttribute{Optional: true, ElementType: types.StringType,
				PlanModifiers: []planmodifier.List{listplanmodifier.RequiresReplace()}, Description: "As in `meridian_dr_policy`."},
			"max_deviation_percent": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(DefaultDrillDeviation),
				PlanModifiers: []planmodifier.Int64{int64planmodifier.RequiresReplace()}, Description: "How far over target the measurements may be and the drill pass. Default 20."},
			"testbed": schema.StringAttribute{Optional: true, PlanModifiers: replace,
				Description: "For `scope = \"cluster\"`: folder holding a `lifecycle` executable that the drill runs as `lifecycle destroy CONTEXT` and `lifecycle recreate CONTEXT` for the primary region's cluster (its context in the provider's kubernetes block); exit 0 means done, and its output goes into the drill's log. `make clusters` writes one into .testbed/clusters for the local clusters; write your own to drill other clusters."},
			"scope": schema.StringAttribute{Optional: true, PlanModifiers: replace,
				Description: "What the drill destroys: `namespace` (the workload's namespace, through the kubeconfig context alone; the default) or `cluster` (the whole cluster, through `testbed`)."},
			"outage_at": schema.StringAttribute{Optional: true, PlanModifiers: replace,
				Description: "Where in the backup cycle the outage strikes: `worst` (just before the next recovery point would land; the default), `random`, or `now` (right after the first recovery point landed)."},
			"time_compression": schema.Float64Attribute{Optional: true, PlanModifiers: []planmodifier.Float64{float64planmodifier.RequiresReplace()},
				Description: "Run the backup schedule this many times faster (720 runs a 1 h schedule as 5 s); the RPO is scaled back by it, and the report shows it. Default 1 (real time)."},
			"backup_schedule": schema.StringAttribute{Optional: true, PlanModifiers: replace,
				Description: "The policy's backup schedule, e.g. `meridian_dr_policy.x.backup[0].schedule`. Default `rate(1 hour)`."},
			"triggers": schema.MapAttribute{Optional: true, ElementType: types.StringType,
				PlanModifiers: []planmodifier.Map{mapplanmodifier.RequiresReplace()}, Description: "Any change runs a new drill."},
			"measured_rto":  schema.StringAttribute{Computed: true, Description: "Outage start to service ready."},
			"measured_rpo":  schema.StringAttribute{Computed: true, Description: "Age, at the outage, of the newest write that came back."},
			"passed":        schema.BoolAttribute{Computed: true, Description: "Restored objects identical to the snapshot, and RTO and RPO within target plus the allowed deviation."},
			"identical":     schema.BoolAttribute{Computed: true, Description: "Every restored object reads back as it was snapshotted."},
			"steps":         schema.ListAttribute{Computed: true, ElementType: drillStepType, Description: "Each step with its start, duration and error."},
			"not_exercised": schema.ListAttribute{Computed: true, ElementType: types.StringType, Description: "What this testbed could not drill, said plainly."},
			"report":        schema.StringAttribute{Computed: true, Description: "The whole report as JSON: steps, recovery point used and its age, writes lost, failover observed, slowest steps."},
			"markdown":      schema.StringAttribute{Computed: true, Description: "The report as a Markdown section for the architecture document."},
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
	policy := blueprint.DRPolicy{RegionPair: pair, RPO: m.RPO.ValueString(), RTO: m.RTO.ValueString(), Backup: blueprint.Backup{Schedule: m.Schedule.ValueString()},
		Drill: blueprint.Drill{MaxDeviationPercent: int(m.MaxDeviation.ValueInt64()), Scope: m.Scope.ValueString(), OutageAt: m.OutageAt.ValueString(), TimeCompression: m.Compression.ValueFloat64()}}
	resp.Diagnostics.Append(m.RestoreOrder.ElementsAs(ctx, &policy.RestoreOrder, false)...)
	log := func(format string, args ...any) { tflog.Info(ctx, fmt.Sprintf(format, args...)) }
	var lifecycle drill.Lifecycle
	if dir := m.Testbed.ValueString(); dir != "" {
		exe, err := drill.NewExecutable(dir, r.data.contexts, log)
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("testbed"), "No cluster lifecycle", fmt.Sprintf("%s: %v (start the local clusters with make clusters, or put your own %s executable there)", dir, err, drill.LifecycleFile))
			return
		}
		lifecycle = exe
	}
	d, err := deploy.PrepareDrill(policy, deploy.DrillEnv{
		Cloud: r.data.cloud, Clusters: r.data.clusters, Lifecycle: lifecycle, DefaultTags: r.data.defaultTags, Log: log,
	})
	var problem blueprint.Problem
	switch {
	case errors.As(err, &problem):
		at := problem.Paths[0]
		switch {
		case strings.HasPrefix(at, "region_pair."):
			at = "region_pair"
		case strings.HasPrefix(at, "drill."):
			at = strings.TrimPrefix(at, "drill.")
		case at == "backup.schedule":
			at = "backup_schedule"
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
	m.Markdown = types.StringValue(rep.Markdown())
	if !rep.Passed && err == nil {
		resp.Diagnostics.AddWarning("Drill failed", fmt.Sprintf("%s: %s.", address(pair.Name), strings.Join(rep.Failed, "; ")))
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
