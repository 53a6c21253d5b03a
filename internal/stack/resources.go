package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
	"github.com/meridianhq/terraform-provider-meridian/internal/deploy"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// DefaultDrillDeviation is the provider's default max_deviation_percent of a
// DR policy's drill block.
const DefaultDrillDeviation = 20

// CostTagPolicy is a meridian_cost_tag_policy block.
type CostTagPolicy struct {
	Label     string
	Blueprint blueprint.TagPolicy
	DeclRange hcl.Range
}

// Address is how terraform names the resource.
func (p CostTagPolicy) Address() string { return CostTagPolicyType + "." + p.Label }

// PolicyJSON is the policy attribute, as the provider computes it: the rules
// with defaults, without where they are enforced.
func (p CostTagPolicy) PolicyJSON() string {
	bp := p.Blueprint.WithDefaults()
	bp.EnforceInCloud = nil
	b, _ := json.Marshal(bp)
	return string(b)
}

// DRPolicy is a meridian_dr_policy block, compiled: the stack's parse fails
// where terraform's plan would (rules, restore order, RTO against the
// estimated restore), except for the pair's cost tag policy, which
// `meridian cost` checks (see TagGraphs).
type DRPolicy struct {
	Label     string
	Blueprint blueprint.DRPolicy
	// AllowDataLoss lets plans delete or replace its vaults while they hold recovery points.
	AllowDataLoss bool
	// Graph is the policy's own primitives (vaults, role, plan, selection);
	// Runbook the restore order of its region pair.
	Graph     primitive.Graph
	Runbook   compile.Runbook
	DeclRange hcl.Range
	ranges    map[string]hcl.Range
}

// Address is how terraform names the resource.
func (p DRPolicy) Address() string { return DRPolicyType + "." + p.Label }

// CheckMeasured holds each DR policy to the RTO its region pair's latest
// drill measured, as the provider's plan does once a drill has run: a
// target shorter than a measured restore is an error at rto. measured maps
// a pair's name to that RTO, as a Go duration ("6.76s").
func (st *Stack) CheckMeasured(measured map[string]string) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for i := range st.DRPolicies {
		p := &st.DRPolicies[i]
		rto := blueprint.Seconds(measured[p.Blueprint.RegionPair.Name])
		if rto == "" {
			continue
		}
		p.Blueprint.MeasuredRTO = rto
		v := &values{resource: p.Address(), ranges: p.ranges}
		v.problems(p.DeclRange, p.Blueprint.WithDefaults().Validate())
		diags = append(diags, v.diags...)
	}
	return diags
}

// CapacityReservation is a meridian_capacity_reservation block. Its demand
// history and price table may be files, read by Resolve, not by Parse.
type CapacityReservation struct {
	Label string
	// Blueprint holds the history only when it is written inline (values).
	Blueprint blueprint.Capacity
	// CSVFile and PriceTable are as written, made absolute against the stack's directory.
	CSVFile    string
	PriceTable string
	// CloudWatch is set when the history is to be read from CloudWatch.
	CloudWatch *deploy.CloudWatchDemand
	DeclRange  hcl.Range
	ranges     map[string]hcl.Range

	// resolved is what Stack.Resolve read: the blueprint with its history,
	// the prices and the problems.
	resolved *resolvedCapacity
}

type resolvedCapacity struct {
	blueprint blueprint.Capacity
	prices    blueprint.PriceTable
	diags     hcl.Diagnostics
}

// Address is how terraform names the resource.
func (c CapacityReservation) Address() string { return CapacityReservationType + "." + c.Label }

// Range is where an attribute path of the block is written, else the block.
func (c CapacityReservation) Range(path string) hcl.Range {
	for ; path != ""; path = parent(path) {
		if r, ok := c.ranges[path]; ok {
			return r
		}
	}
	return c.DeclRange
}

