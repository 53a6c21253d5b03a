package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

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
	"github.com/meridianhq/terraform-provider-meridian/internal/deploy"
	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

var (
	_ resource.ResourceWithConfigure      = &regionPair{}
	_ resource.ResourceWithValidateConfig = &regionPair{}
	_ resource.ResourceWithModifyPlan     = &regionPair{}
	_ resource.ResourceWithImportState    = &regionPair{}
)

func newRegionPair() resource.Resource { return &regionPair{} }

// regionPair keeps the engine's records of its primitives in Terraform's
// private state, so Terraform state stays the one source of truth.
type regionPair struct{ data *providerData }

func (r *regionPair) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_region_pair"
}

func (r *regionPair) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if req.ProviderData != nil {
		r.data = req.ProviderData.(*providerData)
	}
}

func (r *regionPair) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{
		Version:     schemaVersion,
		Description: "A service's data and traffic spread over a primary and a secondary region: versioned buckets with cross-region replication, a DynamoDB table with its replica, and health-checked DNS failover. Changes that AWS can make in place are made in place; primitives that must be replaced are named in a plan warning. A change that would replace or delete a bucket or the table replaces the whole pair in terraform's plan (so `lifecycle { prevent_destroy = true }` stops it), and is an error while they hold data unless `allow_data_loss = true`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed: true, Description: "The pair's name.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Required: true, PlanModifiers: replace,
				Description: "Name of the pair: 3-40 lowercase letters, digits and hyphens. It names the table and the replication role. Changing it replaces the pair. Diagnostics name the resource by its type and this name (`meridian_region_pair \"checkout\"`), and every primitive carries it in the `meridian:resource` tag (`meridian_region_pair.checkout`): the provider never sees the terraform address, and the name, unlike the address, does not change with `moved` blocks or modules.",
			},
			"primary_region": schema.StringAttribute{
				Required: true, PlanModifiers: replace,
				Description: "AWS region that serves traffic and takes writes. Changing it replaces the pair.",
			},
			"secondary_region": schema.StringAttribute{
				Required: true, PlanModifiers: replace,
				Description: "AWS region that holds the replicas and takes traffic on failover. Changing it replaces the pair.",
			},
			"mode": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(string(blueprint.ActivePassive)),
				Description: "`active_passive` (default) or `active_active_sharded`, which replicates objects both ways.",
			},
			"write_profile": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(string(blueprint.ReadHeavy)),
				Description: "`read_heavy` (default) or `write_heavy`. Write-heavy sharded active-active needs `globally_consistent_store`.",
			},
			"globally_consistent_store": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				Description: "Declares that writes go to a store with global consistency, which makes write-heavy active-active safe from split brain.",
			},
			"tags": schema.MapAttribute{
				Optional: true, ElementType: types.StringType,
				Description: "Tags for every taggable primitive; they win over the provider's and the policy's default_tags. Keys starting with `meridian:` are reserved.",
			},
			allowDataLoss: schema.BoolAttribute{Optional: true, Description: allowDataLossDescription},
			"cost_tag_policy": schema.StringAttribute{
				Optional:    true,
				Description: "The `policy` attribute of a `meridian_cost_tag_policy`: every primitive is checked against it at plan time (or at apply, before any change, while values are unknown).",
			},
			"primitives": schema.ListAttribute{
				Computed: true, ElementType: primitiveType,
				Description: "The cloud objects the pair is made of: name, type, region, id and status (`ok`, `pending` or `unverified` when the endpoint accepted a call but does not show its result).",
			},
			"spec": schema.StringAttribute{
				Computed:    true,
				Description: "The pair as written, as JSON, known at plan time: pass it to `meridian_dr_policy`'s `region_pair`.",
			},
			partialRecordsAttribute: schema.StringAttribute{Computed: true, Sensitive: true, Description: partialRecordsDescription},
			"failover_fqdn": schema.StringAttribute{
				Computed:    true,
				Description: "The name clients resolve; it points to the primary endpoint while its health check passes and to the secondary otherwise.",
			},
		},
		Blocks: map[string]schema.Block{
			"object_store": schema.SingleNestedBlock{
				Description: "A versioned S3 bucket `<bucket_prefix>-<region>` in each region, replicated from primary to secondary (both ways in active-active). Replication uses S3 Replication Time Control with its metrics (99.99% of objects within 15 minutes, the bound a `meridian_dr_policy` RPO counts on; S3 charges for it per GB replicated), and the rule replicates delete markers.",
				Attributes: map[string]schema.Attribute{
					"bucket_prefix": schema.StringAttribute{Optional: true, Description: "Bucket names are `<bucket_prefix>-<region>`. Changing it replaces the buckets, and so the pair (see `allow_data_loss`). Required in the block."},
					"force_destroy": schema.BoolAttribute{
						Optional: true, Computed: true, Default: booldefault.StaticBool(false),
						Description: "Delete all objects and versions when the buckets are deleted. Without it, deleting a bucket that holds objects fails.",
					},
				},
			},
			"kv_table": schema.SingleNestedBlock{
				Description: "A DynamoDB table (on-demand, streams on) in the primary region with a replica in the secondary.",
				Attributes: map[string]schema.Attribute{
					"name":     schema.StringAttribute{Optional: true, Description: "Table name; default: the pair's name. Changing it replaces the table, and so the pair (see `allow_data_loss`)."},
					"hash_key": schema.StringAttribute{Optional: true, Description: "Partition key (a string attribute). Changing it replaces the table, and so the pair (see `allow_data_loss`). Required in the block."},
				},
			},
			"workload": schema.SingleNestedBlock{
				Description: "The service, run in each region's Kubernetes cluster (see the provider's kubernetes block): a namespace named after the pair with a config map of the region's role and its peer (MERIDIAN_REGION, MERIDIAN_REGION_ROLE, MERIDIAN_PEER_REGION, MERIDIAN_PEER_ENDPOINT), a deployment, a service when ports are set, and a volume claim. Cost tags become labels (see the k8s driver's label rules). Apply waits until both deployments are Available.",
				Attributes: map[string]schema.Attribute{
					"image": schema.StringAttribute{Optional: true, Description: "Container image. Required in the block."},
					"replicas": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(blueprint.DefaultReplicas),
						Description: "Replicas in every active region. Default 2."},
					"standby_replicas": schema.Int64Attribute{Optional: true, Computed: true, Default: int64default.StaticInt64(blueprint.DefaultStandbyReplicas),
						Description: "Replicas in the secondary region of an active-passive pair. Default 1."},
					"ports": schema.ListAttribute{Optional: true, ElementType: types.Int64Type, Description: "Container ports, also exposed by the service."},
					"env": schema.MapAttribute{Optional: true, Sensitive: true, ElementType: types.StringType,
						Description: "Environment variables; names starting with MERIDIAN_ are reserved. Sensitive: plans show `(sensitive value)`, meridian records only a salted SHA-256 of the values (its private state, partial_records), `spec` lists the names with their values redacted, and the SSM manifest leaves env out (an import gets it from the configuration). In each cluster the values live in the Secret `<name>-env`, which the container takes whole, not in the deployment's spec; a change rolls the pods."},
				},
				Blocks: map[string]schema.Block{
					"volume": schema.SingleNestedBlock{
						Description: "A persistent volume claim mounted into the containers; a drill snapshots and restores its data.",
						Attributes: map[string]schema.Attribute{
							"size": schema.StringAttribute{Optional: true, Description: "Requested size, e.g. `1Gi`. Required in the block."},
							"mount_path": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(blueprint.DefaultMountPath),
								Description: "Where the volume is mounted. Default `/data`."},
						},
					},
				},
			},
			"dns": schema.SingleNestedBlock{
				Description: "Route 53 failover: a health check on the primary endpoint and PRIMARY/SECONDARY CNAME records.",
				Attributes: map[string]schema.Attribute{
					"zone_name":          schema.StringAttribute{Optional: true, Description: "Hosted zone; created unless zone_id is set. Required in the block."},
					"zone_id":            schema.StringAttribute{Optional: true, Description: "An existing hosted zone to put the records in, instead of creating one."},
					"record_name":        schema.StringAttribute{Optional: true, Description: "Label within the zone, e.g. `api`. Required in the block."},
					"primary_endpoint":   schema.StringAttribute{Optional: true, Description: "Hostname that serves the primary region. Required in the block."},
					"secondary_endpoint": schema.StringAttribute{Optional: true, Description: "Hostname that serves the secondary region. Required in the block."},
					"ttl": schema.Int64Attribute{
						Optional: true, Computed: true, Default: int64default.StaticInt64(blueprint.DefaultTTL),
						Description: "TTL of the failover records in seconds. Default 60.",
					},
				},
				Blocks: map[string]schema.Block{
					"health_check": schema.SingleNestedBlock{
						Description: "How Route 53 probes the primary endpoint.",
						Attributes: map[string]schema.Attribute{
							"protocol": schema.StringAttribute{
								Optional: true, Computed: true, Default: stringdefault.StaticString(blueprint.DefaultProtocol),
								Description: "HTTP, HTTPS (default) or TCP. Changing it replaces the health check.",
							},
							"port": schema.Int64Attribute{
								Optional: true, Computed: true, Default: int64default.StaticInt64(blueprint.DefaultPort),
								Description: "Port to probe. Default 443.",
							},
							"path": schema.StringAttribute{
								Optional: true, Computed: true, PlanModifiers: []planmodifier.String{healthCheckPathDefault{}},
								Description: "Path to request (HTTP and HTTPS). Default `/health`; a TCP check has none.",
							},
							"interval": schema.Int64Attribute{
								Optional: true, Computed: true, Default: int64default.StaticInt64(blueprint.DefaultInterval),
								Description: "Seconds between probes: 10 or 30 (default). Changing it replaces the health check.",
							},
							"failure_threshold": schema.Int64Attribute{
								Optional: true, Computed: true, Default: int64default.StaticInt64(blueprint.DefaultFailureThreshold),
								Description: "Consecutive failures before failover: 1 to 10. Default 3.",
							},
						},
					},
				},
			},
		},
	}
}

