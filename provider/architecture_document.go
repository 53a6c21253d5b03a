package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/meridianhq/terraform-provider-meridian/internal/architecture"
	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/drill"
)

var _ datasource.DataSourceWithConfigure = &architectureDocument{}

func newArchitectureDocument() datasource.DataSource { return &architectureDocument{} }

// architectureDocument writes the architecture document of the resources
// it is given, as `meridian doc` writes it for a stack: it compiles them
// as their resources do and calls no cloud API.
type architectureDocument struct{ data *providerData }

func (d *architectureDocument) Configure(_ context.Context, req datasource.ConfigureRequest, _ *datasource.ConfigureResponse) {
	if req.ProviderData != nil {
		d.data = req.ProviderData.(*providerData)
	}
}

type architectureDocumentModel struct {
	Name        types.String           `tfsdk:"name"`
	RegionPairs []types.String         `tfsdk:"region_pairs"`
	DRPolicies  []architecturePolicyIn `tfsdk:"dr_policies"`
	At          types.String           `tfsdk:"at"`

	Markdown types.String `tfsdk:"markdown"`
	Diagrams types.Map    `tfsdk:"diagrams"`
	Findings types.List   `tfsdk:"findings"`
	Defended types.Bool   `tfsdk:"defended"`
}

type architecturePolicyIn struct {
	Name            types.String   `tfsdk:"name"`
	RegionPair      types.String   `tfsdk:"region_pair"`
	RPO             types.String   `tfsdk:"rpo"`
	RTO             types.String   `tfsdk:"rto"`
	RestoreOrder    []types.String `tfsdk:"restore_order"`
	BackupSchedule  types.String   `tfsdk:"backup_schedule"`
	RetentionDays   types.Int64    `tfsdk:"retention_days"`
	CrossRegionCopy types.Bool     `tfsdk:"cross_region_copy"`
	DrillSchedule   types.String   `tfsdk:"drill_schedule"`
	LastDrill       types.String   `tfsdk:"last_drill"`
}

func (d *architectureDocument) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_architecture_document"
}

func (d *architectureDocument) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "The architecture document of the region pairs and DR policies it is given, as `meridian doc` writes it for a stack: requirements and SLOs, topology, data and consistency, routing and failover, disaster recovery (runbook, last drill), capacity, cost, security, observability, and risks, with every decision defended by an alternative and the trade-off in numbers, each number naming its source. Diagrams come as SVG documents. No cloud API is called.",
		Attributes: map[string]schema.Attribute{
			"name":         schema.StringAttribute{Required: true, Description: "The document's title."},
			"region_pairs": schema.ListAttribute{Required: true, ElementType: types.StringType, Description: "The `spec` of each `meridian_region_pair` to document."},
			"dr_policies": schema.ListNestedAttribute{
				Optional:    true,
				Description: "The DR policies of those pairs, with the arguments of `meridian_dr_policy`.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name":              schema.StringAttribute{Required: true, Description: "`meridian_dr_policy.X.name`."},
					"region_pair":       schema.StringAttribute{Required: true, Description: "The pair's `spec`."},
					"rpo":               schema.StringAttribute{Required: true},
					"rto":               schema.StringAttribute{Required: true},
					"restore_order":     schema.ListAttribute{Optional: true, ElementType: types.StringType},
					"backup_schedule":   schema.StringAttribute{Optional: true, Description: "Default `" + blueprint.DefaultSchedule + "`."},
					"retention_days":    schema.Int64Attribute{Optional: true, Description: fmt.Sprintf("Default %d.", blueprint.DefaultRetentionDays)},
					"cross_region_copy": schema.BoolAttribute{Optional: true, Description: "Default true."},
					"drill_schedule":    schema.StringAttribute{Optional: true},
					"last_drill":        schema.StringAttribute{Optional: true, Description: "The latest drill's report as JSON: `meridian_dr_policy.X.last_drill` or `meridian_dr_drill.X.report`. Without it the policy is reported as never drilled."},
				}},
			},
			"at":       schema.StringAttribute{Optional: true, Description: "Review as of this date (`YYYY-MM-DD`, default today): how old the last drills are."},
			"markdown": schema.StringAttribute{Computed: true, Description: "The document, in Markdown; its images refer to the keys of `diagrams`."},
			"diagrams": schema.MapAttribute{Computed: true, ElementType: types.StringType, Description: "The SVG diagrams by file name (`topology-PAIR.svg`, `failover-PAIR.svg`, `runbook-POLICY.svg`): write them beside the Markdown with `local_file`."},
			"findings": schema.ListAttribute{Computed: true, ElementType: types.StringType, Description: "What cannot be defended, as `kind: resource: detail` (no DR policy, a drill never run, failed, or older than its `drill.schedule` allows and never more than 90 days, an RPO not backed, untagged spend, a choice with no alternative); `meridian doc --check` lists the same."},
			"defended": schema.BoolAttribute{Computed: true, Description: "True when there is no finding."},
		},
	}
}