// Resolve reads the inputs that each capacity reservation names (its
// demand history from a file or CloudWatch, its price table) through the
// application layer, as the provider does at plan time, once: Resources,
// Plan and Graph use what it read. metrics may be nil (no AWS); a
// CloudWatch history is then an error.
func (st *Stack) Resolve(ctx context.Context, metrics deploy.Metrics) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for i := range st.CapacityReservations {
		c := &st.CapacityReservations[i]
		if c.resolved == nil {
			bp := c.Blueprint
			prices, ps := deploy.ResolveCapacity(ctx, &bp, deploy.CapacityInputs{PriceTable: c.PriceTable, CSVFile: c.CSVFile, CloudWatch: c.CloudWatch}, metrics)
			v := &values{resource: c.Address(), ranges: c.ranges}
			v.problems(c.DeclRange, ps)
			c.resolved = &resolvedCapacity{blueprint: bp, prices: prices, diags: v.diags}
		}
		diags = append(diags, c.resolved.diags...)
	}
	return diags
}

// resolve returns what Stack.Resolve read, reading it without a cloud if
// it has not run.
func (c *CapacityReservation) resolve() (blueprint.Capacity, blueprint.PriceTable, hcl.Diagnostics) {
	if c.resolved == nil {
		st := &Stack{CapacityReservations: []CapacityReservation{*c}}
		st.Resolve(context.Background(), nil)
		c.resolved = st.CapacityReservations[0].resolved
	}
	return c.resolved.blueprint, c.resolved.prices, c.resolved.diags
}

// Plan resolves the reservation and plans it: the forecast, the split per
// region and its cost. Nothing is reserved.
func (c *CapacityReservation) Plan() (blueprint.Capacity, blueprint.CapacityPlan, hcl.Diagnostics) {
	bp, prices, diags := c.resolve()
	if diags.HasErrors() {
		return bp, blueprint.CapacityPlan{}, diags
	}
	p, ps := bp.WithDefaults().Plan(prices)
	if len(ps) > 0 {
		v := &values{resource: c.Address(), ranges: c.ranges}
		v.problems(c.DeclRange, ps)
		return bp, p, append(diags, v.diags...)
	}
	return bp, p, diags
}

// Graph compiles the reservation into its primitives.
func (c *CapacityReservation) Graph(defaultTags map[string]string) (primitive.Graph, hcl.Diagnostics) {
	bp, prices, diags := c.resolve()
	if diags.HasErrors() {
		return primitive.Graph{}, diags
	}
	g, _, err := compile.Capacity(bp, prices, defaultTags)
	if err != nil {
		return g, append(diags, errAt(c.DeclRange, "Cannot compile "+c.Address(), err.Error()))
	}
	return g, diags
}

// objects are the resources of a type as expressions see them: the
// attributes the provider knows at plan time.
func (st *Stack) objects(typ string) cty.Value {
	m := map[string]cty.Value{}
	str := func(s string) cty.Value { return cty.StringVal(s) }
	switch typ {
	case ResourceType:
		for _, rp := range st.RegionPairs {
			m[rp.Label] = pairObject(rp.Blueprint)
		}
	case CostTagPolicyType:
		for _, p := range st.CostTagPolicies {
			m[p.Label] = cty.ObjectVal(map[string]cty.Value{"id": str(p.Blueprint.Name), "name": str(p.Blueprint.Name), "policy": str(p.PolicyJSON())})
		}
	case DRPolicyType:
		for _, p := range st.DRPolicies {
			m[p.Label] = cty.ObjectVal(map[string]cty.Value{
				"id": str(p.Blueprint.Name), "name": str(p.Blueprint.Name), "rpo": str(p.Blueprint.RPO), "rto": str(p.Blueprint.RTO),
				"estimated_rto": str(p.Runbook.Estimate), "runbook_markdown": str(p.Runbook.Markdown(p.Blueprint.Name)),
			})
		}
	case CapacityReservationType:
		for _, c := range st.CapacityReservations {
			m[c.Label] = cty.ObjectVal(map[string]cty.Value{"id": str(c.Blueprint.Name), "name": str(c.Blueprint.Name)})
		}
	}
	return cty.ObjectVal(m)
}