const resourceType = "meridian_region_pair"

func address(name string) string { return resourceType + "." + name }

func (r *regionPair) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m regionPairModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	rp, unknown, diags := m.blueprint(ctx)
	resp.Diagnostics.Append(diags...)
	resp.Diagnostics.Append(requiredInBlocks(m, unknown)...)
	resp.Diagnostics.Append(problemDiagnostics(subject(resourceType, rp.Name), rp.WithDefaults().Validate(), unknown)...)
}

// requiredInBlocks reports attributes a present block cannot do without.
// They are optional in the schema only because an absent block is null.
func requiredInBlocks(m regionPairModel, unknown map[string]bool) diag.Diagnostics {
	var diags diag.Diagnostics
	need := func(p string, v types.String) {
		if v.IsNull() && !unknown[p] {
			diags.AddAttributeError(attributePath(p), "Missing required argument", fmt.Sprintf("%s: %s is required when its block is present.", subject(resourceType, m.Name.ValueString()), p))
		}
	}
	if m.ObjectStore != nil {
		need("object_store.bucket_prefix", m.ObjectStore.BucketPrefix)
	}
	if m.KVTable != nil {
		need("kv_table.hash_key", m.KVTable.HashKey)
	}
	if w := m.Workload; w != nil {
		need("workload.image", w.Image)
		if w.Volume != nil {
			need("workload.volume.size", w.Volume.Size)
		}
	}
	if d := m.DNS; d != nil {
		need("dns.zone_name", d.ZoneName)
		need("dns.record_name", d.RecordName)
		need("dns.primary_endpoint", d.PrimaryEndpoint)
		need("dns.secondary_endpoint", d.SecondaryEndpoint)
	}
	return diags
}

