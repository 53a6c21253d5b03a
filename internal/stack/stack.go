// Package stack reads HCL stack files into blueprints. A stack file uses the
// same blocks as the Terraform provider (provider "meridian" and the
// resources meridian_region_pair, meridian_cost_tag_policy,
// meridian_dr_policy and meridian_capacity_reservation, with the provider's
// attribute names), so a configuration moves between terraform and meridian
// unchanged; terraform-only blocks (terraform, variable, output) are
// understood or ignored as terraform would use them.
//
// Resources may refer to each other as in terraform, in the order the
// provider's resources feed each other: a region pair may use
// meridian_cost_tag_policy.X.policy, a DR policy meridian_region_pair.X.spec,
// a capacity reservation meridian_dr_policy.X.rto.
package stack

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/gocty"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	awscloud "github.com/meridianhq/terraform-provider-meridian/internal/cloud/aws"
	"github.com/meridianhq/terraform-provider-meridian/internal/cloud/k8s"
)

// ResourceType is the region pair's resource type, the one `meridian up` deploys.
const ResourceType = "meridian_region_pair"

// The other resource types a stack declares.
const (
	CostTagPolicyType       = "meridian_cost_tag_policy"
	DRPolicyType            = "meridian_dr_policy"
	CapacityReservationType = "meridian_capacity_reservation"
)

// resourceTypes are the resource types a stack declares, in the order they
// are read: each may refer to those before it.
var resourceTypes = []string{CostTagPolicyType, ResourceType, DRPolicyType, CapacityReservationType}

// Stack is what a set of stack files declares.
type Stack struct {
	AWS awscloud.Config
	// Kubernetes are the clusters of the provider's kubernetes block, by
	// the region each stands for.
	Kubernetes  map[string]k8s.ClusterConfig
	DefaultTags map[string]string
	Parallelism int
	RegionPairs []RegionPair
	// CostTagPolicies, DRPolicies and CapacityReservations are in label order.
	CostTagPolicies      []CostTagPolicy
	DRPolicies           []DRPolicy
	CapacityReservations []CapacityReservation
	Outputs              []Output
	// Dir is the directory of the stack files: relative paths in them
	// (csv_file, price_table) are relative to it, as to terraform's root module.
	Dir string
	// Files are the parsed sources, for printing diagnostics with snippets.
	Files map[string]*hcl.File
	ctx   *hcl.EvalContext
}

// RegionPair is one resource block.
type RegionPair struct {
	// Label is the block's second label; Blueprint.Name is its name attribute.
	Label     string
	Blueprint blueprint.RegionPair
	// AllowDataLoss lets plans delete or replace its objects that hold data.
	AllowDataLoss bool
	DeclRange     hcl.Range
	// ranges maps attribute paths ("object_store.bucket_prefix") to where they are written.
	ranges map[string]hcl.Range
}

// Address is how terraform names the resource.
func (rp RegionPair) Address() string { return ResourceType + "." + rp.Label }

// Output is an output block, evaluated after a run.
type Output struct {
	Name  string
	Value hcl.Expression
}

var fileSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
	{Type: "terraform"},
	{Type: "provider", LabelNames: []string{"name"}},
	{Type: "resource", LabelNames: []string{"type", "name"}},
	{Type: "variable", LabelNames: []string{"name"}},
	{Type: "output", LabelNames: []string{"name"}},
}}

// LoadDir parses every *.tf and *.hcl file in dir, in name order, but for
// hidden files such as .terraform.lock.hcl.
func LoadDir(dir string, vars map[string]string) (*Stack, hcl.Diagnostics) {
	var names []string
	for _, pattern := range []string{"*.tf", "*.hcl"} {
		m, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, n := range m {
			// Like terraform, skip hidden files (terraform init's
			// .terraform.lock.hcl) and editors' backups.
			if base := filepath.Base(n); !strings.HasPrefix(base, ".") && !strings.HasPrefix(base, "#") && !strings.HasSuffix(base, "~") {
				names = append(names, n)
			}
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No stack files", Detail: fmt.Sprintf("%s holds no *.tf or *.hcl files.", dir)}}
	}
	return LoadFiles(names, vars)
}

// LoadFiles parses the named files as one stack.
func LoadFiles(names []string, vars map[string]string) (*Stack, hcl.Diagnostics) {
	srcs := map[string][]byte{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read stack file", Detail: err.Error()}}
		}
		srcs[n] = b
	}
	return Parse(srcs, vars)
}

