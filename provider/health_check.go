package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
)

var healthCheckProtocol = path.Root("dns").AtName("health_check").AtName("protocol")

// healthCheckPathDefault plans the default path only where a path means
// something: "/health" for HTTP and HTTPS, nothing for TCP. A static schema
// default would put "/health" on a TCP check and then report a path the user
// never wrote.
type healthCheckPathDefault struct{}

func (healthCheckPathDefault) Description(context.Context) string {
	return "`/health` for HTTP and HTTPS checks; none for TCP."
}

func (m healthCheckPathDefault) MarkdownDescription(ctx context.Context) string {
	return m.Description(ctx)
}

func (healthCheckPathDefault) PlanModifyString(ctx context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	if !req.ConfigValue.IsNull() {
		return // written by the user: keep it, right or wrong, so the rules see it
	}
	var protocol types.String
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, healthCheckProtocol, &protocol)...)
	switch {
	case protocol.IsUnknown():
		resp.PlanValue = types.StringUnknown() // known once the protocol is, at apply
	case protocol.ValueString() == "TCP":
		resp.PlanValue = types.StringNull()
	default:
		resp.PlanValue = types.StringValue(blueprint.DefaultPath)
	}
}

// settleHealthCheckPath gives a path left unknown at plan time (because the
// protocol was unknown then) the default of the protocol now known, so the
// state holds what was deployed.
func (m *regionPairModel) settleHealthCheckPath() {
	if m.DNS == nil || m.DNS.HealthCheck == nil {
		return
	}
	hc := m.DNS.HealthCheck
	if !hc.Path.IsUnknown() || hc.Protocol.IsUnknown() {
		return
	}
	hc.Path = types.StringNull()
	if p := (blueprint.RegionPair{DNS: &blueprint.DNS{HealthCheck: blueprint.HealthCheck{Protocol: hc.Protocol.ValueString()}}}).WithDefaults().DNS.HealthCheck.Path; p != "" {
		hc.Path = types.StringValue(p)
	}
}
