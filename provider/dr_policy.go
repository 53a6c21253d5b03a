package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64default"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
	"github.com/meridianhq/terraform-provider-meridian/internal/drill"
	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

var (
	_ resource.ResourceWithConfigure      = &drPolicy{}
	_ resource.ResourceWithValidateConfig = &drPolicy{}
	_ resource.ResourceWithModifyPlan     = &drPolicy{}
)

func newDRPolicy() resource.Resource { return &drPolicy{} }

type drPolicy struct{ data *providerData }

type drPolicyModel struct {
	ID              types.String `tfsdk:"id"`
	Name            types.String `tfsdk:"name"`
	RegionPair      types.String `tfsdk:"region_pair"`
	RPO             types.String `tfsdk:"rpo"`
	RTO             types.String `tfsdk:"rto"`
	Tags            types.Map    `tfsdk:"tags"`
	RestoreOrder    types.List   `tfsdk:"restore_order"`
	Backup          *backupModel `tfsdk:"backup"`
	Drill           *drillModel  `tfsdk:"drill"`
	Runbook         types.List   `tfsdk:"runbook"`
	RunbookMarkdown types.String `tfsdk:"runbook_markdown"`
	EstimatedRTO    types.String `tfsdk:"estimated_rto"`
	Proven          types.Bool   `tfsdk:"proven"`
	LastDrill       types.String `tfsdk:"last_drill"`
	Primitives      types.List   `tfsdk:"primitives"`
	PartialRecords  types.String `tfsdk:"partial_records"`
	AllowDataLoss   types.Bool   `tfsdk:"allow_data_loss"`
}

func (m *drPolicyModel) address() string            { return "meridian_dr_policy." + m.Name.ValueString() }
func (m *drPolicyModel) setPrimitives(l types.List) { m.Primitives = l }
func (m *drPolicyModel) partial() types.String      { return m.PartialRecords }
func (m *drPolicyModel) setPartial(v types.String)  { m.PartialRecords = v }

type backupModel struct {
	Schedule        types.String `tfsdk:"schedule"`
	RetentionDays   types.Int64  `tfsdk:"retention_days"`
	CrossRegionCopy types.Bool   `tfsdk:"cross_region_copy"`
	PrimaryVault    types.String `tfsdk:"primary_vault"`
	SecondaryVault  types.String `tfsdk:"secondary_vault"`
}

type drillModel struct {
	Schedule            types.String `tfsdk:"schedule"`
	MaxDeviationPercent types.Int64  `tfsdk:"max_deviation_percent"`
}

var runbookStepType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"group": types.Int64Type, "primitive": types.StringType, "type": types.StringType,
	"region": types.StringType, "action": types.StringType, "estimate": types.StringType,
}}

// DefaultDrillDeviation is how far over target a drill may measure and pass.
const DefaultDrillDeviation = 20

func (r *drPolicy) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_dr_policy"
}

func (r *drPolicy) Configure(_ context.Context, req resource.ConfigureRequest, _ *resource.ConfigureResponse) {
	if req.ProviderData != nil {
		r.data = req.ProviderData.(*providerData)
	}
}