// pairObject is a region pair's attributes known from its configuration
// alone, spec included (the JSON a DR policy's region_pair takes).
func pairObject(written blueprint.RegionPair) cty.Value {
	bp := written.WithDefaults()
	fqdn := cty.NullVal(cty.String)
	if bp.DNS != nil {
		fqdn = cty.StringVal(bp.DNS.FailoverFQDN())
	}
	spec, _ := json.Marshal(written)
	return cty.ObjectVal(map[string]cty.Value{
		"id": cty.StringVal(bp.Name), "name": cty.StringVal(bp.Name),
		"primary_region": cty.StringVal(bp.PrimaryRegion), "secondary_region": cty.StringVal(bp.SecondaryRegion),
		"mode": cty.StringVal(string(bp.Mode)), "failover_fqdn": fqdn, "spec": cty.StringVal(string(spec)),
	})
}

var (
	costTagPolicySchema = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{
			{Name: "name", Required: true}, {Name: "required_tags"}, {Name: "allowed_values"}, {Name: "key_case"},
			{Name: "default_tags"}, {Name: "exemptions"},
		},
		Blocks: []hcl.BlockHeaderSchema{{Type: "enforce_in_cloud"}},
	}
	enforceSchema      = &hcl.BodySchema{Attributes: attrs("target_id")}
	allowedValuesType  = cty.Map(cty.ObjectWithOptionalAttrs(map[string]cty.Type{"values": cty.List(cty.String), "pattern": cty.String}, []string{"values", "pattern"}))
	drPolicySchemaBody = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{
			{Name: "name", Required: true}, {Name: "region_pair", Required: true}, {Name: "rpo", Required: true}, {Name: "rto", Required: true},
			{Name: "tags"}, {Name: "restore_order"}, {Name: "allow_data_loss"},
		},
		Blocks: []hcl.BlockHeaderSchema{{Type: "backup"}, {Type: "drill"}},
	}
	backupSchema      = &hcl.BodySchema{Attributes: attrs("schedule", "retention_days", "cross_region_copy", "primary_vault", "secondary_vault")}
	drillSchema       = &hcl.BodySchema{Attributes: attrs("schedule", "max_deviation_percent", "scope", "outage_at", "time_compression")}
	capacitySchemaDef = &hcl.BodySchema{
		Attributes: []hcl.AttributeSchema{
			{Name: "name", Required: true}, {Name: "primary_region", Required: true}, {Name: "secondary_region", Required: true},
			{Name: "instance_types", Required: true}, {Name: "image_id", Required: true},
			{Name: "unit"}, {Name: "horizon"}, {Name: "baseline_percentile"}, {Name: "peak_percentile"}, {Name: "batch"},
			{Name: "failover_coverage"}, {Name: "interval"}, {Name: "rto"}, {Name: "review_interval"}, {Name: "target_utilization"},
			{Name: "price_table"}, {Name: "tags"},
		},
		Blocks: []hcl.BlockHeaderSchema{{Type: "kubernetes"}, {Type: "demand"}},
	}
	capacityK8sSchema = &hcl.BodySchema{Attributes: attrs("namespace", "create_namespace")}
	demandSchema      = &hcl.BodySchema{
		Attributes: attrs("values", "csv_file", "step", "season", "start"),
		Blocks:     []hcl.BlockHeaderSchema{{Type: "cloudwatch"}},
	}
	cloudWatchSchema = &hcl.BodySchema{Attributes: attrs("region", "namespace", "metric_name", "dimensions", "statistic", "start_time", "end_time")}
)