// Parse reads stack sources keyed by file name. vars override variable
// defaults. It never panics, whatever the input (see FuzzParse).
func Parse(srcs map[string][]byte, vars map[string]string) (*Stack, hcl.Diagnostics) {
	st := &Stack{Files: map[string]*hcl.File{}}
	var diags hcl.Diagnostics
	var bodies []hcl.Body
	names := make([]string, 0, len(srcs))
	for n := range srcs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f, d := hclsyntax.ParseConfig(srcs[n], n, hcl.InitialPos)
		diags = append(diags, d...)
		if f != nil {
			st.Files[n] = f
			bodies = append(bodies, f.Body)
		}
	}
	if diags.HasErrors() {
		return st, diags
	}
	var blocks hcl.Blocks
	for _, b := range bodies {
		content, d := b.Content(fileSchema)
		diags = append(diags, d...)
		if content != nil {
			blocks = append(blocks, content.Blocks...)
		}
	}
	if len(names) > 0 {
		st.Dir = filepath.Dir(names[0])
	}
	ctx, d := variables(blocks, vars, st.Dir)
	diags = append(diags, d...)
	st.ctx = ctx

	var provider *hcl.Block
	resources := map[string]hcl.Blocks{}
	for _, b := range blocks {
		switch b.Type {
		case "provider":
			if b.Labels[0] != "meridian" {
				diags = append(diags, errAt(b.LabelRanges[0], "Unsupported provider", fmt.Sprintf("A meridian stack configures only provider \"meridian\", not %q.", b.Labels[0])))
				continue
			}
			if provider != nil {
				diags = append(diags, errAt(b.DefRange, "Duplicate provider block", fmt.Sprintf("provider \"meridian\" is already configured at %s.", provider.DefRange)))
				continue
			}
			provider = b
			diags = append(diags, st.decodeProvider(b.Body, ctx)...)
		case "resource":
			if !slices.Contains(resourceTypes, b.Labels[0]) {
				diags = append(diags, errAt(b.LabelRanges[0], "Unsupported resource type", fmt.Sprintf("%q is not a meridian resource; a stack declares %s.", b.Labels[0], strings.Join(resourceTypes, ", "))))
				continue
			}
			resources[b.Labels[0]] = append(resources[b.Labels[0]], b)
		case "output":
			attrs, d := b.Body.JustAttributes()
			diags = append(diags, d...)
			if v, ok := attrs["value"]; ok {
				st.Outputs = append(st.Outputs, Output{Name: b.Labels[0], Value: v.Expr})
			} else if !d.HasErrors() {
				diags = append(diags, errAt(b.DefRange, "Missing required argument", fmt.Sprintf("output %q needs a value.", b.Labels[0])))
			}
		}
	}
	// Each type in turn, so that a resource can refer to the types read before it.
	for _, typ := range resourceTypes {
		seen := map[string]hcl.Range{}
		for _, b := range resources[typ] {
			address := typ + "." + b.Labels[1]
			if prev, dup := seen[b.Labels[1]]; dup {
				diags = append(diags, errAt(b.DefRange, "Duplicate resource", fmt.Sprintf("%s is already declared at %s.", address, prev)))
				continue
			}
			seen[b.Labels[1]] = b.DefRange
			switch typ {
			case ResourceType:
				diags = append(diags, st.addRegionPair(b, ctx)...)
			case CostTagPolicyType:
				diags = append(diags, st.addCostTagPolicy(b, ctx)...)
			case DRPolicyType:
				diags = append(diags, st.addDRPolicy(b, ctx)...)
			case CapacityReservationType:
				diags = append(diags, st.addCapacityReservation(b, ctx)...)
			}
		}
		ctx.Variables[typ] = st.objects(typ)
	}
	return st, diags
}