func (r *drPolicy) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Version:     schemaVersion,
		Description: "RPO and RTO as explicit targets for a region pair, checked against the design at plan time: AWS Backup vaults in both regions, a plan that copies every recovery point to the secondary region, a selection of the pair's resources by tag, and a restore runbook ordered by the dependency graph. A policy that was never drilled is reported as unproven.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, Description: "The policy's name.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{Required: true, Description: "Name of the policy; it names the backup plan. Diagnostics name the resource by its type and this name (`meridian_dr_policy \"checkout\"`), and every primitive carries it in the `meridian:resource` tag (`meridian_dr_policy.checkout`): the provider never sees the terraform address, and the name, unlike the address, does not change with `moved` blocks or modules.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"region_pair": schema.StringAttribute{Required: true,
				Description: "The `spec` attribute of the `meridian_region_pair` the policy protects."},
			"rpo": schema.StringAttribute{Required: true,
				Description: "Recovery point objective, the data the pair may lose, with units, as Go and terraform write durations: `15m`, `1h`, `1h30m`."},
			"rto": schema.StringAttribute{Required: true,
				Description: "Recovery time objective, how long the pair may be down, with units, as Go and terraform write durations: `30m`, `4h`, `1h30m`."},
			"tags": schema.MapAttribute{Optional: true, ElementType: types.StringType,
				Description: "Tags for the vaults, the plan and the role, on top of the pair's."},
			allowDataLoss: schema.BoolAttribute{Optional: true, Description: allowDataLossDescription},
			"restore_order": schema.ListAttribute{Optional: true, ElementType: types.StringType,
				Description: "Primitives (as named in the pair's `primitives`) to restore first, in this order; each must come after what it depends on."},
			"runbook": schema.ListAttribute{Computed: true, ElementType: runbookStepType,
				Description: "The restore steps in order: steps with the same group run in parallel."},
			"runbook_markdown": schema.StringAttribute{Computed: true, Description: "The runbook as a Markdown table."},
			"estimated_rto":    schema.StringAttribute{Computed: true, Description: "The runbook's critical path: the restore time the design allows, written as `rto` reads it (e.g. `41m10s`)."},
			"proven": schema.BoolAttribute{Computed: true,
				Description: "Whether a drill has measured an RTO and RPO within the targets. False until then."},
			"primitives": schema.ListAttribute{Computed: true, ElementType: primitiveType,
				Description: "The cloud objects of the policy: vaults, backup role, plan and selection."},
			partialRecordsAttribute: schema.StringAttribute{Computed: true, Sensitive: true, Description: partialRecordsDescription},
			"last_drill": schema.StringAttribute{Computed: true,
				Description: "The newest drill's report (JSON), read from the pair's secondary bucket on refresh: its measured RTO is checked against `rto` at plan time."},
		},
		Blocks: map[string]schema.Block{
			"backup": schema.SingleNestedBlock{
				Description: "The AWS Backup plan.",
				Attributes: map[string]schema.Attribute{
					"schedule": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(blueprint.DefaultSchedule),
						Description: "AWS Backup schedule: `rate(1 hour)` (default) or `cron(0 */4 * * ? *)`. Looser than the RPO is an error unless continuous replication keeps the pair within it."},
					"retention_days": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(blueprint.DefaultRetentionDays),
						Description: "Days to keep recovery points, in both regions. Default 35."},
					"cross_region_copy": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
						Description: "Copy every recovery point to the secondary region's vault. Default true."},
					"primary_vault":   schema.StringAttribute{Optional: true, Description: "Vault name in the primary region; default `meridian-<pair>-<region>`."},
					"secondary_vault": schema.StringAttribute{Optional: true, Description: "Vault name in the secondary region; default `meridian-<pair>-<region>`."},
				},
			},
			"drill": schema.SingleNestedBlock{
				Description: "How the policy is proven.",
				Attributes: map[string]schema.Attribute{
					"schedule": schema.StringAttribute{Optional: true, Description: "When drills should run (a hint for schedulers, e.g. `monthly`)."},
					"max_deviation_percent": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(DefaultDrillDeviation),
						Description: "How far over the targets a measured RTO or RPO may be and the drill still pass. Default 20."},
				},
			},
		},
	}
}

// blueprint converts the model; ok is false while values are unknown.
func (m drPolicyModel) blueprint(ctx context.Context) (blueprint.DRPolicy, bool, diag.Diagnostics) {
	var diags diag.Diagnostics
	values := []attr.Value{m.Name, m.RegionPair, m.RPO, m.RTO, m.Tags, m.RestoreOrder}
	if b := m.Backup; b != nil {
		values = append(values, b.Schedule, b.RetentionDays, b.CrossRegionCopy, b.PrimaryVault, b.SecondaryVault)
	}
	for _, v := range values {
		if !fullyKnown(ctx, v) {
			return blueprint.DRPolicy{}, false, diags
		}
	}
	p := blueprint.DRPolicy{Name: m.Name.ValueString(), RPO: m.RPO.ValueString(), RTO: m.RTO.ValueString(),
		Backup: blueprint.Backup{CrossRegionCopy: true}, Drill: blueprint.Drill{MaxDeviationPercent: DefaultDrillDeviation}}
	if err := json.Unmarshal([]byte(m.RegionPair.ValueString()), &p.RegionPair); err != nil {
		diags.AddAttributeError(path.Root("region_pair"), "Invalid region pair", "region_pair takes the spec attribute of a meridian_region_pair: "+err.Error())
	}
	diags.Append(m.Tags.ElementsAs(ctx, &p.Tags, false)...)
	diags.Append(m.RestoreOrder.ElementsAs(ctx, &p.RestoreOrder, false)...)
	if b := m.Backup; b != nil {
		p.Backup = blueprint.Backup{
			Schedule: b.Schedule.ValueString(), RetentionDays: int(b.RetentionDays.ValueInt64()), CrossRegionCopy: b.CrossRegionCopy.ValueBool(),
			PrimaryVault: b.PrimaryVault.ValueString(), SecondaryVault: b.SecondaryVault.ValueString(),
		}
	}
	if d := m.Drill; d != nil {
		p.Drill = blueprint.Drill{Schedule: d.Schedule.ValueString(), MaxDeviationPercent: int(d.MaxDeviationPercent.ValueInt64())}
	}
	return p, true, diags
}

