package provider

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
	"github.com/meridianhq/terraform-provider-meridian/internal/deploy"
	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
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

func (r *capacityReservation) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_capacity_reservation"
}

func (r *capacityReservation) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if req.ProviderData != nil {
		r.data = req.ProviderData.(*providerData)
	}
}

func capacityAddress(name string) string { return capacityType + "." + name }

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
// plan compiles m; records are the resource's, whose zones it keeps.
func (r *capacityReservation) plan(ctx context.Context, m capacityModel, records engine.State) (*primitive.Graph, *blueprint.CapacityPlan, diag.Diagnostics) {
	c, prices, unknown, ps, diags := m.blueprint(ctx, r.data.cloud)
	if diags.HasError() {
		return nil, nil, diags
	}
	name := subject(capacityType, c.Name)
	diags.Append(problemDiagnostics(name, ps, unknown)...)
	if len(unknown) > 0 || diags.HasError() {
		return nil, nil, diags
	}
	if _, ps := c.WithDefaults().Plan(prices); len(ps) > 0 {
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
	if r.data.cloud != nil {
		// The zones the primitives go to, chosen where the types are offered.
		c.Zones = deploy.RecordedZones(records.Records)
		zones, ps := deploy.CheckOfferings(ctx, r.data.cloud, c)
		diags.Append(problemDiagnostics(name, ps, nil)...)
		if diags.HasError() {
			return nil, nil, diags
		}
		c.Zones = zones
	}
	g, p, err := compile.Capacity(c, prices, r.data.defaultTags)
	if err != nil {
		diags.AddError("Cannot compile "+name, err.Error())
		return nil, nil, diags
	}
	diags.Append(keyConflictWarnings(compile.KeyConflicts(capacityAddress(c.Name), g))...) // capacity takes no cost tag policy
	return &g, &p, diags
}

// checkOfferings makes instance types that no available zone of a region
// offers a plan-time error on instance_types.
func (r *capacityReservation) checkOfferings(ctx context.Context, m capacityModel, diags *diag.Diagnostics) {
	c := blueprint.Capacity{PrimaryRegion: m.PrimaryRegion.ValueString(), SecondaryRegion: m.SecondaryRegion.ValueString()}
	diags.Append(m.InstanceTypes.ElementsAs(ctx, &c.InstanceTypes, false)...)
	_, ps := deploy.CheckOfferings(ctx, r.data.cloud, c)
	diags.Append(problemDiagnostics(subject(capacityType, m.Name.ValueString()), ps, nil)...)
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

func (r *capacityReservation) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.data == nil {
		return
	}
	var plan, state capacityModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if !req.State.Raw.IsNull() {
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	}
	var records engine.State
	if !req.State.Raw.IsNull() {
		var diags diag.Diagnostics
		records, diags = loadRecords(ctx, req.Private)
		resp.Diagnostics.Append(diags...)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	g, p, diags := r.plan(ctx, plan, records)
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
		// plan checked the offerings when it chose the zones.
		if !req.State.Raw.IsNull() {
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
	records, d := loadRecordsFrom(ctx, prior)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	g, p, d := r.plan(ctx, plan, records)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	if g == nil {
		diags.AddError("Values not known at apply", name+": some arguments are still unknown; this is a bug in meridian or Terraform.")
		return
	}
	records = applyGraph(ctx, r.data, name, *g, records, diags)
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
