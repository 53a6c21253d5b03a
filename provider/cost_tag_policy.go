package provider

import (
	"context"
	"encoding/json"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
)

var (
	_ resource.ResourceWithConfigure      = &costTagPolicy{}
	_ resource.ResourceWithValidateConfig = &costTagPolicy{}
	_ resource.ResourceWithModifyPlan     = &costTagPolicy{}
)

func newCostTagPolicy() resource.Resource { return &costTagPolicy{} }

type costTagPolicy struct{ data *providerData }

type costTagPolicyModel struct {
	ID             types.String      `tfsdk:"id"`
	Name           types.String      `tfsdk:"name"`
	RequiredTags   types.List        `tfsdk:"required_tags"`
	AllowedValues  types.Map         `tfsdk:"allowed_values"`
	KeyCase        types.String      `tfsdk:"key_case"`
	DefaultTags    types.Map         `tfsdk:"default_tags"`
	Exemptions     types.Map         `tfsdk:"exemptions"`
	EnforceInCloud *enforcementModel `tfsdk:"enforce_in_cloud"`
	Policy         types.String      `tfsdk:"policy"`
	Report         types.String      `tfsdk:"report"`
	Primitives     types.List        `tfsdk:"primitives"`
	PartialRecords types.String      `tfsdk:"partial_records"`
}

func (m *costTagPolicyModel) address() string {
	return "meridian_cost_tag_policy." + m.Name.ValueString()
}
func (m *costTagPolicyModel) setPrimitives(l types.List) { m.Primitives = l }
func (m *costTagPolicyModel) partial() types.String      { return m.PartialRecords }
func (m *costTagPolicyModel) setPartial(v types.String)  { m.PartialRecords = v }

type enforcementModel struct {
	TargetID types.String `tfsdk:"target_id"`
}

type allowedValuesModel struct {
	Values  []string     `tfsdk:"values"`
	Pattern types.String `tfsdk:"pattern"`
}

func (r *costTagPolicy) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_cost_tag_policy"
}

func (r *costTagPolicy) Configure(_ context.Context, req resource.ConfigureRequest, _ *resource.ConfigureResponse) {
	if req.ProviderData != nil {
		r.data = req.ProviderData.(*providerData)
	}
}

func (r *costTagPolicy) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Version:     schemaVersion,
		Description: "The tags every primitive must carry. Pass `policy` to a resource's `cost_tag_policy` and every primitive it compiles into is checked at plan time: a missing tag, a value not allowed, a key in the wrong case or spelt two ways, or an untaggable primitive type that is not exempted with a reason is an error. With `enforce_in_cloud`, the policy also becomes an AWS Organizations tag policy.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, Description: "The policy's name.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{Required: true, Description: "Name of the policy; the Organizations policy is `meridian-<name>`.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"required_tags": schema.ListAttribute{Optional: true, ElementType: types.StringType,
				Description: "Keys every taggable primitive must carry, spelt exactly so."},
			"allowed_values": schema.MapNestedAttribute{
				Optional:    true,
				Description: "Per key, the values allowed: a list (`values`) or a regular expression (`pattern`).",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"values":  schema.ListAttribute{Optional: true, ElementType: types.StringType, Description: "The allowed values."},
					"pattern": schema.StringAttribute{Optional: true, Description: "A regular expression (RE2) every value must match."},
				}},
			},
			"key_case": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(blueprint.KeyCaseAny),
				Description: "Casing every key must follow: `any` (default), `kebab-case`, `snake_case`, `camelCase` or `PascalCase`. Derived `meridian:` keys are exempt. Whatever the casing, two keys that mean the same (`cost-centre`, `CostCenter`) are a conflict.",
			},
			"default_tags": schema.MapAttribute{Optional: true, ElementType: types.StringType,
				Description: "Tags the policy adds; they win over the provider's default_tags and lose to a resource's own tags."},
			"exemptions": schema.MapAttribute{Optional: true, ElementType: types.StringType,
				Description: "Primitive types that cannot carry tags, each with the reason (e.g. `aws_route53_record`). An untaggable type that is not listed is an error."},
			"policy": schema.StringAttribute{Computed: true,
				Description: "The policy as JSON, to pass to a resource's `cost_tag_policy`."},
			"report": schema.StringAttribute{Computed: true,
				Description: "JSON: the rules in force, and where the policy is enforced in the cloud (Organizations policy id and target)."},
			"primitives": schema.ListAttribute{Computed: true, ElementType: primitiveType,
				Description: "The cloud objects of the policy: the Organizations policy and its attachment, when enforced in the cloud."},
			partialRecordsAttribute: schema.StringAttribute{Computed: true, Sensitive: true, Description: partialRecordsDescription},
		},
		Blocks: map[string]schema.Block{
			"enforce_in_cloud": schema.SingleNestedBlock{
				Description: "Create an AWS Organizations TAG_POLICY from the policy and attach it (the policy type is enabled on a root target first).",
				Attributes: map[string]schema.Attribute{
					"target_id": schema.StringAttribute{Optional: true, Description: "Root (`r-...`), organizational unit or account id. Required in the block."},
				},
			},
		},
	}
}