func (r *drPolicy) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m drPolicyModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	p, known, diags := m.blueprint(ctx)
	resp.Diagnostics.Append(diags...)
	if known && !diags.HasError() {
		resp.Diagnostics.Append(problemDiagnostics(subject("meridian_dr_policy", p.Name), p.WithDefaults().Validate(), nil)...)
	}
}

// compile turns the model into its graph and runbook, with diagnostics for broken rules.
func (r *drPolicy) compile(p blueprint.DRPolicy) (primitive.Graph, compile.Runbook, diag.Diagnostics) {
	var diags diag.Diagnostics
	g, rb, err := compile.DRPolicy(p, r.data.defaultTags)
	var problem blueprint.Problem
	var vs compile.Violations
	switch {
	case errors.As(err, &problem):
		diags.Append(problemDiagnostics(subject("meridian_dr_policy", p.Name), []blueprint.Problem{problem}, nil)...)
	case errors.As(err, &vs):
		diags.Append(violationDiagnostics(vs)...)
	case err != nil:
		diags.AddError("Cannot compile "+subject("meridian_dr_policy", p.Name), err.Error())
	case p.RegionPair.CostTagPolicy == nil:
		diags.Append(keyConflictWarnings(compile.KeyConflicts("meridian_dr_policy."+p.Name, g))...)
	}
	return g, rb, diags
}

// runbookValues are the computed attributes that show the runbook.
type runbookValues struct {
	steps    types.List
	markdown types.String
	estimate types.String
}

func (v runbookValues) set(m *drPolicyModel) {
	m.Runbook, m.RunbookMarkdown, m.EstimatedRTO = v.steps, v.markdown, v.estimate
}

func runbookOf(name string, rb compile.Runbook) runbookValues {
	var steps []attr.Value
	for _, s := range rb.Steps {
		steps = append(steps, types.ObjectValueMust(runbookStepType.AttrTypes, map[string]attr.Value{
			"group": types.Int64Value(int64(s.Group)), "primitive": types.StringValue(s.Primitive), "type": types.StringValue(s.Type),
			"region": types.StringValue(s.Region), "action": types.StringValue(s.Action), "estimate": types.StringValue(s.Estimate),
		}))
	}
	return runbookValues{
		steps:    types.ListValueMust(runbookStepType, steps),
		markdown: types.StringValue(rb.Markdown(name)),
		estimate: types.StringValue(rb.Estimate),
	}
}

func (r *drPolicy) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if r.data == nil {
		return
	}
	if req.Plan.Raw.IsNull() {
		var state drPolicyModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		records, diags := recordsOf(ctx, req.Private, &state)
		resp.Diagnostics.Append(diags...)
		if !resp.Diagnostics.HasError() {
			warnDataDestroyed(ctx, r.data, state.address(), records, &resp.Diagnostics)
		}
		return
	}
	var plan, state drPolicyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if !req.State.Raw.IsNull() {
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	plan.ID = plan.Name
	plan.PartialRecords = types.StringNull() // an apply that succeeds leaves none
	plan.Primitives = types.ListUnknown(primitiveType)
	unknownRunbook := runbookValues{types.ListUnknown(runbookStepType), types.StringUnknown(), types.StringUnknown()}
	unknownRunbook.set(&plan)
	plan.Proven, plan.LastDrill = types.BoolValue(false), types.StringNull()
	if !state.Proven.IsNull() && !state.Proven.IsUnknown() {
		plan.Proven, plan.LastDrill = state.Proven, state.LastDrill
	}
	p, known, diags := plan.blueprint(ctx)
	if last := plan.LastDrill.ValueString(); last != "" {
		var rep drill.Report
		if json.Unmarshal([]byte(last), &rep) == nil {
			p.MeasuredRTO = blueprint.Seconds(rep.MeasuredRTO)
		}
	}
	resp.Diagnostics.Append(diags...)
	if known && !resp.Diagnostics.HasError() {
		g, rb, diags := r.compile(p)
		resp.Diagnostics.Append(diags...)
		if resp.Diagnostics.HasError() {
			return
		}
		runbookOf(p.Name, rb).set(&plan)
		checkLimits("meridian_dr_policy."+p.Name, g, &resp.Diagnostics)
		if !req.State.Raw.IsNull() {
			records, diags := recordsOf(ctx, req.Private, &state)
			resp.Diagnostics.Append(diags...)
			pl, changed := planChanges(r.data, "meridian_dr_policy."+p.Name, g, records, &resp.Diagnostics)
			if !changed {
				plan.Primitives = state.Primitives
			}
			steps := dataSteps(r.data.drivers(), pl)
			replaceBy := vaultReplacePaths(plan, state, steps)
			resp.RequiresReplace = append(resp.RequiresReplace, replaceBy...)
			replaced := len(replaceBy) > 0 || !plan.Name.Equal(state.Name)
			protectData(ctx, r.data, "meridian_dr_policy."+p.Name, pl, records, replaced, plan.AllowDataLoss, &resp.Diagnostics)
			if !replaced {
				refuseTaken(ctx, r.data, "meridian_dr_policy."+p.Name, pl, records, &resp.Diagnostics)
			}
		} else if old, diags := loadRecords(ctx, req.Private); len(old.Records) == 0 && !diags.HasError() {
			// A create from nothing: in the create half of a replacement,
			// the private state is the old policy's, whose names its delete
			// half frees first.
			if pl, err := engine.Diff(g, old, r.data.drivers()); err == nil {
				refuseTaken(ctx, r.data, "meridian_dr_policy."+p.Name, pl, old, &resp.Diagnostics)
			}
		}
		if !plan.Proven.ValueBool() {
			resp.Diagnostics.AddAttributeWarning(path.Root("proven"), "Unproven DR policy",
				fmt.Sprintf("%s: no drill has measured the RTO (%s) and RPO (%s) yet; the design estimates a restore in %s. Run `meridian drill` to prove it.", subject("meridian_dr_policy", p.Name), p.RTO, p.RPO, rb.Estimate))
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)
}

// vaultReplacePaths returns the attributes whose change makes steps delete
// or replace a backup vault (its name, or the pair, whose name and regions
// name and place the vaults), so that terraform shows the policy as replaced
// and lifecycle.prevent_destroy stops the plan.
func vaultReplacePaths(plan, state drPolicyModel, steps []engine.Step) path.Paths {
	var out path.Paths
	for _, s := range steps {
		if s.Type != compile.BackupVault {
			continue
		}
		if !plan.RegionPair.Equal(state.RegionPair) {
			out = append(out, path.Root("region_pair"))
		}
		var was, now types.String
		if state.Backup != nil && plan.Backup != nil {
			was, now = state.Backup.PrimaryVault, plan.Backup.PrimaryVault
			if s.Name == compile.BackupVault+".secondary" {
				was, now = state.Backup.SecondaryVault, plan.Backup.SecondaryVault
			}
		}
		if !was.Equal(now) {
			out = append(out, path.Root("backup").AtName(strings.TrimPrefix(s.Name, compile.BackupVault+".")+"_vault"))
		}
	}
	return out
}

func (r *drPolicy) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan drPolicyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if !resp.Diagnostics.HasError() {
		r.apply(ctx, plan, engine.State{}, &resp.State, resp.Private, &resp.Diagnostics)
	}
}

