package sdk

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	awscloud "github.com/meridianhq/terraform-provider-meridian/internal/cloud/aws"
	"github.com/meridianhq/terraform-provider-meridian/internal/cloud/k8s"
	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
	"github.com/meridianhq/terraform-provider-meridian/internal/deploy"
	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
	"github.com/meridianhq/terraform-provider-meridian/internal/stack"
	"github.com/meridianhq/terraform-provider-meridian/internal/state"
)

// DefaultState is where stacks live unless Options.State says otherwise.
const DefaultState = ".meridian/stacks"

// Options configure a Workspace.
type Options struct {
	// Stack is the name of the stack, e.g. "dev".
	Stack string
	// State is where stacks live: a directory, "file://DIR" or
	// "s3://BUCKET/PREFIX" (reached through AWS). Default DefaultState.
	State string
	// StateRegion is the region the state bucket is first looked up from
	// (default us-east-1); the bucket may be in any region, which is found
	// and used (HeadBucket's x-amz-bucket-region).
	StateRegion string
	// StateKMSKey, with an s3:// State, is the KMS key (id, ARN or alias)
	// that encrypts every object of the state (SSE-KMS): state, journal
	// entries and lock.
	StateKMSKey string
	AWS         AWS
	// Kubernetes are the clusters that stand for regions, by region: a
	// region pair's workload runs in the cluster of each of its regions.
	Kubernetes  map[string]Cluster
	DefaultTags map[string]string
	// Parallelism bounds the cloud calls in flight; 0 means the engine's default.
	Parallelism int
	OnEvent     func(Event)
	// Drivers, if set, replace the AWS and Kubernetes drivers (tests and benchmarks).
	Drivers engine.Drivers
}

// Workspace runs operations on one stack.
type Workspace struct {
	opts  Options
	cloud *awscloud.Cloud
	// clusters is nil when Options.Kubernetes is empty.
	clusters *k8s.Cloud
	store    state.Store
	backend  state.Backend
	// checked is set once the credentials were checked (sts:GetCallerIdentity).
	checked bool
}

// Open loads the AWS configuration (unless Drivers are given and the state
// is local) and opens the stack's state. It calls no cloud API unless the
// state is on S3: the credentials are checked before the first operation
// that calls the cloud, so a stack with nothing to do (an empty stack, a
// plan without changes) makes no call.
func Open(ctx context.Context, opts Options) (*Workspace, error) {
	if opts.Stack == "" {
		return nil, errors.New("no stack selected")
	}
	opts.AWS = WithEnvironment(opts.AWS)
	w := &Workspace{opts: opts}
	where := opts.State
	if where == "" {
		where = DefaultState
	}
	s3state := strings.HasPrefix(where, "s3://")
	if opts.Drivers == nil || s3state {
		// Loading the configuration makes no call; the check is deferred.
		conf := opts.AWS
		conf.SkipCredentialsValidation = true
		c, err := awscloud.New(ctx, conf)
		if err != nil {
			return nil, err
		}
		w.cloud = c
		if s3state {
			if err := w.connect(ctx); err != nil {
				return nil, err
			}
		}
	}
	if len(opts.Kubernetes) > 0 && opts.Drivers == nil {
		c, err := k8s.New(opts.Kubernetes)
		if err != nil {
			return nil, err
		}
		w.clusters = c
	}
	switch {
	case s3state:
		u, err := url.Parse(where)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("state %q: expected s3://BUCKET/PREFIX", where)
		}
		region := opts.StateRegion
		if region == "" {
			region = "us-east-1"
		}
		// The bucket may be in any region: talk to it in its own.
		store, err := state.S3Store{Client: w.cloud.S3(region), Bucket: u.Host, Prefix: strings.Trim(u.Path, "/"), KMSKeyID: opts.StateKMSKey}.Located(ctx)
		if err != nil {
			return nil, err
		}
		w.store = store
	case opts.StateKMSKey != "":
		// A key the user asked for and nothing encrypts with would be a
		// false assurance.
		return nil, fmt.Errorf("a state KMS key encrypts an s3:// state; state %q is a local directory", where)
	default:
		w.store = state.LocalStore{Dir: filepath.Clean(strings.TrimPrefix(where, "file://"))}
	}
	b, err := w.store.Stack(opts.Stack)
	if err != nil {
		return nil, err
	}
	w.backend = b
	return w, nil
}