func (st *Stack) addCostTagPolicy(b *hcl.Block, ctx *hcl.EvalContext) hcl.Diagnostics {
	p := CostTagPolicy{Label: b.Labels[1], DeclRange: b.DefRange}
	v := &values{resource: p.Address(), ctx: ctx, ranges: map[string]hcl.Range{}}
	c := v.content(b.Body, costTagPolicySchema, "")
	a := c.Attributes
	bp := blueprint.TagPolicy{
		Name:         v.str("name", a["name"]),
		RequiredTags: v.strList("required_tags", a["required_tags"]),
		KeyCase:      v.str("key_case", a["key_case"]),
		DefaultTags:  v.strMap("default_tags", a["default_tags"]),
		Exemptions:   v.strMap("exemptions", a["exemptions"]),
	}
	if val, ok := v.eval("allowed_values", a["allowed_values"], allowedValuesType); ok {
		bp.AllowedValues = map[string]blueprint.AllowedValues{}
		for k, e := range val.AsValueMap() {
			var av blueprint.AllowedValues
			if vs := e.GetAttr("values"); !vs.IsNull() {
				for _, x := range vs.AsValueSlice() {
					if x.IsNull() {
						v.diags = append(v.diags, errAt(a["allowed_values"].Expr.Range(), "Null value", fmt.Sprintf("%s: allowed_values[%q].values holds a null.", p.Address(), k)))
						continue
					}
					av.Values = append(av.Values, x.AsString())
				}
			}
			if pat := e.GetAttr("pattern"); !pat.IsNull() {
				av.Pattern = pat.AsString()
			}
			bp.AllowedValues[k] = av
		}
	}
	if eb := v.single(c.Blocks, "enforce_in_cloud", "enforce_in_cloud"); eb != nil {
		ea := v.content(eb.Body, enforceSchema, "enforce_in_cloud").Attributes
		v.ranges["enforce_in_cloud"] = eb.DefRange
		bp.EnforceInCloud = &blueprint.Enforcement{TargetID: v.str("enforce_in_cloud.target_id", ea["target_id"])}
	}
	if v.diags.HasErrors() {
		return v.diags
	}
	bp = bp.WithDefaults()
	v.problems(b.DefRange, bp.Validate())
	if v.diags.HasErrors() {
		return v.diags
	}
	for _, other := range st.CostTagPolicies {
		if other.Blueprint.Name == bp.Name {
			return append(v.diags, errAt(b.DefRange, "Duplicate cost tag policy name", fmt.Sprintf("%s: name %q is also used by %s; it names the Organizations policy.", p.Address(), bp.Name, other.Address())))
		}
	}
	p.Blueprint = bp
	st.CostTagPolicies = append(st.CostTagPolicies, p)
	sort.Slice(st.CostTagPolicies, func(i, j int) bool { return st.CostTagPolicies[i].Label < st.CostTagPolicies[j].Label })
	return v.diags
}