// graph compiles the model; it returns a nil graph (and no error) when
// values are not known yet.
func (r *regionPair) graph(ctx context.Context, m regionPairModel) (*primitive.Graph, diag.Diagnostics) {
	rp, unknown, diags := m.blueprint(ctx)
	if diags.HasError() || len(unknown) > 0 {
		return nil, diags
	}
	if ps := rp.WithDefaults().Validate(); len(ps) > 0 {
		return nil, problemDiagnostics(subject(resourceType, rp.Name), ps, nil)
	}
	if rp.Workload != nil {
		for _, region := range []string{rp.PrimaryRegion, rp.SecondaryRegion} {
			if r.data.clusters == nil || !slices.Contains(r.data.clusters.Regions(), region) {
				diags.AddAttributeError(path.Root("workload"), "No cluster for the region",
					fmt.Sprintf("%s: the workload runs in %s, but the provider's kubernetes block has no cluster with region = %q.", subject(resourceType, rp.Name), region, region))
			}
		}
		if diags.HasError() {
			return nil, diags
		}
	}
	g, err := compile.RegionPair(rp, r.data.defaultTags)
	var vs compile.Violations
	switch {
	case errors.As(err, &vs):
		return nil, append(diags, violationDiagnostics(vs)...)
	case err != nil:
		diags.AddError("Cannot compile "+subject(resourceType, rp.Name), err.Error())
		return nil, diags
	}
	if rp.CostTagPolicy == nil {
		diags.Append(keyConflictWarnings(compile.KeyConflicts(address(rp.Name), g))...)
	}
	return &g, diags
}

