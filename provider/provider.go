// Package provider is the Terraform face of meridian: it maps schemas to
// blueprints, and the engine's results back to Terraform state. It holds no
// rules of its own; those live in the blueprint.
package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	awscloud "github.com/meridianhq/terraform-provider-meridian/internal/cloud/aws"
	"github.com/meridianhq/terraform-provider-meridian/internal/cloud/k8s"
	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
)

// New returns the provider factory for providerserver.Serve.
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &meridianProvider{version: version} }
}

type meridianProvider struct{ version string }

// providerData is what resources receive from Configure.
type providerData struct {
	cloud *awscloud.Cloud
	// clusters is nil when the provider has no kubernetes block.
	clusters *k8s.Cloud
	// contexts names each region's cluster in its kubeconfig (for drills on the testbed).
	contexts    map[string]string
	defaultTags map[string]string
	parallelism int
	// names are the cloud names the run's resources claim.
	names claims
	// eng is the process's engine (see engine).
	eng *engine.Engine
}

func (d *providerData) drivers() engine.Drivers { return d.eng.Drivers }

// newEngine makes the engine every resource of the process deploys
// through, once its clouds are configured. The cloud's limiters are the
// process's: every request of its clients takes their tokens.
func (d *providerData) newEngine() {
	drivers := d.cloud.Drivers()
	if d.clusters != nil {
		for typ, driver := range d.clusters.Drivers() {
			drivers[typ] = driver
		}
	}
	d.eng = &engine.Engine{Drivers: drivers, Parallelism: d.parallelism, Shared: d.cloud.Limiters()}
}

// engine returns the process's engine as the resource at address
// ("<type>.<name>") uses it. Its scope, "<type>/<name>", is the first part
// of the owner mark of every object the resource creates: it depends on
// nothing but the configuration, so an apply that follows a provider killed
// mid-create finds the objects that create made and adopts them, though no
// record of them survived. onEvent may be nil.
func (d *providerData) engine(address string, onEvent func(engine.Event)) *engine.Engine {
	return d.eng.Owned(scope(address), onEvent)
}

// scope turns a resource's address into its engine's Scope:
// "meridian_region_pair.checkout" -> "meridian_region_pair/checkout".
func scope(address string) string { return strings.Replace(address, ".", "/", 1) }

type providerModel struct {
	AWS         *awsModel        `tfsdk:"aws"`
	Kubernetes  *kubernetesModel `tfsdk:"kubernetes"`
	DefaultTags types.Map        `tfsdk:"default_tags"`
	Parallelism types.Int64      `tfsdk:"parallelism"`
}

type kubernetesModel struct {
	Clusters []clusterModel `tfsdk:"cluster"`
}

type clusterModel struct {
	Region               types.String `tfsdk:"region"`
	Kubeconfig           types.String `tfsdk:"kubeconfig"`
	Context              types.String `tfsdk:"context"`
	Host                 types.String `tfsdk:"host"`
	Token                types.String `tfsdk:"token"`
	ClusterCACertificate types.String `tfsdk:"cluster_ca_certificate"`
}

type awsModel struct {
	Endpoint                  types.String `tfsdk:"endpoint"`
	Endpoints                 types.Map    `tfsdk:"endpoints"`
	AccessKey                 types.String `tfsdk:"access_key"`
	SecretKey                 types.String `tfsdk:"secret_key"`
	Profile                   types.String `tfsdk:"profile"`
	S3UsePathStyle            types.Bool   `tfsdk:"s3_use_path_style"`
	SkipCredentialsValidation types.Bool   `tfsdk:"skip_credentials_validation"`
	Emulator                  types.Bool   `tfsdk:"emulator"`
}

func (p *meridianProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "meridian"
	resp.Version = p.version
}