// WithEnvironment fills what the AWS settings leave empty from the standard
// AWS environment: AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_<SERVICE>, such as
// AWS_ENDPOINT_URL_S3). The SDK's configuration loading reads them (and
// AWS_PROFILE, AWS_REGION, credentials), but the drivers set every client's
// endpoint from these settings, which would hide the environment's.
func WithEnvironment(a AWS) AWS {
	if a.Endpoint == "" {
		a.Endpoint = os.Getenv("AWS_ENDPOINT_URL")
	}
	for _, svc := range awscloud.Services {
		env := os.Getenv("AWS_ENDPOINT_URL_" + strings.ToUpper(svc))
		if env == "" || a.Endpoints[svc] != "" {
			continue
		}
		a.Endpoints = maps.Clone(a.Endpoints)
		if a.Endpoints == nil {
			a.Endpoints = map[string]string{}
		}
		a.Endpoints[svc] = env
	}
	return a
}

// connect checks the AWS credentials once, before the first cloud call
// (unless the settings skip the check): a bad credential is then said
// plainly rather than as the first driver's failure.
func (w *Workspace) connect(ctx context.Context) error {
	if w.cloud == nil || w.checked || w.opts.AWS.SkipCredentialsValidation {
		return nil
	}
	if _, err := awscloud.New(ctx, w.opts.AWS); err != nil {
		return err
	}
	w.checked = true
	return nil
}

// Store is where the workspace's stacks live.
func (w *Workspace) Store() state.Store { return w.store }

// Backend is the stack's state backend.
func (w *Workspace) Backend() state.Backend { return w.backend }

// State returns the stack's stored document.
func (w *Workspace) State(ctx context.Context) (state.Document, error) { return w.backend.Load(ctx) }

func (w *Workspace) engine() *engine.Engine {
	drivers := w.opts.Drivers
	if drivers == nil {
		drivers = w.cloud.Drivers()
		if w.clusters != nil {
			maps.Copy(drivers, w.clusters.Drivers())
		}
	}
	// The stack's name scopes the ownership marks of what it creates.
	e := &engine.Engine{Drivers: drivers, Parallelism: w.opts.Parallelism, OnEvent: w.opts.OnEvent, Scope: "stack:" + w.opts.Stack}
	if w.cloud != nil {
		// The limits its requests keep are the cloud's.
		e.Shared = w.cloud.Limiters()
	}
	return e
}

// PropertyDiff is one property's change in a step.
type PropertyDiff struct {
	Key string `json:"key"`
	Old any    `json:"old,omitempty"`
	New any    `json:"new,omitempty"`
	// Computed is set when the new value is only known after apply.
	Computed bool `json:"computed,omitempty"`
	// Sensitive is set when the values are secrets: Old and New are then
	// primitive.Redacted, never the values.
	Sensitive bool `json:"sensitive,omitempty"`
}

// StepDetail is a step with the values it changes.
type StepDetail struct {
	Step
	Diffs []PropertyDiff `json:"diffs,omitempty"`
	// IncludedBecause says why a run limited to targets includes a step
	// that no target names: "it depends on pair/aws_iam_role.replication"
	// (deleted first, or its delete would fail or leave it dangling), or
	// "pair/x depends on it" (created first, so references resolve).
	IncludedBecause string `json:"included_because,omitempty"`
}

// Preview is a plan and what it would change.
type Preview struct {
	Plan   engine.Plan
	Steps  []StepDetail
	Counts map[engine.Op]int
	// Warnings are checks the cloud could not make (an emulator without
	// the call), said rather than skipped.
	Warnings []string
}