func (st *Stack) addRegionPair(b *hcl.Block, ctx *hcl.EvalContext) hcl.Diagnostics {
	rp := RegionPair{Label: b.Labels[1], DeclRange: b.DefRange}
	bp, allow, ranges, diags := decodeRegionPair(rp.Address(), b.DefRange, b.Body, ctx, st.Kubernetes)
	rp.AllowDataLoss = allow
	rp.ranges = ranges
	if diags.HasErrors() {
		return diags
	}
	for _, other := range st.RegionPairs {
		if other.Blueprint.Name == bp.Name {
			return append(diags, errAt(b.DefRange, "Duplicate region pair name", fmt.Sprintf("%s: name %q is also used by %s; the name names buckets, tables and roles, so it must be unique.", rp.Address(), bp.Name, other.Address())))
		}
	}
	rp.Blueprint = bp
	st.RegionPairs = append(st.RegionPairs, rp)
	sort.Slice(st.RegionPairs, func(i, j int) bool { return st.RegionPairs[i].Label < st.RegionPairs[j].Label })
	return diags
}

// variables builds the evaluation context: var.<name> from defaults and
// overrides. A variable without a default and without a value is an error.
func variables(blocks hcl.Blocks, overrides map[string]string, dir string) (*hcl.EvalContext, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	vals := map[string]cty.Value{}
	for _, b := range blocks {
		if b.Type != "variable" {
			continue
		}
		name := b.Labels[0]
		content, _, d := b.Body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "default"}}})
		diags = append(diags, d...)
		if v, ok := overrides[name]; ok {
			vals[name] = cty.StringVal(v)
			continue
		}
		if content == nil {
			continue
		}
		attr, ok := content.Attributes["default"]
		if !ok {
			diags = append(diags, errAt(b.DefRange, "No value for required variable", fmt.Sprintf("variable %q has no default; set it with --var %s=VALUE.", name, name)))
			continue
		}
		v, d := attr.Expr.Value(nil)
		diags = append(diags, d...)
		if !d.HasErrors() {
			vals[name] = v
		}
	}
	for name := range overrides {
		if _, ok := vals[name]; !ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Undeclared variable", Detail: fmt.Sprintf("--var %s: no variable %q is declared.", name, name)})
		}
	}
	// path.module and path.root, as terraform gives them to a root module,
	// absolute so that a path built from them reads the same from anywhere.
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	paths := cty.ObjectVal(map[string]cty.Value{"module": cty.StringVal(abs), "root": cty.StringVal(abs), "cwd": cty.StringVal(abs)})
	return &hcl.EvalContext{Variables: map[string]cty.Value{"var": cty.ObjectVal(vals), "path": paths}}, diags
}

func errAt(r hcl.Range, summary, detail string) *hcl.Diagnostic {
	rr := r
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: &rr}
}