func (p *meridianProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "meridian compiles multi-region architecture (region pairs, DR policies, capacity, cost tags) into cloud primitives and deploys them.",
		Attributes: map[string]schema.Attribute{
			"default_tags": schema.MapAttribute{
				Optional: true, ElementType: types.StringType,
				Description: "Tags for every primitive of every resource. A resource's own tags win on the same key; changing them updates primitives in place.",
			},
			"parallelism": schema.Int64Attribute{
				Optional:    true,
				Description: fmt.Sprintf("How many cloud calls the provider makes at once, across all its resources (each service keeps its own limit too, e.g. Route 53 five a second). Default %d.", engine.DefaultParallelism),
			},
		},
		Blocks: map[string]schema.Block{
			"kubernetes": schema.SingleNestedBlock{
				Description: "Kubernetes clusters that stand for regions: a region pair's workload runs in the cluster of each of its regions.",
				Blocks: map[string]schema.Block{
					"cluster": schema.ListNestedBlock{
						Description: "One cluster: a kubeconfig (and context), or a host, token and CA.",
						NestedObject: schema.NestedBlockObject{Attributes: map[string]schema.Attribute{
							"region":                 schema.StringAttribute{Required: true, Description: "The region name (as in primary_region/secondary_region) this cluster serves."},
							"kubeconfig":             schema.StringAttribute{Optional: true, Description: "Path of a kubeconfig file."},
							"context":                schema.StringAttribute{Optional: true, Description: "Context in the kubeconfig; default its current context."},
							"host":                   schema.StringAttribute{Optional: true, Description: "API server URL, instead of a kubeconfig."},
							"token":                  schema.StringAttribute{Optional: true, Sensitive: true, Description: "Bearer token, with host."},
							"cluster_ca_certificate": schema.StringAttribute{Optional: true, Description: "PEM of the API server's CA, with host."},
						}},
					},
				},
			},
			"aws": schema.SingleNestedBlock{
				Description: "How to reach AWS. Leave endpoint empty for AWS itself; set it for LocalStack or moto.",
				Attributes: map[string]schema.Attribute{
					"endpoint": schema.StringAttribute{Optional: true, Description: "One URL for every AWS service, as LocalStack and moto serve them."},
					"endpoints": schema.MapAttribute{
						Optional: true, ElementType: types.StringType,
						Description: "Per-service overrides of endpoint, keyed by service: dynamodb, iam, route53, s3, ssm, sts.",
					},
					"access_key": schema.StringAttribute{Optional: true, Description: "Access key; default: the AWS credential chain."},
					"secret_key": schema.StringAttribute{Optional: true, Sensitive: true, Description: "Secret key; default: the AWS credential chain."},
					"profile":    schema.StringAttribute{Optional: true, Description: "Shared config profile."},
					"s3_use_path_style": schema.BoolAttribute{
						Optional: true, Description: "Address buckets as endpoint/bucket (needed by most emulators).",
					},
					"skip_credentials_validation": schema.BoolAttribute{
						Optional: true, Description: "Skip the sts:GetCallerIdentity check at start.",
					},
					"emulator": schema.BoolAttribute{
						Optional: true,
						Description: "The endpoint is an emulator (moto, LocalStack). Only then does meridian put up with what emulators lack: a call the endpoint does not implement (AWS Backup selections in moto) or a DynamoDB replica it accepts and does not keep is recorded as unverified with a warning. " +
							"Default false: against AWS each of these is an error. It is never inferred from `endpoint`, which may be a VPC or FIPS endpoint of AWS.",
					},
				},
			},
		},
	}
}

func (p *meridianProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var m providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	data := &providerData{parallelism: int(m.Parallelism.ValueInt64())}
	if data.parallelism < 0 {
		resp.Diagnostics.AddAttributeError(path.Root("parallelism"), "Invalid parallelism", "parallelism must be 1 or more.")
		return
	}
	resp.Diagnostics.Append(m.DefaultTags.ElementsAs(ctx, &data.defaultTags, false)...)
	conf := awscloud.Config{}
	if a := m.AWS; a != nil {
		conf = awscloud.Config{
			Endpoint:                  a.Endpoint.ValueString(),
			AccessKey:                 a.AccessKey.ValueString(),
			SecretKey:                 a.SecretKey.ValueString(),
			Profile:                   a.Profile.ValueString(),
			S3UsePathStyle:            a.S3UsePathStyle.ValueBool(),
			SkipCredentialsValidation: a.SkipCredentialsValidation.ValueBool(),
			Emulator:                  a.Emulator.ValueBool(),
		}
		resp.Diagnostics.Append(a.Endpoints.ElementsAs(ctx, &conf.Endpoints, false)...)
	}
	if resp.Diagnostics.HasError() {
		return
	}
	cloud, err := awscloud.New(ctx, conf)
	if err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("aws"), "Cannot reach AWS", err.Error())
		return
	}
	data.cloud = cloud
	if k := m.Kubernetes; k != nil && len(k.Clusters) > 0 {
		clusters := map[string]k8s.ClusterConfig{}
		for i, c := range k.Clusters {
			region := c.Region.ValueString()
			if _, dup := clusters[region]; dup {
				resp.Diagnostics.AddAttributeError(path.Root("kubernetes").AtName("cluster").AtListIndex(i).AtName("region"), "Duplicate cluster", fmt.Sprintf("region %q has two clusters.", region))
				return
			}
			if data.contexts == nil {
				data.contexts = map[string]string{}
			}
			data.contexts[region] = c.Context.ValueString()
			clusters[region] = k8s.ClusterConfig{
				Kubeconfig: c.Kubeconfig.ValueString(), Context: c.Context.ValueString(),
				Host: c.Host.ValueString(), Token: c.Token.ValueString(), CAData: []byte(c.ClusterCACertificate.ValueString()),
			}
		}
		if data.clusters, err = k8s.New(clusters); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("kubernetes"), "Cannot reach Kubernetes", err.Error())
			return
		}
	}
	data.newEngine()
	resp.ResourceData = data
	resp.DataSourceData = data
}

func (p *meridianProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{newRegionPair, newCostTagPolicy, newDRPolicy, newDRDrill, newCapacityReservation}
}

func (p *meridianProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{newTagCompliance, newCapacityPlan, newArchitectureDocument}
}