func (r *regionPair) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if r.data == nil {
		return
	}
	if req.Plan.Raw.IsNull() {
		var state regionPairModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		records, diags := recordsOf(ctx, req.Private, &state)
		resp.Diagnostics.Append(diags...)
		if !resp.Diagnostics.HasError() {
			warnDataDestroyed(ctx, r.data, state.address(), records, &resp.Diagnostics)
		}
		return
	}
	var plan, state regionPairModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if !req.State.Raw.IsNull() {
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	plan.ID = plan.Name
	plan.PartialRecords = types.StringNull() // an apply that succeeds leaves none
	plan.FailoverFQDN = types.StringNull()
	if plan.DNS != nil {
		plan.FailoverFQDN = types.StringUnknown()
		if !plan.DNS.RecordName.IsUnknown() && !plan.DNS.ZoneName.IsUnknown() {
			plan.FailoverFQDN = types.StringValue(blueprint.DNS{RecordName: plan.DNS.RecordName.ValueString(), ZoneName: plan.DNS.ZoneName.ValueString()}.FailoverFQDN())
		}
	}
	plan.Spec = types.StringUnknown()
	if rp, unknown, _ := plan.blueprint(ctx); len(unknown) == 0 {
		plan.Spec = types.StringValue(specJSON(rp))
	}
	g, diags := r.graph(ctx, plan)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	plan.Primitives = types.ListUnknown(primitiveType)
	if g != nil {
		r.data.names.check(subject(resourceType, plan.Name.ValueString()), *g, pairClaimPaths, &resp.Diagnostics)
		checkLimits(address(plan.Name.ValueString()), *g, &resp.Diagnostics)
	}
	switch {
	case g == nil:
		resp.Diagnostics.AddWarning("Checked at apply", address(plan.Name.ValueString())+": some arguments are not known until apply; the region pair's rules and its cost tag policy are checked then, before any change is made.")
	case req.State.Raw.IsNull():
		// A create. In the create half of a replacement, the private state
		// is the old pair's, whose names the delete half frees first: only
		// a create from nothing looks for names already taken.
		old, diags := loadRecords(ctx, req.Private)
		resp.Diagnostics.Append(diags...)
		if p, err := engine.Diff(*g, old, r.data.drivers()); err == nil && len(old.Records) == 0 {
			refuseTaken(ctx, r.data, address(plan.Name.ValueString()), p, old, &resp.Diagnostics)
		}
	default:
		records, diags := recordsOf(ctx, req.Private, &state)
		resp.Diagnostics.Append(diags...)
		p, changed := planChanges(r.data, address(plan.Name.ValueString()), *g, records, &resp.Diagnostics)
		if !changed {
			plan.Primitives = state.Primitives
		}
		steps := dataSteps(r.data.drivers(), p)
		replaceBy := dataReplacePaths(plan, state, steps)
		resp.RequiresReplace = append(resp.RequiresReplace, replaceBy...)
		replaced := len(replaceBy) > 0 || !plan.Name.Equal(state.Name) ||
			!plan.PrimaryRegion.Equal(state.PrimaryRegion) || !plan.SecondaryRegion.Equal(state.SecondaryRegion)
		protectData(ctx, r.data, address(plan.Name.ValueString()), p, records, replaced, plan.AllowDataLoss, &resp.Diagnostics)
		if !replaced {
			refuseTaken(ctx, r.data, address(plan.Name.ValueString()), p, records, &resp.Diagnostics)
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, plan)...)
}