// FormatDiagnostics prints diagnostics as "file:line,col: summary: detail".
func FormatDiagnostics(diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		sev := "error"
		if d.Severity == hcl.DiagWarning {
			sev = "warning"
		}
		where := ""
		if d.Subject != nil {
			where = fmt.Sprintf("%s:%d,%d: ", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
		}
		fmt.Fprintf(&b, "%s%s: %s", where, sev, d.Summary)
		if d.Detail != "" {
			fmt.Fprintf(&b, ": %s", d.Detail)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// values decodes attributes into Go values, with diagnostics that name the
// resource and the attribute path.
type values struct {
	resource string
	ctx      *hcl.EvalContext
	diags    hcl.Diagnostics
	// ranges maps attribute paths ("dns.health_check.interval") to where they are written.
	ranges map[string]hcl.Range
}

func (v *values) eval(path string, a *hcl.Attribute, want cty.Type) (cty.Value, bool) {
	if a == nil {
		return cty.NilVal, false
	}
	v.ranges[path] = a.Expr.Range()
	val, d := a.Expr.Value(v.ctx)
	if d.HasErrors() {
		for _, x := range d {
			if x.Detail != "" {
				x.Detail = v.resource + ": " + path + ": " + x.Detail
			}
		}
		v.diags = append(v.diags, d...)
		return cty.NilVal, false
	}
	if val.IsNull() {
		return cty.NilVal, false
	}
	if !val.IsWhollyKnown() {
		v.diags = append(v.diags, errAt(a.Expr.Range(), "Unknown value", fmt.Sprintf("%s: %s must be known before the run.", v.resource, path)))
		return cty.NilVal, false
	}
	out, err := convert.Convert(val, want)
	if err != nil {
		v.diags = append(v.diags, errAt(a.Expr.Range(), "Incorrect attribute value type", fmt.Sprintf("%s: %s: %s required, got %s: %v.", v.resource, path, want.FriendlyName(), val.Type().FriendlyName(), err)))
		return cty.NilVal, false
	}
	return out, true
}

// str reads a string attribute. A number or bool written for it is a type
// error, not converted: primary_region = 42 would otherwise plan a region
// called "42" and fail far from the line that is wrong.
func (v *values) str(path string, a *hcl.Attribute) string {
	if a != nil {
		if val, d := a.Expr.Value(v.ctx); !d.HasErrors() && !val.IsNull() && (val.Type() == cty.Number || val.Type() == cty.Bool) {
			v.ranges[path] = a.Expr.Range()
			v.diags = append(v.diags, errAt(a.Expr.Range(), "Incorrect attribute value type", fmt.Sprintf("%s: %s: string required, got %s.", v.resource, path, val.Type().FriendlyName())))
			return ""
		}
	}
	val, ok := v.eval(path, a, cty.String)
	if !ok {
		return ""
	}
	return val.AsString()
}

func (v *values) int(path string, a *hcl.Attribute) int {
	val, ok := v.eval(path, a, cty.Number)
	if !ok {
		return 0
	}
	var n int32
	if err := gocty.FromCtyValue(val, &n); err != nil {
		v.diags = append(v.diags, errAt(a.Expr.Range(), "Invalid number", fmt.Sprintf("%s: %s must be a whole number: %v.", v.resource, path, err)))
	}
	return int(n)
}

func (v *values) ints(path string, a *hcl.Attribute) []int {
	val, ok := v.eval(path, a, cty.List(cty.Number))
	if !ok {
		return nil
	}
	var out []int
	if err := gocty.FromCtyValue(val, &out); err != nil {
		v.diags = append(v.diags, errAt(a.Expr.Range(), "Invalid number", fmt.Sprintf("%s: %s must be whole numbers: %v.", v.resource, path, err)))
	}
	return out
}

func (v *values) bool(path string, a *hcl.Attribute) bool {
	val, ok := v.eval(path, a, cty.Bool)
	return ok && val.True()
}

func (v *values) strMap(path string, a *hcl.Attribute) map[string]string {
	val, ok := v.eval(path, a, cty.Map(cty.String))
	if !ok {
		return nil
	}
	out := map[string]string{}
	for k, e := range val.AsValueMap() {
		if e.IsNull() {
			v.diags = append(v.diags, errAt(a.Expr.Range(), "Null tag value", fmt.Sprintf("%s: %s[%q] is null.", v.resource, path, k)))
			continue
		}
		out[k] = e.AsString()
	}
	return out
}

// single returns the one block of a type, reporting a second one.
func (v *values) single(blocks hcl.Blocks, typ, path string) *hcl.Block {
	var found *hcl.Block
	for _, b := range blocks {
		if b.Type != typ {
			continue
		}
		if found != nil {
			v.diags = append(v.diags, errAt(b.DefRange, "Duplicate "+typ+" block", fmt.Sprintf("%s: only one %s block is allowed; the first is at %s.", v.resource, path, found.DefRange)))
			continue
		}
		found = b
	}
	return found
}

func (v *values) content(body hcl.Body, schema *hcl.BodySchema, path string) *hcl.BodyContent {
	c, d := body.Content(schema)
	for _, x := range d {
		if x.Detail != "" {
			x.Detail = strings.TrimSpace(v.resource + ": " + strings.TrimPrefix(path+": ", ": ") + x.Detail)
		}
	}
	v.diags = append(v.diags, d...)
	if c == nil {
		c = &hcl.BodyContent{Attributes: hcl.Attributes{}}
	}
	return c
}

func attrs(names ...string) []hcl.AttributeSchema {
	out := make([]hcl.AttributeSchema, len(names))
	for i, n := range names {
		out[i] = hcl.AttributeSchema{Name: n}
	}
	return out
}

var providerSchema = &hcl.BodySchema{
	Attributes: attrs("default_tags", "parallelism"),
	Blocks:     []hcl.BlockHeaderSchema{{Type: "aws"}, {Type: "kubernetes"}},
}

var (
	kubernetesSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "cluster"}}}
	clusterSchema    = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "region", Required: true}, {Name: "kubeconfig"}, {Name: "context"}, {Name: "host"}, {Name: "token"}, {Name: "cluster_ca_certificate"},
	}}
)

