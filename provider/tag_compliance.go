package provider

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
)

var _ datasource.DataSourceWithConfigure = &tagCompliance{}

func newTagCompliance() datasource.DataSource { return &tagCompliance{} }

// tagCompliance audits the whole account, not only what meridian made.
type tagCompliance struct{ data *providerData }

type tagComplianceModel struct {
	Policy     types.String `tfsdk:"policy"`
	Regions    []string     `tfsdk:"regions"`
	Checked    types.Int64  `tfsdk:"checked"`
	Compliant  types.Bool   `tfsdk:"compliant"`
	Violations types.List   `tfsdk:"violations"`
}

var violationType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"arn": types.StringType, "type": types.StringType, "region": types.StringType,
	"problems": types.ListType{ElemType: types.StringType},
}}

func (d *tagCompliance) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_tag_compliance"
}

func (d *tagCompliance) Configure(_ context.Context, req datasource.ConfigureRequest, _ *datasource.ConfigureResponse) {
	if req.ProviderData != nil {
		d.data = req.ProviderData.(*providerData)
	}
}

func (d *tagCompliance) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "Audits the account against a cost tag policy: every resource the Resource Groups Tagging API lists in the given regions, and every S3 bucket tagged or not (the tagging API does not list resources that never had tags), whoever created it.",
		Attributes: map[string]schema.Attribute{
			"policy":  schema.StringAttribute{Required: true, Description: "The `policy` attribute of a `meridian_cost_tag_policy`."},
			"regions": schema.ListAttribute{Required: true, ElementType: types.StringType, Description: "Regions to audit."},
			"checked": schema.Int64Attribute{Computed: true, Description: "How many resources were checked."},
			"compliant": schema.BoolAttribute{Computed: true,
				Description: "Whether every checked resource follows the policy."},
			"violations": schema.ListAttribute{Computed: true, ElementType: violationType,
				Description: "Resources that break the policy: arn, type (service:resource), region and the problems."},
		},
	}
}

func (d *tagCompliance) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m tagComplianceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || d.data == nil {
		return
	}
	var p blueprint.TagPolicy
	if err := json.Unmarshal([]byte(m.Policy.ValueString()), &p); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("policy"), "Invalid cost tag policy", "policy takes the policy attribute of a meridian_cost_tag_policy resource: "+err.Error())
		return
	}
	for _, r := range m.Regions {
		if !blueprint.KnownRegion(r) {
			resp.Diagnostics.AddAttributeError(path.Root("regions"), "Unknown region", fmt.Sprintf("%q is not an AWS region meridian knows.", r))
		}
	}
	if resp.Diagnostics.HasError() {
		return
	}
	resources, err := d.data.cloud.TaggedResources(ctx, m.Regions)
	if err != nil {
		resp.Diagnostics.AddError("Cannot audit tags", err.Error())
		return
	}
	var violations []attr.Value
	for _, res := range resources {
		problems := p.Check(res.Tags)
		if len(problems) == 0 {
			continue
		}
		var lines []attr.Value
		for _, pr := range problems {
			lines = append(lines, types.StringValue(pr.Summary+": "+pr.Detail))
		}
		violations = append(violations, types.ObjectValueMust(violationType.AttrTypes, map[string]attr.Value{
			"arn": types.StringValue(res.ARN), "type": types.StringValue(res.Type), "region": types.StringValue(res.Region),
			"problems": types.ListValueMust(types.StringType, lines),
		}))
	}
	m.Checked = types.Int64Value(int64(len(resources)))
	m.Compliant = types.BoolValue(len(violations) == 0)
	m.Violations = types.ListValueMust(violationType, violations)
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}