func (d *architectureDocument) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m architectureDocumentModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	now := time.Now()
	if at := m.At.ValueString(); at != "" {
		t, err := time.Parse("2006-01-02", at)
		if err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("at"), "Invalid date", fmt.Sprintf("at %q: expected a date such as 2026-11-30", at))
			return
		}
		now = t
	}
	var pairs []blueprint.RegionPair
	for i, spec := range m.RegionPairs {
		var rp blueprint.RegionPair
		if err := json.Unmarshal([]byte(spec.ValueString()), &rp); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("region_pairs").AtListIndex(i), "Invalid region pair", "region_pairs takes the spec of a meridian_region_pair: "+err.Error())
			return
		}
		pairs = append(pairs, rp)
	}
	var policies []blueprint.DRPolicy
	drills := map[string]*drill.Report{}
	for i, in := range m.DRPolicies {
		at := path.Root("dr_policies").AtListIndex(i)
		p := blueprint.DRPolicy{Name: in.Name.ValueString(), RPO: in.RPO.ValueString(), RTO: in.RTO.ValueString(),
			Backup: blueprint.Backup{Schedule: in.BackupSchedule.ValueString(), RetentionDays: int(in.RetentionDays.ValueInt64()), CrossRegionCopy: true},
			Drill:  blueprint.Drill{Schedule: in.DrillSchedule.ValueString(), MaxDeviationPercent: DefaultDrillDeviation}}
		if !in.CrossRegionCopy.IsNull() {
			p.Backup.CrossRegionCopy = in.CrossRegionCopy.ValueBool()
		}
		for _, s := range in.RestoreOrder {
			p.RestoreOrder = append(p.RestoreOrder, s.ValueString())
		}
		if err := json.Unmarshal([]byte(in.RegionPair.ValueString()), &p.RegionPair); err != nil {
			resp.Diagnostics.AddAttributeError(at.AtName("region_pair"), "Invalid region pair", "region_pair takes the spec of a meridian_region_pair: "+err.Error())
			return
		}
		if raw := in.LastDrill.ValueString(); raw != "" {
			var rep drill.Report
			if err := json.Unmarshal([]byte(raw), &rep); err != nil {
				resp.Diagnostics.AddAttributeError(at.AtName("last_drill"), "Invalid drill report", "last_drill takes a drill report as JSON: "+err.Error())
				return
			}
			drills[p.RegionPair.Name] = &rep
		}
		policies = append(policies, p)
	}
	var defaultTags map[string]string
	if d.data != nil {
		defaultTags = d.data.defaultTags
	}
	in, err := architecture.FromBlueprints(m.Name.ValueString(), pairs, policies, drills, defaultTags, now)
	if err != nil {
		resp.Diagnostics.AddError("Cannot document the architecture", err.Error())
		return
	}
	doc := architecture.Write(in)
	diagrams := map[string]string{}
	for _, dg := range doc.Diagrams {
		diagrams[dg.File] = dg.SVG
	}
	var findings []string
	for _, f := range doc.Findings {
		findings = append(findings, f.Kind+": "+f.Resource+": "+f.Detail)
	}
	m.Markdown = types.StringValue(doc.Markdown)
	var diags diag.Diagnostics
	m.Diagrams, diags = types.MapValueFrom(ctx, types.StringType, diagrams)
	resp.Diagnostics.Append(diags...)
	m.Findings, diags = types.ListValueFrom(ctx, types.StringType, findings)
	resp.Diagnostics.Append(diags...)
	m.Defended = types.BoolValue(len(findings) == 0)
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}
