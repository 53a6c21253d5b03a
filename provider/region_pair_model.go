package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

type regionPairModel struct {
	ID                      types.String      `tfsdk:"id"`
	Name                    types.String      `tfsdk:"name"`
	PrimaryRegion           types.String      `tfsdk:"primary_region"`
	SecondaryRegion         types.String      `tfsdk:"secondary_region"`
	Mode                    types.String      `tfsdk:"mode"`
	WriteProfile            types.String      `tfsdk:"write_profile"`
	GloballyConsistentStore types.Bool        `tfsdk:"globally_consistent_store"`
	Tags                    types.Map         `tfsdk:"tags"`
	CostTagPolicy           types.String      `tfsdk:"cost_tag_policy"`
	ObjectStore             *objectStoreModel `tfsdk:"object_store"`
	KVTable                 *kvTableModel     `tfsdk:"kv_table"`
	DNS                     *dnsModel         `tfsdk:"dns"`
	Workload                *workloadModel    `tfsdk:"workload"`
	Primitives              types.List        `tfsdk:"primitives"`
	Spec                    types.String      `tfsdk:"spec"`
	FailoverFQDN            types.String      `tfsdk:"failover_fqdn"`
	PartialRecords          types.String      `tfsdk:"partial_records"`
	AllowDataLoss           types.Bool        `tfsdk:"allow_data_loss"`
}

func (m *regionPairModel) address() string            { return address(m.Name.ValueString()) }
func (m *regionPairModel) setPrimitives(l types.List) { m.Primitives = l }
func (m *regionPairModel) partial() types.String      { return m.PartialRecords }
func (m *regionPairModel) setPartial(v types.String)  { m.PartialRecords = v }

type objectStoreModel struct {
	BucketPrefix types.String `tfsdk:"bucket_prefix"`
	ForceDestroy types.Bool   `tfsdk:"force_destroy"`
}

type kvTableModel struct {
	Name    types.String `tfsdk:"name"`
	HashKey types.String `tfsdk:"hash_key"`
}

type workloadModel struct {
	Image           types.String `tfsdk:"image"`
	Replicas        types.Int64  `tfsdk:"replicas"`
	StandbyReplicas types.Int64  `tfsdk:"standby_replicas"`
	Ports           types.List   `tfsdk:"ports"`
	Env             types.Map    `tfsdk:"env"`
	Volume          *volumeModel `tfsdk:"volume"`
}

type volumeModel struct {
	Size      types.String `tfsdk:"size"`
	MountPath types.String `tfsdk:"mount_path"`
}

type dnsModel struct {
	ZoneName          types.String      `tfsdk:"zone_name"`
	ZoneID            types.String      `tfsdk:"zone_id"`
	RecordName        types.String      `tfsdk:"record_name"`
	PrimaryEndpoint   types.String      `tfsdk:"primary_endpoint"`
	SecondaryEndpoint types.String      `tfsdk:"secondary_endpoint"`
	TTL               types.Int64       `tfsdk:"ttl"`
	HealthCheck       *healthCheckModel `tfsdk:"health_check"`
}

type healthCheckModel struct {
	Protocol         types.String `tfsdk:"protocol"`
	Port             types.Int64  `tfsdk:"port"`
	Path             types.String `tfsdk:"path"`
	Interval         types.Int64  `tfsdk:"interval"`
	FailureThreshold types.Int64  `tfsdk:"failure_threshold"`
}

var primitiveType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"name": types.StringType, "type": types.StringType, "region": types.StringType,
	"id": types.StringType, "status": types.StringType,
}}

// reader collects the values of a model and the paths of those not yet known.
type reader struct {
	unknown map[string]bool
}

func (r *reader) str(p string, v basetypes.StringValue) string {
	if v.IsUnknown() {
		r.unknown[p] = true
	}
	return v.ValueString()
}

func (r *reader) int(p string, v basetypes.Int64Value) int {
	if v.IsUnknown() {
		r.unknown[p] = true
	}
	return int(v.ValueInt64())
}

func (r *reader) bool(p string, v basetypes.BoolValue) bool {
	if v.IsUnknown() {
		r.unknown[p] = true
	}
	return v.ValueBool()
}

// collection is a list or a map.
type collection interface {
	attr.Value
	ElementsAs(ctx context.Context, target any, allowUnhandled bool) diag.Diagnostics
}