func (st *Stack) addDRPolicy(b *hcl.Block, ctx *hcl.EvalContext) hcl.Diagnostics {
	p := DRPolicy{Label: b.Labels[1], DeclRange: b.DefRange, ranges: map[string]hcl.Range{}}
	v := &values{resource: p.Address(), ctx: ctx, ranges: p.ranges}
	c := v.content(b.Body, drPolicySchemaBody, "")
	a := c.Attributes
	bp := blueprint.DRPolicy{
		Name: v.str("name", a["name"]), RPO: v.str("rpo", a["rpo"]), RTO: v.str("rto", a["rto"]),
		Tags: v.strMap("tags", a["tags"]), RestoreOrder: v.strList("restore_order", a["restore_order"]),
		Backup: blueprint.Backup{CrossRegionCopy: true}, Drill: blueprint.Drill{MaxDeviationPercent: DefaultDrillDeviation},
	}
	p.AllowDataLoss = v.bool("allow_data_loss", a["allow_data_loss"])
	if ra := a["region_pair"]; ra != nil {
		if text := v.str("region_pair", ra); text != "" {
			if err := json.Unmarshal([]byte(text), &bp.RegionPair); err != nil {
				v.diags = append(v.diags, errAt(ra.Expr.Range(), "Invalid region pair", fmt.Sprintf("%s: region_pair takes the spec attribute of a %s (e.g. %s.NAME.spec): %v.", p.Address(), ResourceType, ResourceType, err)))
			}
		}
	}
	if bb := v.single(c.Blocks, "backup", "backup"); bb != nil {
		ba := v.content(bb.Body, backupSchema, "backup").Attributes
		v.ranges["backup"] = bb.DefRange
		bp.Backup = blueprint.Backup{
			Schedule: v.str("backup.schedule", ba["schedule"]), RetentionDays: v.int("backup.retention_days", ba["retention_days"]),
			CrossRegionCopy: true,
			PrimaryVault:    v.str("backup.primary_vault", ba["primary_vault"]), SecondaryVault: v.str("backup.secondary_vault", ba["secondary_vault"]),
		}
		if ba["cross_region_copy"] != nil {
			bp.Backup.CrossRegionCopy = v.bool("backup.cross_region_copy", ba["cross_region_copy"])
		}
	}
	if db := v.single(c.Blocks, "drill", "drill"); db != nil {
		da := v.content(db.Body, drillSchema, "drill").Attributes
		v.ranges["drill"] = db.DefRange
		bp.Drill.Schedule = v.str("drill.schedule", da["schedule"])
		bp.Drill.Scope = v.str("drill.scope", da["scope"])
		bp.Drill.OutageAt = v.str("drill.outage_at", da["outage_at"])
		if da["time_compression"] != nil {
			bp.Drill.TimeCompression = v.float("drill.time_compression", da["time_compression"])
		}
		if da["max_deviation_percent"] != nil {
			bp.Drill.MaxDeviationPercent = v.int("drill.max_deviation_percent", da["max_deviation_percent"])
		}
	}
	if v.diags.HasErrors() {
		return v.diags
	}
	v.problems(b.DefRange, bp.WithDefaults().Validate())
	if v.diags.HasErrors() {
		return v.diags
	}
	g, rb, err := compileDRPolicy(bp, st.DefaultTags)
	var problem blueprint.Problem
	switch {
	case errors.As(err, &problem):
		v.problems(b.DefRange, []blueprint.Problem{problem})
	case err != nil:
		v.diags = append(v.diags, errAt(b.DefRange, "Cannot compile "+p.Address(), err.Error()))
	}
	if v.diags.HasErrors() {
		return v.diags
	}
	for _, other := range st.DRPolicies {
		if other.Blueprint.Name == bp.Name {
			return append(v.diags, errAt(b.DefRange, "Duplicate DR policy name", fmt.Sprintf("%s: name %q is also used by %s; it names the backup plan.", p.Address(), bp.Name, other.Address())))
		}
	}
	p.Blueprint, p.Graph, p.Runbook = bp, g, rb
	st.DRPolicies = append(st.DRPolicies, p)
	sort.Slice(st.DRPolicies, func(i, j int) bool { return st.DRPolicies[i].Label < st.DRPolicies[j].Label })
	return v.diags
}