// dataReplacePaths returns the attributes whose change makes steps delete
// or replace a primitive that holds data: terraform then shows the pair as
// replaced, and lifecycle.prevent_destroy stops the plan. A step with no
// such attribute (the replacement of a delete that was cut short) is left
// to protectData.
func dataReplacePaths(plan, state regionPairModel, steps []engine.Step) path.Paths {
	var out path.Paths
	for _, s := range steps {
		switch s.Type {
		case primitive.S3Bucket:
			switch {
			case state.ObjectStore == nil:
			case plan.ObjectStore == nil:
				out = append(out, path.Root("object_store"))
			case !plan.ObjectStore.BucketPrefix.Equal(state.ObjectStore.BucketPrefix):
				out = append(out, path.Root("object_store").AtName("bucket_prefix"))
			}
		case primitive.DynamoDBTable:
			switch {
			case state.KVTable == nil:
			case plan.KVTable == nil:
				out = append(out, path.Root("kv_table"))
			default:
				if !plan.KVTable.Name.Equal(state.KVTable.Name) {
					out = append(out, path.Root("kv_table").AtName("name"))
				}
				if !plan.KVTable.HashKey.Equal(state.KVTable.HashKey) {
					out = append(out, path.Root("kv_table").AtName("hash_key"))
				}
			}
		}
	}
	return out
}

func (r *regionPair) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan regionPairModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.apply(ctx, plan, engine.State{}, &resp.State, resp.Private, &resp.Diagnostics)
}

func (r *regionPair) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan regionPairModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	records, diags := loadRecords(ctx, req.Private)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.apply(ctx, plan, records, &resp.State, resp.Private, &resp.Diagnostics)
}

type stateSetter interface {
	Set(ctx context.Context, val any) diag.Diagnostics
}

// apply deploys the plan's graph over the recorded primitives and saves the
// records of what exists, whatever happened.
func (r *regionPair) apply(ctx context.Context, plan regionPairModel, records engine.State, state stateSetter, private privateState, diags *diag.Diagnostics) {
	name := address(plan.Name.ValueString())
	g, d := r.graph(ctx, plan)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	if g == nil {
		diags.AddError("Values not known at apply", name+": some arguments are still unknown; this is a bug in meridian or Terraform.")
		return
	}
	records = applyGraph(ctx, r.data, name, *g, records, diags)
	plan.ID = plan.Name
	plan.settleHealthCheckPath()
	plan.Primitives = primitivesValue(records)
	plan.PartialRecords = partialRecords(records, diags.HasError())
	diags.Append(saveRecords(ctx, private, records)...)
	if diags.HasError() && len(records.Records) == 0 {
		return // nothing was created, so there is nothing to keep in state
	}
	diags.Append(state.Set(ctx, plan)...)
}

func (r *regionPair) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	readRecorded[regionPairModel](ctx, r.data, true, req, resp)
}

func (r *regionPair) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	deleteRecorded[regionPairModel](ctx, r.data, req, resp)
}

func (r *regionPair) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	region, name, ok := strings.Cut(req.ID, "/")
	if !ok || region == "" || name == "" {
		resp.Diagnostics.AddError("Invalid import id", fmt.Sprintf("%q: expected <primary_region>/<name>, e.g. us-east-1/checkout.", req.ID))
		return
	}
	if r.data == nil {
		resp.Diagnostics.AddError("Provider not configured", "meridian_region_pair import needs a configured provider.")
		return
	}
	m, err := deploy.ReadManifest(ctx, r.data.cloud, region, name)
	if err != nil {
		resp.Diagnostics.AddError("Cannot import "+address(name), err.Error())
		return
	}
	g, err := compile.RegionPair(m.Blueprint, r.data.defaultTags)
	if err != nil {
		resp.Diagnostics.AddError("Cannot import "+address(name), err.Error())
		return
	}
	records, err := r.data.engine(address(name), nil).Adopt(ctx, g, m.IDs)
	if err != nil {
		resp.Diagnostics.AddError("Cannot import "+address(name), err.Error())
		return
	}
	model := modelOf(m.Blueprint)
	model.Primitives = primitivesValue(records)
	resp.Diagnostics.Append(resp.State.Set(ctx, model)...)
	resp.Diagnostics.Append(saveRecords(ctx, resp.Private, records)...)
}