// fullyKnown says whether a value and everything in it is known. A map can
// be known while one of its elements is not (tags = { team = var.team } with
// var.team computed), so IsUnknown alone is not enough.
func fullyKnown(ctx context.Context, v attr.Value) bool {
	tv, err := v.ToTerraformValue(ctx)
	return err == nil && tv.IsFullyKnown()
}

// elems reads a list or a map into target. While the collection or one of
// its elements is unknown, it marks p unknown and leaves target alone: the
// rules that need the values run when they are known.
func (r *reader) elems(ctx context.Context, p string, v collection, target any, diags *diag.Diagnostics) {
	if !fullyKnown(ctx, v) {
		r.unknown[p] = true
		return
	}
	diags.Append(v.ElementsAs(ctx, target, false)...)
}

// blueprint converts the model into the region pair as written. The set it returns
// holds the attributes whose values are not known yet ("dns.primary_endpoint").
func (m regionPairModel) blueprint(ctx context.Context) (blueprint.RegionPair, map[string]bool, diag.Diagnostics) {
	r := &reader{unknown: map[string]bool{}}
	rp := blueprint.RegionPair{
		Name:                    r.str("name", m.Name),
		PrimaryRegion:           r.str("primary_region", m.PrimaryRegion),
		SecondaryRegion:         r.str("secondary_region", m.SecondaryRegion),
		Mode:                    blueprint.Mode(r.str("mode", m.Mode)),
		WriteProfile:            blueprint.WriteProfile(r.str("write_profile", m.WriteProfile)),
		GloballyConsistentStore: r.bool("globally_consistent_store", m.GloballyConsistentStore),
	}
	var diags diag.Diagnostics
	r.elems(ctx, "tags", m.Tags, &rp.Tags, &diags)
	if policy := r.str("cost_tag_policy", m.CostTagPolicy); policy != "" {
		rp.CostTagPolicy = &blueprint.TagPolicy{}
		if err := json.Unmarshal([]byte(policy), rp.CostTagPolicy); err != nil {
			diags.AddAttributeError(path.Root("cost_tag_policy"), "Invalid cost tag policy",
				"cost_tag_policy takes the policy attribute of a meridian_cost_tag_policy resource: "+err.Error())
		}
	}
	if os := m.ObjectStore; os != nil {
		rp.ObjectStore = &blueprint.ObjectStore{
			BucketPrefix: r.str("object_store.bucket_prefix", os.BucketPrefix),
			ForceDestroy: r.bool("object_store.force_destroy", os.ForceDestroy),
		}
	}
	if kv := m.KVTable; kv != nil {
		rp.KVTable = &blueprint.KVTable{Name: r.str("kv_table.name", kv.Name), HashKey: r.str("kv_table.hash_key", kv.HashKey)}
		if kv.Name.IsNull() && r.unknown["name"] {
			r.unknown["kv_table.name"] = true // it defaults to the pair's name
		}
	}
	if w := m.Workload; w != nil {
		rp.Workload = &blueprint.Workload{
			Image:           r.str("workload.image", w.Image),
			Replicas:        r.int("workload.replicas", w.Replicas),
			StandbyReplicas: r.int("workload.standby_replicas", w.StandbyReplicas),
		}
		var ports []int64
		r.elems(ctx, "workload.ports", w.Ports, &ports, &diags)
		for _, p := range ports {
			rp.Workload.Ports = append(rp.Workload.Ports, int(p))
		}
		r.elems(ctx, "workload.env", w.Env, &rp.Workload.Env, &diags)
		if v := w.Volume; v != nil {
			rp.Workload.Volume = &blueprint.Volume{Size: r.str("workload.volume.size", v.Size), MountPath: r.str("workload.volume.mount_path", v.MountPath)}
		}
	}
	if d := m.DNS; d != nil {
		rp.DNS = &blueprint.DNS{
			ZoneName:          r.str("dns.zone_name", d.ZoneName),
			ZoneID:            r.str("dns.zone_id", d.ZoneID),
			RecordName:        r.str("dns.record_name", d.RecordName),
			PrimaryEndpoint:   r.str("dns.primary_endpoint", d.PrimaryEndpoint),
			SecondaryEndpoint: r.str("dns.secondary_endpoint", d.SecondaryEndpoint),
			TTL:               r.int("dns.ttl", d.TTL),
		}
		if hc := d.HealthCheck; hc != nil {
			hcPath := hc.Path
			if hcPath.IsUnknown() && !hc.Protocol.IsUnknown() {
				// Planned unknown only because the protocol was: its default
				// follows from the protocol known now (WithDefaults).
				hcPath = types.StringNull()
			}
			rp.DNS.HealthCheck = blueprint.HealthCheck{
				Protocol:         r.str("dns.health_check.protocol", hc.Protocol),
				Port:             r.int("dns.health_check.port", hc.Port),
				Path:             r.str("dns.health_check.path", hcPath),
				Interval:         r.int("dns.health_check.interval", hc.Interval),
				FailureThreshold: r.int("dns.health_check.failure_threshold", hc.FailureThreshold),
			}
		}
	}
	return rp, r.unknown, diags
}