func (r *drPolicy) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan drPolicyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	records, diags := loadRecords(ctx, req.Private)
	resp.Diagnostics.Append(diags...)
	if !resp.Diagnostics.HasError() {
		r.apply(ctx, plan, records, &resp.State, resp.Private, &resp.Diagnostics)
	}
}

func (r *drPolicy) apply(ctx context.Context, plan drPolicyModel, records engine.State, state stateSetter, private privateState, diags *diag.Diagnostics) {
	p, known, d := plan.blueprint(ctx)
	diags.Append(d...)
	if !known || diags.HasError() {
		diags.AddError("Values not known at apply", "meridian_dr_policy: some arguments are still unknown.")
		return
	}
	g, rb, d := r.compile(p)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	records = applyGraph(ctx, r.data, "meridian_dr_policy."+p.Name, g, records, diags)
	plan.ID = plan.Name
	runbookOf(p.Name, rb).set(&plan)
	plan.Primitives = primitivesValue(records)
	plan.PartialRecords = partialRecords(records, diags.HasError())
	if plan.LastDrill.IsUnknown() {
		plan.LastDrill = types.StringNull()
	}
	diags.Append(saveRecords(ctx, private, records)...)
	if diags.HasError() && len(records.Records) == 0 {
		return
	}
	diags.Append(state.Set(ctx, plan)...)
}

func (r *drPolicy) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	readRecorded[drPolicyModel](ctx, r.data, false, req, resp)
	if resp.Diagnostics.HasError() || resp.State.Raw.IsNull() {
		return
	}
	// The proof lives with the pair: the newest drill report in its secondary bucket.
	var m drPolicyModel
	resp.Diagnostics.Append(resp.State.Get(ctx, &m)...)
	p, known, _ := m.blueprint(ctx)
	if !known {
		return
	}
	rep, found, err := drill.LatestReport(ctx, r.data.cloud, p.RegionPair)
	switch {
	case err != nil:
		resp.Diagnostics.AddWarning("Cannot read the last drill", m.address()+": "+err.Error())
	case found:
		b, _ := json.Marshal(rep)
		m.LastDrill, m.Proven = types.StringValue(string(b)), types.BoolValue(rep.Passed)
		resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
	}
}

func (r *drPolicy) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	deleteRecorded[drPolicyModel](ctx, r.data, req, resp)
}