func (st *Stack) addCapacityReservation(b *hcl.Block, ctx *hcl.EvalContext) hcl.Diagnostics {
	r := CapacityReservation{Label: b.Labels[1], DeclRange: b.DefRange, ranges: map[string]hcl.Range{}}
	v := &values{resource: r.Address(), ctx: ctx, ranges: r.ranges}
	c := v.content(b.Body, capacitySchemaDef, "")
	a := c.Attributes
	bp := blueprint.Capacity{
		Name: v.str("name", a["name"]), PrimaryRegion: v.str("primary_region", a["primary_region"]),
		SecondaryRegion: v.str("secondary_region", a["secondary_region"]), InstanceTypes: v.strList("instance_types", a["instance_types"]),
		ImageID: v.str("image_id", a["image_id"]), Unit: v.str("unit", a["unit"]), Horizon: v.str("horizon", a["horizon"]),
		BaselinePercentile: v.float("baseline_percentile", a["baseline_percentile"]), PeakPercentile: v.float("peak_percentile", a["peak_percentile"]),
		Batch: v.float("batch", a["batch"]), RTO: v.str("rto", a["rto"]), ReviewInterval: v.str("review_interval", a["review_interval"]),
		TargetUtilization: v.float("target_utilization", a["target_utilization"]), Tags: v.strMap("tags", a["tags"]),
		Interval: v.float("interval", a["interval"]),
	}
	if fa := a["failover_coverage"]; fa != nil {
		if _, ok := v.eval("failover_coverage", fa, cty.Number); ok {
			fc := v.float("failover_coverage", fa)
			bp.FailoverCoverage = &fc
		}
	}
	r.PriceTable = st.path(v.str("price_table", a["price_table"]))
	if kb := v.single(c.Blocks, "kubernetes", "kubernetes"); kb != nil {
		ka := v.content(kb.Body, capacityK8sSchema, "kubernetes").Attributes
		v.ranges["kubernetes"] = kb.DefRange
		bp.Kubernetes = &blueprint.CapacityKubernetes{Namespace: v.str("kubernetes.namespace", ka["namespace"]), CreateNamespace: v.bool("kubernetes.create_namespace", ka["create_namespace"])}
		v.needClusters(kb.DefRange, "the split is enforced", st.Kubernetes, bp.PrimaryRegion, bp.SecondaryRegion)
	}
	db := v.single(c.Blocks, "demand", "demand")
	if db == nil {
		v.diags = append(v.diags, errAt(b.DefRange, "Missing demand", fmt.Sprintf("%s: a demand block with the history is required; meridian never plans capacity from a default.", r.Address())))
		return v.diags
	}
	dc := v.content(db.Body, demandSchema, "demand")
	da := dc.Attributes
	v.ranges["demand"] = db.DefRange
	bp.Demand = blueprint.Demand{Step: v.str("demand.step", da["step"]), Season: v.str("demand.season", da["season"]), Start: v.str("demand.start", da["start"])}
	sources := 0
	if va := da["values"]; va != nil {
		sources++
		if val, ok := v.eval("demand.values", va, cty.List(cty.Number)); ok {
			for i, x := range val.AsValueSlice() {
				if x.IsNull() {
					v.diags = append(v.diags, errAt(va.Expr.Range(), "Null value", fmt.Sprintf("%s: demand.values[%d] is null.", r.Address(), i)))
					continue
				}
				f, _ := x.AsBigFloat().Float64()
				if math.IsInf(f, 0) {
					v.diags = append(v.diags, errAt(va.Expr.Range(), "Invalid number", fmt.Sprintf("%s: demand.values[%d] is out of range.", r.Address(), i)))
					continue
				}
				bp.Demand.Values = append(bp.Demand.Values, f)
			}
		}
	}
	if ca := da["csv_file"]; ca != nil {
		sources++
		r.CSVFile = st.path(v.str("demand.csv_file", ca))
	}
	if cb := v.single(dc.Blocks, "cloudwatch", "demand.cloudwatch"); cb != nil {
		sources++
		ca := v.content(cb.Body, cloudWatchSchema, "demand.cloudwatch").Attributes
		v.ranges["demand.cloudwatch"] = cb.DefRange
		r.CloudWatch = &deploy.CloudWatchDemand{
			Region: v.str("demand.cloudwatch.region", ca["region"]), Namespace: v.str("demand.cloudwatch.namespace", ca["namespace"]),
			MetricName: v.str("demand.cloudwatch.metric_name", ca["metric_name"]), Statistic: v.str("demand.cloudwatch.statistic", ca["statistic"]),
			StartTime: v.str("demand.cloudwatch.start_time", ca["start_time"]), EndTime: v.str("demand.cloudwatch.end_time", ca["end_time"]),
			Dimensions: v.strMap("demand.cloudwatch.dimensions", ca["dimensions"]),
		}
	}
	switch {
	case sources > 1:
		v.diags = append(v.diags, errAt(db.DefRange, "Two histories", fmt.Sprintf("%s: demand takes one of values, csv_file or a cloudwatch block.", r.Address())))
	case sources == 0:
		v.diags = append(v.diags, errAt(db.DefRange, "Missing demand history", fmt.Sprintf("%s: demand needs values, csv_file or a cloudwatch block; meridian never plans capacity from a default.", r.Address())))
	}
	if v.diags.HasErrors() {
		return v.diags
	}
	// The rules that need no history. A price table is read later, so
	// prices are checked here only against the shipped table.
	var ps []blueprint.Problem
	for _, p := range bp.WithDefaults().Validate(blueprint.DefaultPrices()) {
		if r.PriceTable != "" && len(p.Paths) > 1 && p.Paths[1] == "price_table" {
			continue
		}
		ps = append(ps, p)
	}
	v.problems(b.DefRange, ps)
	if v.diags.HasErrors() {
		return v.diags
	}
	for _, other := range st.CapacityReservations {
		if other.Blueprint.Name == bp.Name {
			return append(v.diags, errAt(b.DefRange, "Duplicate capacity reservation name", fmt.Sprintf("%s: name %q is also used by %s; it names the launch templates and groups.", r.Address(), bp.Name, other.Address())))
		}
	}
	r.Blueprint = bp
	st.CapacityReservations = append(st.CapacityReservations, r)
	sort.Slice(st.CapacityReservations, func(i, j int) bool { return st.CapacityReservations[i].Label < st.CapacityReservations[j].Label })
	return v.diags
}