// blueprint converts the model; ok is false while values are unknown.
func (m costTagPolicyModel) blueprint(ctx context.Context) (blueprint.TagPolicy, bool, diag.Diagnostics) {
	var diags diag.Diagnostics
	for _, v := range []attr.Value{m.Name, m.RequiredTags, m.AllowedValues, m.KeyCase, m.DefaultTags, m.Exemptions} {
		if !fullyKnown(ctx, v) {
			return blueprint.TagPolicy{}, false, diags
		}
	}
	p := blueprint.TagPolicy{Name: m.Name.ValueString(), KeyCase: m.KeyCase.ValueString()}
	diags.Append(m.RequiredTags.ElementsAs(ctx, &p.RequiredTags, false)...)
	diags.Append(m.DefaultTags.ElementsAs(ctx, &p.DefaultTags, false)...)
	diags.Append(m.Exemptions.ElementsAs(ctx, &p.Exemptions, false)...)
	var allowed map[string]allowedValuesModel
	diags.Append(m.AllowedValues.ElementsAs(ctx, &allowed, false)...)
	for k, av := range allowed {
		if p.AllowedValues == nil {
			p.AllowedValues = map[string]blueprint.AllowedValues{}
		}
		p.AllowedValues[k] = blueprint.AllowedValues{Values: av.Values, Pattern: av.Pattern.ValueString()}
	}
	if e := m.EnforceInCloud; e != nil {
		if e.TargetID.IsUnknown() {
			return p, false, diags
		}
		p.EnforceInCloud = &blueprint.Enforcement{TargetID: e.TargetID.ValueString()}
	}
	return p.WithDefaults(), true, diags
}

// policyJSON is the canonical text of a policy, as resources receive it.
func policyJSON(p blueprint.TagPolicy) string {
	p.EnforceInCloud = nil // where it is enforced is not a rule for the resources
	b, err := json.Marshal(p)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func (r *costTagPolicy) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m costTagPolicyModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if m.KeyCase.IsNull() {
		m.KeyCase = types.StringValue(blueprint.KeyCaseAny)
	}
	p, known, diags := m.blueprint(ctx)
	resp.Diagnostics.Append(diags...)
	if known {
		resp.Diagnostics.Append(problemDiagnostics(subject("meridian_cost_tag_policy", p.Name), p.Validate(), nil)...)
	}
}

func (r *costTagPolicy) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return
	}
	var plan, state costTagPolicyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if !req.State.Raw.IsNull() {
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	plan.ID = plan.Name
	plan.PartialRecords = types.StringNull() // an apply that succeeds leaves none
	plan.Policy, plan.Report, plan.Primitives = types.StringUnknown(), types.StringUnknown(), types.ListUnknown(primitiveType)
	p, known, diags := plan.blueprint(ctx)
	resp.Diagnostics.Append(diags...)
	if known && !resp.Diagnostics.HasError() {
		// The policy text is known at plan time, so resources that use it
		// are checked in the same plan.
		plan.Policy = types.StringValue(policyJSON(p))
		g, err := compile.TagPolicy(p, r.data.defaultTags)
		if err != nil {
			resp.Diagnostics.AddError("Cannot compile meridian_cost_tag_policy."+p.Name, err.Error())
			return
		}
		if !req.State.Raw.IsNull() {
			records, diags := loadRecords(ctx, req.Private)
			resp.Diagnostics.Append(diags...)
			if _, changed := planChanges(r.data, "meridian_cost_tag_policy."+p.Name, g, records, &resp.Diagnostics); !changed && plan.Policy.Equal(state.Policy) {
				plan.Report, plan.Primitives = state.Report, state.Primitives
			}
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)
}

func (r *costTagPolicy) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan costTagPolicyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if !resp.Diagnostics.HasError() {
		r.apply(ctx, plan, engine.State{}, &resp.State, resp.Private, &resp.Diagnostics)
	}
}

func (r *costTagPolicy) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan costTagPolicyModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	records, diags := loadRecords(ctx, req.Private)
	resp.Diagnostics.Append(diags...)
	if !resp.Diagnostics.HasError() {
		r.apply(ctx, plan, records, &resp.State, resp.Private, &resp.Diagnostics)
	}
}

func (r *costTagPolicy) apply(ctx context.Context, plan costTagPolicyModel, records engine.State, state stateSetter, private privateState, diags *diag.Diagnostics) {
	p, known, d := plan.blueprint(ctx)
	diags.Append(d...)
	if !known || diags.HasError() {
		diags.AddError("Values not known at apply", "meridian_cost_tag_policy: some arguments are still unknown.")
		return
	}
	name := "meridian_cost_tag_policy." + p.Name
	g, err := compile.TagPolicy(p, r.data.defaultTags)
	if err != nil {
		diags.AddError("Cannot compile "+name, err.Error())
		return
	}
	records = applyGraph(ctx, r.data, name, g, records, diags)
	plan.ID, plan.Policy = plan.Name, types.StringValue(policyJSON(p))
	plan.Report = types.StringValue(policyReport(p, records))
	plan.Primitives = primitivesValue(records)
	plan.PartialRecords = partialRecords(records, diags.HasError())
	diags.Append(saveRecords(ctx, private, records)...)
	if diags.HasError() && len(records.Records) == 0 {
		return
	}
	diags.Append(state.Set(ctx, plan)...)
}

// policyReport says what the policy enforces and where.
func policyReport(p blueprint.TagPolicy, records engine.State) string {
	report := map[string]any{
		"name": p.Name, "required_tags": p.RequiredTags, "key_case": p.KeyCase,
		"allowed_values": len(p.AllowedValues), "exemptions": p.Exemptions,
	}
	if rec, ok := records.Get(compile.OrganizationsPolicy + ".tag"); ok {
		report["organizations_policy_id"] = rec.ID
		report["organizations_target_id"] = p.EnforceInCloud.TargetID
	}
	b, _ := json.Marshal(report)
	return string(b)
}

func (r *costTagPolicy) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	// A policy not enforced in the cloud has no primitives: it is text in state.
	readRecorded[costTagPolicyModel](ctx, r.data, false, req, resp)
}

func (r *costTagPolicy) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	deleteRecorded[costTagPolicyModel](ctx, r.data, req, resp)
}