var awsSchema = &hcl.BodySchema{Attributes: attrs("endpoint", "endpoints", "access_key", "secret_key", "profile", "s3_use_path_style", "skip_credentials_validation", "emulator")}

func (st *Stack) decodeProvider(body hcl.Body, ctx *hcl.EvalContext) hcl.Diagnostics {
	v := &values{resource: `provider "meridian"`, ctx: ctx, ranges: map[string]hcl.Range{}}
	c := v.content(body, providerSchema, "")
	st.DefaultTags = v.strMap("default_tags", c.Attributes["default_tags"])
	if a := c.Attributes["parallelism"]; a != nil {
		st.Parallelism = v.int("parallelism", a)
		if st.Parallelism < 1 {
			v.diags = append(v.diags, errAt(a.Expr.Range(), "Invalid parallelism", `provider "meridian": parallelism must be 1 or more.`))
		}
	}
	if b := v.single(c.Blocks, "aws", "aws"); b != nil {
		a := v.content(b.Body, awsSchema, "aws").Attributes
		st.AWS = awscloud.Config{
			Endpoint:                  v.str("aws.endpoint", a["endpoint"]),
			Endpoints:                 v.strMap("aws.endpoints", a["endpoints"]),
			AccessKey:                 v.str("aws.access_key", a["access_key"]),
			SecretKey:                 v.str("aws.secret_key", a["secret_key"]),
			Profile:                   v.str("aws.profile", a["profile"]),
			S3UsePathStyle:            v.bool("aws.s3_use_path_style", a["s3_use_path_style"]),
			SkipCredentialsValidation: v.bool("aws.skip_credentials_validation", a["skip_credentials_validation"]),
			Emulator:                  v.bool("aws.emulator", a["emulator"]),
		}
	}
	if b := v.single(c.Blocks, "kubernetes", "kubernetes"); b != nil {
		st.Kubernetes = v.clusters(v.content(b.Body, kubernetesSchema, "kubernetes").Blocks)
	}
	return v.diags
}

// needClusters reports each region without a cluster, in which what runs.
func (v *values) needClusters(at hcl.Range, what string, clusters map[string]k8s.ClusterConfig, regions ...string) {
	for _, region := range regions {
		if _, ok := clusters[region]; !ok && region != "" {
			v.diags = append(v.diags, errAt(at, "No cluster for the region", fmt.Sprintf("%s: %s in %s, but the provider's kubernetes block has no cluster with region = %q.", v.resource, what, region, region)))
		}
	}
}

// clusters decodes the kubernetes block's clusters as the provider does:
// one per region, each a kubeconfig (and context) or a host, token and CA.
// Reaching them is left to the run: the stack is read without I/O.
func (v *values) clusters(blocks hcl.Blocks) map[string]k8s.ClusterConfig {
	out := map[string]k8s.ClusterConfig{}
	where := map[string]hcl.Range{}
	for i, b := range blocks {
		path := fmt.Sprintf("kubernetes.cluster[%d]", i)
		a := v.content(b.Body, clusterSchema, path).Attributes
		region := v.str(path+".region", a["region"])
		if region == "" {
			continue
		}
		if prev, dup := where[region]; dup {
			v.diags = append(v.diags, errAt(b.DefRange, "Duplicate cluster", fmt.Sprintf("%s: %s: region %q already has the cluster at %s.", v.resource, path, region, prev)))
			continue
		}
		where[region] = b.DefRange
		cc := k8s.ClusterConfig{
			Kubeconfig: v.str(path+".kubeconfig", a["kubeconfig"]),
			Context:    v.str(path+".context", a["context"]),
			Host:       v.str(path+".host", a["host"]),
			Token:      v.str(path+".token", a["token"]),
			CAData:     []byte(v.str(path+".cluster_ca_certificate", a["cluster_ca_certificate"])),
		}
		if (cc.Kubeconfig == "") == (cc.Host == "") {
			v.diags = append(v.diags, errAt(b.DefRange, "Invalid cluster", fmt.Sprintf("%s: %s: set either kubeconfig (and context) or host, token and cluster_ca_certificate.", v.resource, path)))
			continue
		}
		out[region] = cc
	}
	return out
}