// path makes a path written in the stack absolute against its directory.
func (st *Stack) path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(st.Dir, p)
}

func (v *values) float(path string, a *hcl.Attribute) float64 {
	val, ok := v.eval(path, a, cty.Number)
	if !ok {
		return 0
	}
	f, _ := val.AsBigFloat().Float64()
	if math.IsInf(f, 0) {
		v.diags = append(v.diags, errAt(a.Expr.Range(), "Invalid number", fmt.Sprintf("%s: %s is out of range.", v.resource, path)))
		return 0
	}
	return f
}

func (v *values) strList(path string, a *hcl.Attribute) []string {
	val, ok := v.eval(path, a, cty.List(cty.String))
	if !ok {
		return nil
	}
	var out []string
	for i, e := range val.AsValueSlice() {
		if e.IsNull() {
			v.diags = append(v.diags, errAt(a.Expr.Range(), "Null value", fmt.Sprintf("%s: %s[%d] is null.", v.resource, path, i)))
			continue
		}
		out = append(out, e.AsString())
	}
	return out
}

// compileDRPolicy compiles a DR policy as the provider does, with the tags
// of its pair's cost tag policy, but leaves checking that policy to
// TagGraphs' caller (meridian cost) and to CompileResources (meridian up):
// a stack that breaks a tag policy must still be readable to report it.
func compileDRPolicy(bp blueprint.DRPolicy, defaultTags map[string]string) (primitive.Graph, compile.Runbook, error) {
	if policy := bp.RegionPair.CostTagPolicy; policy != nil {
		defaultTags = MergeTags(defaultTags, policy.DefaultTags)
		bp.RegionPair.CostTagPolicy = nil
	}
	return compile.DRPolicy(bp, defaultTags)
}

// MergeTags overlays tag maps, a later one winning, as the compiler does.
func MergeTags(layers ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, l := range layers {
		for k, v := range l {
			out[k] = v
		}
	}
	return out
}

// TagGraph is the primitives of one resource, tagged as the resource
// deploys them, for checking against a cost tag policy.
type TagGraph struct {
	Resource string
	Graph    primitive.Graph
}

// TagGraphs compiles every resource the policies govern, without enforcing
// any: a region pair with the tags of the policy it names, a DR policy
// likewise, a capacity reservation (which reads its demand history). A
// cost tag policy's own Organizations policy is not governed by itself, as
// in the provider. Resources that cannot be compiled are diagnostics.
func (st *Stack) TagGraphs() ([]TagGraph, hcl.Diagnostics) {
	var out []TagGraph
	var diags hcl.Diagnostics
	for _, rp := range st.RegionPairs {
		bp, tags := rp.Blueprint, st.DefaultTags
		if bp.CostTagPolicy != nil {
			tags = MergeTags(tags, bp.CostTagPolicy.DefaultTags)
			bp.CostTagPolicy = nil
		}
		g, err := compile.RegionPair(bp, tags)
		if err != nil {
			diags = append(diags, errAt(rp.DeclRange, "Cannot compile "+rp.Address(), err.Error()))
			continue
		}
		out = append(out, TagGraph{rp.Address(), g})
	}
	for _, p := range st.DRPolicies {
		out = append(out, TagGraph{p.Address(), p.Graph})
	}
	for i := range st.CapacityReservations {
		c := &st.CapacityReservations[i]
		g, d := c.Graph(st.DefaultTags)
		diags = append(diags, d...)
		if !d.HasErrors() {
			out = append(out, TagGraph{c.Address(), g})
		}
	}
	return out, diags
}
