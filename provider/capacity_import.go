package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/resource"

	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

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
	records, err := r.data.engine(capacityAddress(name), nil).Adopt(ctx, m.Graph(value, region), ids)
	if err != nil {
		resp.Diagnostics.AddError("Cannot import "+capacityAddress(name), err.Error())
		return
	}
	model := capacityModelOf(m.Blueprint)
	model.Primitives = primitivesValue(records)
	resp.Diagnostics.Append(resp.State.Set(ctx, model)...)
	resp.Diagnostics.Append(saveRecords(ctx, resp.Private, records)...)
}