var (
	regionPairSchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{
			{Name: "name", Required: true}, {Name: "primary_region", Required: true}, {Name: "secondary_region", Required: true},
			{Name: "mode"}, {Name: "write_profile"}, {Name: "globally_consistent_store"}, {Name: "tags"}, {Name: "cost_tag_policy"},
			{Name: "allow_data_loss"},
		},
		Blocks: []hcl.BlockHeaderSchema{{Type: "object_store"}, {Type: "kv_table"}, {Type: "dns"}, {Type: "workload"}},
	}
	workloadSchema = &hcl.BodySchema{
		Attributes: attrs("image", "replicas", "standby_replicas", "ports", "env"),
		Blocks:     []hcl.BlockHeaderSchema{{Type: "volume"}},
	}
	volumeSchema      = &hcl.BodySchema{Attributes: attrs("size", "mount_path")}
	objectStoreSchema = &hcl.BodySchema{Attributes: attrs("bucket_prefix", "force_destroy")}
	kvTableSchema     = &hcl.BodySchema{Attributes: attrs("name", "hash_key")}
	dnsSchema         = &hcl.BodySchema{
		Attributes: attrs("zone_name", "zone_id", "record_name", "primary_endpoint", "secondary_endpoint", "ttl"),
		Blocks:     []hcl.BlockHeaderSchema{{Type: "health_check"}},
	}
	healthCheckSchema = &hcl.BodySchema{Attributes: attrs("protocol", "port", "path", "interval", "failure_threshold")}
)