// plan compiles what decl declares (nothing, to destroy) and diffs it
// against the state.
func (w *Workspace) plan(doc state.Document, decl *Context, targets []string) (Preview, primitive.Graph, error) {
	var g primitive.Graph
	if decl != nil {
		var err error
		if g, err = stack.CompileResources(decl.res, w.opts.DefaultTags); err != nil {
			return Preview{}, g, err
		}
		// AWS would refuse a tag over its limits half way through the apply.
		if vs := compile.CheckLimits("stack "+w.opts.Stack, w.engine().Scope, g); len(vs) > 0 {
			errs := make([]error, len(vs))
			for i, v := range vs {
				errs[i] = v
			}
			return Preview{}, g, errors.Join(errs...)
		}
	}
	e := w.engine()
	p, err := engine.Diff(g, doc.State, e.Drivers)
	if err != nil {
		return Preview{}, g, err
	}
	var included map[string]string
	if len(targets) > 0 {
		if p, included, err = selectTargets(p, g, doc.State, targets); err != nil {
			return Preview{}, g, err
		}
	}
	pv := Preview{Plan: p, Counts: p.Count()}
	byName := map[string]primitive.Primitive{}
	known := func(name string) (map[string]string, bool) {
		r, ok := doc.State.Get(name)
		if !ok || r.Pending != "" {
			return nil, false
		}
		return r.Outputs, true
	}
	for _, prim := range g.Primitives {
		// Show references by their values where the state knows them.
		prim.Properties, _ = primitive.Resolve(prim.Properties, known)
		byName[prim.Name] = prim
	}
	for _, s := range p.Changes() {
		d := StepDetail{Step: s, IncludedBecause: included[s.Name]}
		rec, _ := doc.State.Get(s.Name)
		want, ok := byName[s.Name]
		switch {
		case s.Op == engine.OpDelete:
		case s.Op == engine.OpCreate || !ok:
			for _, k := range sortedKeys(want.Properties) {
				d.Diffs = append(d.Diffs, redact(propertyDiff(k, nil, want.Properties[k]), want.Sensitive))
			}
		default:
			for _, k := range s.Changes {
				if k == "tags" {
					d.Diffs = append(d.Diffs, PropertyDiff{Key: k, Old: rec.Tags, New: want.Tags})
					continue
				}
				d.Diffs = append(d.Diffs, redact(propertyDiff(k, rec.Inputs[k], want.Properties[k]), want.Sensitive, rec.Sensitive))
			}
		}
		pv.Steps = append(pv.Steps, d)
	}
	return pv, g, nil
}

func propertyDiff(k string, old, new any) PropertyDiff {
	d := PropertyDiff{Key: k, Old: old, New: new}
	if s, ok := new.(string); ok && strings.Contains(s, "${") {
		d.Computed = true
	}
	if m, ok := new.(map[string]any); ok && strings.Contains(fmt.Sprint(m), "${") {
		d.Computed = true
	}
	return d
}