// specJSON is the pair as written, as other resources receive it, with
// the workload's env values redacted: spec is not a sensitive attribute,
// and no resource that reads it needs them.
func specJSON(rp blueprint.RegionPair) string {
	if w := rp.Workload; w != nil && len(w.Env) > 0 {
		redacted := *w
		redacted.Env = map[string]string{}
		for k := range w.Env {
			redacted.Env[k] = primitive.Redacted
		}
		rp.Workload = &redacted
	}
	b, err := json.Marshal(rp)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// subject names a resource in a diagnostic: its type and its name
// attribute, quoted. The provider never sees the terraform address
// (meridian_region_pair.web may have name = "storefront-web"); terraform
// prints the address and the line above every diagnostic that has an
// attribute path, so the message must not make up an address of its own.
func subject(typ, name string) string {
	if name == "" {
		return typ + " (empty name)"
	}
	return fmt.Sprintf("%s %q", typ, name)
}

// subjectOf is the subject of a resource id "type.name", the value of the
// meridian:resource tag that compile gives every primitive.
func subjectOf(id string) string {
	typ, name, _ := strings.Cut(id, ".")
	return subject(typ, name)
}

// violationDiagnostics turns broken tag rules into diagnostics on the
// attribute the user changes to mend them.
func violationDiagnostics(vs compile.Violations) diag.Diagnostics {
	var diags diag.Diagnostics
	for _, v := range vs {
		at := path.Root("tags")
		if v.Tag == "" {
			at = path.Root("cost_tag_policy")
		}
		diags.AddAttributeError(at, v.Summary, fmt.Sprintf("%s: %s, on %s.", subjectOf(v.Resource), v.Detail, strings.Join(v.Primitives, ", ")))
	}
	return diags
}

// keyConflictWarnings shows keys spelt two ways as warnings on tags, as the
// README promises for resources without a cost tag policy (with one, they
// are errors: violationDiagnostics).
func keyConflictWarnings(vs compile.Violations) diag.Diagnostics {
	var diags diag.Diagnostics
	for _, v := range vs {
		diags.AddAttributeWarning(path.Root("tags"), v.Summary,
			fmt.Sprintf("%s: %s, on %s. Both keys are applied; a cost tag policy makes this an error.", subjectOf(v.Resource), v.Detail, strings.Join(v.Primitives, ", ")))
	}
	return diags
}

// problemDiagnostics turns broken rules into diagnostics on their attributes,
// leaving out rules that involve values not known yet: those are checked
// again when they are known, at apply.
func problemDiagnostics(resource string, problems []blueprint.Problem, unknown map[string]bool) diag.Diagnostics {
	var diags diag.Diagnostics
	for _, p := range problems {
		skip := false
		for _, at := range p.Paths {
			skip = skip || unknown[at]
		}
		switch {
		case skip:
		case p.Warning:
			diags.AddAttributeWarning(attributePath(p.Paths[0]), p.Summary, resource+": "+p.Detail)
		default:
			diags.AddAttributeError(attributePath(p.Paths[0]), p.Summary, resource+": "+p.Detail)
		}
	}
	return diags
}

func attributePath(dotted string) path.Path {
	parts := strings.Split(dotted, ".")
	p := path.Root(parts[0])
	for _, part := range parts[1:] {
		p = p.AtName(part)
	}
	return p
}

// primitivesValue lists the recorded primitives for users to read.
func primitivesValue(st engine.State) types.List {
	var elems []attr.Value
	for _, r := range st.Records {
		status := "ok"
		switch {
		case r.Pending != "":
			status = "pending"
		case r.Outputs["verified"] == "false":
			status = "unverified"
		}
		elems = append(elems, types.ObjectValueMust(primitiveType.AttrTypes, map[string]attr.Value{
			"name": types.StringValue(r.Name), "type": types.StringValue(r.Type), "region": types.StringValue(r.Region),
			"id": types.StringValue(r.ID), "status": types.StringValue(status),
		}))
	}
	return types.ListValueMust(primitiveType, elems)
}

// regionPairModel builds the model of a region pair as written, for import:
// absent blocks stay null and the schema's defaults fill what was omitted.
func modelOf(rp blueprint.RegionPair) regionPairModel {
	optional := func(s string) types.String {
		if s == "" {
			return types.StringNull()
		}
		return types.StringValue(s)
	}
	m := regionPairModel{
		ID: types.StringValue(rp.Name), Name: types.StringValue(rp.Name),
		PrimaryRegion: types.StringValue(rp.PrimaryRegion), SecondaryRegion: types.StringValue(rp.SecondaryRegion),
		Mode: types.StringValue(string(rp.WithDefaults().Mode)), WriteProfile: types.StringValue(string(rp.WithDefaults().WriteProfile)),
		GloballyConsistentStore: types.BoolValue(rp.GloballyConsistentStore),
		Tags:                    types.MapNull(types.StringType),
		CostTagPolicy:           types.StringNull(),
		FailoverFQDN:            types.StringNull(),
		Spec:                    types.StringValue(specJSON(rp)),
	}
	if rp.CostTagPolicy != nil {
		m.CostTagPolicy = types.StringValue(policyJSON(*rp.CostTagPolicy))
	}
	if len(rp.Tags) > 0 {
		m.Tags, _ = types.MapValueFrom(context.Background(), types.StringType, rp.Tags)
	}
	if os := rp.ObjectStore; os != nil {
		m.ObjectStore = &objectStoreModel{BucketPrefix: types.StringValue(os.BucketPrefix), ForceDestroy: types.BoolValue(os.ForceDestroy)}
	}
	if kv := rp.KVTable; kv != nil {
		m.KVTable = &kvTableModel{Name: optional(kv.Name), HashKey: types.StringValue(kv.HashKey)}
	}
	if w := rp.Workload; w != nil {
		m.Workload = &workloadModel{
			Image: types.StringValue(w.Image), Replicas: types.Int64Value(int64(w.Replicas)), StandbyReplicas: types.Int64Value(int64(w.StandbyReplicas)),
			Ports: types.ListNull(types.Int64Type), Env: types.MapNull(types.StringType),
		}
		if len(w.Ports) > 0 {
			m.Workload.Ports, _ = types.ListValueFrom(context.Background(), types.Int64Type, w.Ports)
		}
		if len(w.Env) > 0 {
			m.Workload.Env, _ = types.MapValueFrom(context.Background(), types.StringType, w.Env)
		}
		if v := w.Volume; v != nil {
			m.Workload.Volume = &volumeModel{Size: types.StringValue(v.Size), MountPath: types.StringValue(v.MountPath)}
		}
	}
	if dns := rp.DNS; dns != nil {
		ttl := dns.TTL
		if ttl == 0 {
			ttl = blueprint.DefaultTTL
		}
		m.DNS = &dnsModel{
			ZoneName: types.StringValue(dns.ZoneName), ZoneID: optional(dns.ZoneID), RecordName: types.StringValue(dns.RecordName),
			PrimaryEndpoint: types.StringValue(dns.PrimaryEndpoint), SecondaryEndpoint: types.StringValue(dns.SecondaryEndpoint),
			TTL: types.Int64Value(int64(ttl)),
		}
		if hc := dns.HealthCheck; hc != (blueprint.HealthCheck{}) {
			m.DNS.HealthCheck = &healthCheckModel{
				Protocol: types.StringValue(hc.Protocol), Port: types.Int64Value(int64(hc.Port)), Path: optional(hc.Path),
				Interval: types.Int64Value(int64(hc.Interval)), FailureThreshold: types.Int64Value(int64(hc.FailureThreshold)),
			}
		}
		m.FailoverFQDN = types.StringValue(dns.FailoverFQDN())
	}
	return m
}