// decodeRegionPair reads a region pair; clusters are the provider's, in
// which its workload runs.
func decodeRegionPair(address string, declRange hcl.Range, body hcl.Body, ctx *hcl.EvalContext, clusters map[string]k8s.ClusterConfig) (rp blueprint.RegionPair, allowDataLoss bool, ranges map[string]hcl.Range, diags hcl.Diagnostics) {
	v := &values{resource: address, ctx: ctx, ranges: map[string]hcl.Range{}}
	c := v.content(body, regionPairSchema, "")
	a := c.Attributes
	allowDataLoss = v.bool("allow_data_loss", a["allow_data_loss"])
	rp = blueprint.RegionPair{
		Name:                    v.str("name", a["name"]),
		PrimaryRegion:           v.str("primary_region", a["primary_region"]),
		SecondaryRegion:         v.str("secondary_region", a["secondary_region"]),
		Mode:                    blueprint.Mode(v.str("mode", a["mode"])),
		WriteProfile:            blueprint.WriteProfile(v.str("write_profile", a["write_profile"])),
		GloballyConsistentStore: v.bool("globally_consistent_store", a["globally_consistent_store"]),
		Tags:                    v.strMap("tags", a["tags"]),
	}
	need := func(block *hcl.Block, path string, attrs hcl.Attributes, name string) {
		if attrs[name] == nil {
			v.diags = append(v.diags, errAt(block.DefRange, "Missing required argument", fmt.Sprintf("%s: %s.%s is required when its block is present.", address, path, name)))
		}
	}
	if b := v.single(c.Blocks, "object_store", "object_store"); b != nil {
		a := v.content(b.Body, objectStoreSchema, "object_store").Attributes
		v.ranges["object_store"] = b.DefRange
		need(b, "object_store", a, "bucket_prefix")
		rp.ObjectStore = &blueprint.ObjectStore{
			BucketPrefix: v.str("object_store.bucket_prefix", a["bucket_prefix"]),
			ForceDestroy: v.bool("object_store.force_destroy", a["force_destroy"]),
		}
	}
	if b := v.single(c.Blocks, "kv_table", "kv_table"); b != nil {
		a := v.content(b.Body, kvTableSchema, "kv_table").Attributes
		v.ranges["kv_table"] = b.DefRange
		need(b, "kv_table", a, "hash_key")
		rp.KVTable = &blueprint.KVTable{Name: v.str("kv_table.name", a["name"]), HashKey: v.str("kv_table.hash_key", a["hash_key"])}
	}
	if b := v.single(c.Blocks, "dns", "dns"); b != nil {
		dc := v.content(b.Body, dnsSchema, "dns")
		a := dc.Attributes
		v.ranges["dns"] = b.DefRange
		for _, n := range []string{"zone_name", "record_name", "primary_endpoint", "secondary_endpoint"} {
			need(b, "dns", a, n)
		}
		rp.DNS = &blueprint.DNS{
			ZoneName:          v.str("dns.zone_name", a["zone_name"]),
			ZoneID:            v.str("dns.zone_id", a["zone_id"]),
			RecordName:        v.str("dns.record_name", a["record_name"]),
			PrimaryEndpoint:   v.str("dns.primary_endpoint", a["primary_endpoint"]),
			SecondaryEndpoint: v.str("dns.secondary_endpoint", a["secondary_endpoint"]),
			TTL:               v.int("dns.ttl", a["ttl"]),
		}
		if hb := v.single(dc.Blocks, "health_check", "dns.health_check"); hb != nil {
			a := v.content(hb.Body, healthCheckSchema, "dns.health_check").Attributes
			v.ranges["dns.health_check"] = hb.DefRange
			rp.DNS.HealthCheck = blueprint.HealthCheck{
				Protocol:         v.str("dns.health_check.protocol", a["protocol"]),
				Port:             v.int("dns.health_check.port", a["port"]),
				Path:             v.str("dns.health_check.path", a["path"]),
				Interval:         v.int("dns.health_check.interval", a["interval"]),
				FailureThreshold: v.int("dns.health_check.failure_threshold", a["failure_threshold"]),
			}
		}
	}
	if b := v.single(c.Blocks, "workload", "workload"); b != nil {
		wc := v.content(b.Body, workloadSchema, "workload")
		a := wc.Attributes
		v.ranges["workload"] = b.DefRange
		need(b, "workload", a, "image")
		rp.Workload = &blueprint.Workload{
			Image:           v.str("workload.image", a["image"]),
			Replicas:        v.int("workload.replicas", a["replicas"]),
			StandbyReplicas: v.int("workload.standby_replicas", a["standby_replicas"]),
			Ports:           v.ints("workload.ports", a["ports"]),
			Env:             v.strMap("workload.env", a["env"]),
		}
		if vb := v.single(wc.Blocks, "volume", "workload.volume"); vb != nil {
			a := v.content(vb.Body, volumeSchema, "workload.volume").Attributes
			v.ranges["workload.volume"] = vb.DefRange
			need(vb, "workload.volume", a, "size")
			rp.Workload.Volume = &blueprint.Volume{Size: v.str("workload.volume.size", a["size"]), MountPath: v.str("workload.volume.mount_path", a["mount_path"])}
		}
		v.needClusters(b.DefRange, "the workload runs", clusters, rp.PrimaryRegion, rp.SecondaryRegion)
	}
	if a := c.Attributes["cost_tag_policy"]; a != nil {
		if text := v.str("cost_tag_policy", a); text != "" {
			rp.CostTagPolicy = &blueprint.TagPolicy{}
			if err := json.Unmarshal([]byte(text), rp.CostTagPolicy); err != nil {
				v.diags = append(v.diags, errAt(a.Expr.Range(), "Invalid cost tag policy", fmt.Sprintf("%s: cost_tag_policy takes the policy attribute of a %s resource: %v.", address, CostTagPolicyType, err)))
			}
		}
	}
	if v.diags.HasErrors() {
		return rp, allowDataLoss, v.ranges, v.diags
	}
	v.problems(declRange, rp.WithDefaults().Validate())
	return rp, allowDataLoss, v.ranges, v.diags
}

// problems adds the blueprint's broken rules, located at the attribute they
// name: at the attribute if it is written, else at its block, else at the
// resource.
func (v *values) problems(declRange hcl.Range, ps []blueprint.Problem) {
	for _, p := range ps {
		r := declRange
		for path := p.Paths[0]; path != ""; path = parent(path) {
			if at, ok := v.ranges[path]; ok {
				r = at
				break
			}
		}
		d := errAt(r, p.Summary, fmt.Sprintf("%s: %s: %s", v.resource, p.Paths[0], p.Detail))
		if p.Warning {
			d.Severity = hcl.DiagWarning
		}
		v.diags = append(v.diags, d)
	}
}

func parent(path string) string {
	i := strings.LastIndex(path, ".")
	if i < 0 {
		return ""
	}
	return path[:i]
}