// redact hides the values of a property that is sensitive, as desired or
// as recorded: a preview, its JSON and the events show that it changes,
// not what it holds.
func redact(d PropertyDiff, sensitive ...[]string) PropertyDiff {
	for _, keys := range sensitive {
		if slices.Contains(keys, d.Key) {
			d.Sensitive = true
			if d.Old != nil {
				d.Old = primitive.Redacted
			}
			if d.New != nil {
				d.New = primitive.Redacted
			}
		}
	}
	return d
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Preview shows what Up would do, without locking or changing anything.
func (w *Workspace) Preview(ctx context.Context, prog Program, targets ...string) (Preview, error) {
	decl, warnings, err := w.declare(ctx, prog)
	if err != nil {
		return Preview{}, err
	}
	doc, err := w.backend.Load(ctx)
	if err != nil {
		return Preview{}, err
	}
	return w.preview(ctx, doc, decl, warnings, targets)
}

// declare runs the program, once per operation, and makes the checks that
// need no state: clashing names, and the instance type offerings (the
// only cloud reads before the plan), whose warnings it returns.
func (w *Workspace) declare(ctx context.Context, prog Program) (*Context, []string, error) {
	decl, err := Declare(prog)
	if err != nil {
		return nil, nil, err
	}
	if err := w.checkNames(decl); err != nil {
		return nil, nil, err
	}
	warnings, err := w.checkOfferings(ctx, decl)
	if err != nil {
		return nil, nil, err
	}
	return decl, warnings, nil
}

// preview plans what decl declares (nil: the stack's destroy) against doc
// and reads the cloud for what the plan cannot see (preflight).
func (w *Workspace) preview(ctx context.Context, doc state.Document, decl *Context, warnings, targets []string) (Preview, error) {
	pv, _, err := w.plan(doc, decl, targets)
	pv.Warnings = warnings
	if err != nil {
		return pv, err
	}
	// A destroy is the user's word that the data goes: it is said, not refused.
	allowed := func(string) bool { return true }
	if decl != nil {
		allowed = func(p string) bool { return decl.res.AllowDataLoss[p] }
	}
	return pv, w.preflight(ctx, &pv, doc.State, allowed)
}

// preflight reads the cloud for what the plan cannot see in the records
// (engine.Preflight): a create whose name an object not ours holds is an
// error, and so is a delete or replace of an object that holds data,
// unless its resource allows data loss, when it is a warning. Either way
// nothing has changed yet.
func (w *Workspace) preflight(ctx context.Context, pv *Preview, st engine.State, allowed func(prefix string) bool) error {
	if len(pv.Plan.Changes()) == 0 {
		return nil // nothing to read: no call
	}
	if err := w.connect(ctx); err != nil {
		return err
	}
	pf, err := w.engine().Preflight(ctx, pv.Plan, st)
	if err != nil {
		return err
	}
	errs := pf.Taken
	for _, d := range pf.Data {
		prefix, _, _ := strings.Cut(d.Step.Name, stack.Separator)
		if allowed(prefix) {
			pv.Warnings = append(pv.Warnings, "data will be lost: "+d.String())
			continue
		}
		errs = append(errs, fmt.Errorf("%s: refused, because it would destroy that data; set allow_data_loss = true on %s to allow it, or empty it first", d, prefix))
	}
	return errors.Join(errs...)
}

// checkNames fails, before any cloud call, when two declared primitives
// claim the same cloud name (compile.CheckNames): up would otherwise create
// one of them and fail on the other half way, or make two Route 53 zones
// of one name. A declaration that does not compile is left to the plan,
// which reports it.
func (w *Workspace) checkNames(decl *Context) error {
	g, err := stack.CompileResources(decl.res, w.opts.DefaultTags)
	if err != nil {
		return nil
	}
	var errs []error
	for _, c := range compile.CheckNames(g) {
		errs = append(errs, c)
	}
	if len(errs) > 0 {
		return fmt.Errorf("name clash: %w", errors.Join(errs...))
	}
	return nil
}

// checkOfferings makes an instance type that a capacity reservation's
// zone does not offer an error before anything is planned, as the
// provider's plan does: otherwise up would fail halfway, with the rest of
// the stack already changed.
func (w *Workspace) checkOfferings(ctx context.Context, decl *Context) (warnings []string, err error) {
	if w.cloud == nil || len(decl.res.Capacities) == 0 {
		return nil, nil // Options.Drivers stand in for the cloud, or nothing to check
	}
	if err := w.connect(ctx); err != nil {
		return nil, err
	}
	// The deployed reservations' zones, which the plan keeps while they
	// qualify. Read without the lock: they only say which zone to prefer,
	// and the plan made under the lock compares against its own read.
	doc, err := w.backend.Load(ctx)
	if err != nil {
		return nil, err
	}
	var errs []error
	for i, c := range decl.res.Capacities {
		found := &deploy.Problems{Type: stack.CapacityReservationType, Name: c.Spec.Name}
		prefix := stack.Prefix(stack.CapacityReservationType, c.Spec.Name) + stack.Separator
		var recorded []engine.Record
		for _, r := range doc.Records {
			if strings.HasPrefix(r.Name, prefix) {
				recorded = append(recorded, r)
			}
		}
		// The plan compiles the primitives into the zones chosen here.
		c.Spec.Zones = deploy.RecordedZones(recorded)
		zones, ps := deploy.CheckOfferings(ctx, w.cloud, c.Spec)
		decl.res.Capacities[i].Spec.Zones = zones
		for _, p := range ps {
			if p.Warning {
				warnings = append(warnings, fmt.Sprintf("%s %s: %s: %s", found.Type, found.Name, p.Summary, p.Detail))
			} else {
				found.List = append(found.List, p)
			}
		}
		if len(found.List) > 0 {
			errs = append(errs, found)
		}
	}
	return warnings, errors.Join(errs...)
}

// Metrics reads demand history from the workspace's AWS (CloudWatch), or is
// nil without AWS.
func (w *Workspace) Metrics() deploy.Metrics {
	if w.cloud == nil {
		return nil
	}
	return w.cloud
}

// PreviewDestroy shows what Destroy would do.
func (w *Workspace) PreviewDestroy(ctx context.Context, targets ...string) (Preview, error) {
	doc, err := w.backend.Load(ctx)
	if err != nil {
		return Preview{}, err
	}
	return w.preview(ctx, doc, nil, nil, targets)
}

// Result is what a run did.
type Result struct {
	Preview
	// Records is how many primitives the stack holds afterwards.
	Records int
}

// Up deploys the program: it plans under the stack's lock and applies that
// plan (Plan, then Plan.Apply). outputs, if set, are computed from the
// declared pairs and stored with the state.
func (w *Workspace) Up(ctx context.Context, prog Program, outputs func([]RegionPair) map[string]string, targets ...string) (Result, error) {
	p, err := w.Plan(ctx, prog, targets...)
	if err != nil {
		return Result{}, err
	}
	return p.Apply(ctx, outputs)
}

// Destroy deletes every primitive of the stack (or of the targets).
func (w *Workspace) Destroy(ctx context.Context, targets ...string) (Result, error) {
	p, err := w.PlanDestroy(ctx, targets...)
	if err != nil {
		return Result{}, err
	}
	return p.Apply(ctx, nil)
}

// withLock runs f holding the stack's lock.
func (w *Workspace) withLock(ctx context.Context, operation string, f func() error) (err error) {
	l, err := w.backend.Lock(ctx, operation)
	if err != nil {
		return err
	}
	defer func() { err = w.unlock(ctx, l, err) }()
	return f()
}

// unlock releases l after a run that ended with err, and joins a failure
// to release it to err.
func (w *Workspace) unlock(ctx context.Context, l state.Lock, err error) error {
	if errors.Is(err, state.ErrLockLost) {
		return err // the lock is gone or someone else's: nothing to release
	}
	// The unlock must happen even when ctx was cancelled (Ctrl-C).
	if uerr := w.backend.Unlock(context.WithoutCancel(ctx), l); uerr != nil {
		err = errors.Join(err, fmt.Errorf("unlock: %w", uerr))
	}
	return err
}

// Refresh reads every recorded primitive (or those of the targets) and
// records what the cloud holds.
func (w *Workspace) Refresh(ctx context.Context, targets ...string) (drifts []Drift, warnings []string, err error) {
	err = w.withLock(ctx, "refresh", func() error {
		doc, err := w.backend.Load(ctx)
		if err != nil {
			return err
		}
		if len(doc.Records) > 0 {
			if err := w.connect(ctx); err != nil {
				return err
			}
		}
		e := w.engine()
		if len(targets) == 0 {
			e.Journal = state.Journal(ctx, w.backend, &doc)
			drifts, warnings, err = e.Refresh(ctx, &doc.State)
			return err
		}
		var names []string
		for _, r := range doc.Records {
			names = append(names, r.Name)
		}
		if err := checkTargets(targets, names); err != nil {
			return err
		}
		// Refresh the targeted records alone; the engine journals the
		// whole state it was given, so each entry is merged back into the
		// stack's other records before it is saved.
		var part engine.State
		for _, r := range doc.Records {
			if slices.ContainsFunc(targets, func(t string) bool { return targetMatches(r.Name, t) }) {
				part.Records = append(part.Records, r)
			}
		}
		merge := func(refreshed engine.State) engine.State {
			all := doc.State.Clone()
			for _, r := range part.Records {
				all.Remove(r.Name)
			}
			for _, r := range refreshed.Records {
				all.Put(r)
			}
			return all
		}
		journal := state.Journal(ctx, w.backend, &doc)
		e.Journal = func(entry engine.JournalEntry) error {
			if st, ok := entry.(engine.State); ok {
				return journal(merge(st))
			}
			return journal(entry)
		}
		drifts, warnings, err = e.Refresh(ctx, &part)
		return err
	})
	return drifts, warnings, err
}

// Import adopts a region pair that meridian deployed elsewhere (by the
// provider or another stack), from the manifest it keeps in its primary
// region, and returns the pair as it was declared.
func (w *Workspace) Import(ctx context.Context, primaryRegion, name string) (RegionPair, error) {
	if w.cloud == nil {
		return RegionPair{}, errors.New("import needs AWS")
	}
	if err := w.connect(ctx); err != nil {
		return RegionPair{}, err
	}
	var rp RegionPair
	err := w.withLock(ctx, "import", func() error {
		m, err := deploy.ReadManifest(ctx, w.cloud, primaryRegion, name)
		if err != nil {
			return err
		}
		rp = m.Blueprint
		g, err := stack.Compile([]RegionPair{rp}, w.opts.DefaultTags)
		if err != nil {
			return err
		}
		ids := map[string]string{}
		for k, v := range m.IDs {
			ids[stack.PrimitiveName(rp.Name, k)] = v
		}
		doc, err := w.backend.Load(ctx)
		if err != nil {
			return err
		}
		for _, r := range doc.Records {
			if strings.HasPrefix(r.Name, rp.Name+stack.Separator) {
				return fmt.Errorf("stack %q already holds region pair %q", w.opts.Stack, rp.Name)
			}
		}
		adopted, err := w.engine().Adopt(ctx, g, ids)
		if err != nil {
			return err
		}
		for _, r := range adopted.Records {
			doc.Put(r)
		}
		return w.backend.Save(ctx, doc)
	})
	return rp, err
}

// ExportState returns the stack's state, read under the stack's lock so
// that it is not a run's half-written one.
func (w *Workspace) ExportState(ctx context.Context) (state.Document, error) {
	var doc state.Document
	err := w.withLock(ctx, "export", func() (err error) {
		doc, err = w.backend.Load(ctx)
		return err
	})
	return doc, err
}

// ImportState replaces the stack's state with doc, under the stack's lock,
// unless doc is of a newer format than this meridian's.
// The document keeps its records and outputs; its serial continues the
// stack's, so that the stored copies stay ordered.
func (w *Workspace) ImportState(ctx context.Context, doc state.Document) error {
	if doc.Version > state.Version {
		// A newer meridian's export: its records would be misread, then
		// saved as this format.
		return fmt.Errorf("the document has format version %d, newer than this meridian's %d: import it with a meridian that reads version %d", doc.Version, state.Version, doc.Version)
	}
	return w.withLock(ctx, "import", func() error {
		cur, err := w.backend.Load(ctx)
		if err != nil {
			return err
		}
		doc.Stack, doc.Version = w.opts.Stack, cmp.Or(doc.Version, cur.Version)
		doc.Serial = max(doc.Serial, cur.Serial)
		for _, r := range doc.Records {
			if r.Name == "" {
				return errors.New("the document holds a record without a name: not a meridian stack state")
			}
		}
		return w.backend.Save(ctx, doc)
	})
}

// ManifestOwner returns the meridian:owner mark of a region pair's manifest
// (engine.OwnerTag): "stack:NAME/..." when a CLI stack created the pair,
// "meridian_region_pair/..." for terraform, "" when it carries none. Import
// reads it to say that the pair is already another stack's; the engine's
// Adopt strips marks from what it returns, so it is read here, from the
// manifest parameter's tags.
func (w *Workspace) ManifestOwner(ctx context.Context, primaryRegion, name string) (string, error) {
	if w.cloud == nil {
		return "", nil
	}
	if err := w.connect(ctx); err != nil {
		return "", err
	}
	out, err := w.cloud.SSM(primaryRegion).ListTagsForResource(ctx, &ssm.ListTagsForResourceInput{
		ResourceType: ssmtypes.ResourceTypeForTaggingParameter, ResourceId: aws.String(compile.ManifestName(name)),
	})
	if err != nil {
		return "", fmt.Errorf("tags of the manifest %s in %s: %w", compile.ManifestName(name), primaryRegion, err)
	}
	for _, t := range out.TagList {
		if aws.ToString(t.Key) == engine.OwnerTag {
			return aws.ToString(t.Value), nil
		}
	}
	return "", nil
}

// OtherStack names the stack an owner mark belongs to, if it is a CLI
// stack other than this workspace's.
func (w *Workspace) OtherStack(owner string) (string, bool) {
	rest, ok := strings.CutPrefix(owner, "stack:")
	if !ok {
		return "", false
	}
	stackName, _, _ := strings.Cut(rest, "/")
	return stackName, stackName != w.opts.Stack
}

// RemoveStack deletes the stack's state, under its lock. A stack that
// still records primitives is refused unless force: their objects would be
// left in the cloud with nothing managing them (destroy them first).
func (w *Workspace) RemoveStack(ctx context.Context, force bool) error {
	b, ok := w.backend.(interface{ Remove(context.Context) error })
	if !ok {
		return fmt.Errorf("the state at %s cannot remove a stack", w.backend.Where())
	}
	return w.withLock(ctx, "rm", func() error {
		doc, err := w.backend.Load(ctx)
		if err != nil {
			return err
		}
		if len(doc.Records) > 0 && !force {
			return fmt.Errorf("stack %s still records %d primitives: run meridian destroy first, or pass --force to drop the records and leave the objects in the cloud unmanaged", w.opts.Stack, len(doc.Records))
		}
		return b.Remove(ctx)
	})
}
