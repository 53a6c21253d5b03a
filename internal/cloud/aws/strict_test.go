package aws

// Tests of the drivers against the strict layer (internal/testbed/strict):
// moto with AWS's own behaviour in front of it. Each behaviour test turns on
// only the behaviour it is about. Checks go to moto behind the layer, with
// raw SDK clients, so the layer cannot hide or change what they see.

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	backuptypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go/middleware"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed/strict"
)

// strictEnv is the strict layer in front of moto, meridian's Cloud on the
// layer, and raw SDK configurations: one on moto itself (for checks) and one
// on the layer (to set a scene the layer must see, such as a new role).
type strictEnv struct {
	ctx    context.Context
	s      *testbed.Strict
	cloud  *Cloud
	moto   aws.Config
	layer  aws.Config
	change *changeLog
}

// only turns on the given behaviours and every other one off.
func only(on ...strict.Behaviour) strict.Options {
	var opts strict.Options
	for _, b := range strict.Behaviours() {
		keep := false
		for _, o := range on {
			keep = keep || o == b
		}
		if !keep {
			opts.Off = append(opts.Off, b)
		}
	}
	return opts
}

func startStrictEnv(t *testing.T, opts strict.Options) *strictEnv {
	t.Helper()
	s := testbed.StartStrict(t, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	c, err := New(ctx, Config{Endpoint: s.Endpoint(), AccessKey: "test", SecretKey: "test", S3UsePathStyle: true, SkipCredentialsValidation: true, Emulator: true})
	if err != nil {
		t.Fatal(err)
	}
	changes := &changeLog{}
	c.base.APIOptions = append(c.base.APIOptions, changes.middleware)
	raw := func(endpoint string) aws.Config {
		return aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), BaseEndpoint: aws.String(endpoint)}
	}
	return &strictEnv{ctx: ctx, s: s, cloud: c, moto: raw(s.Moto.Endpoint()), layer: raw(s.Endpoint()), change: changes}
}

func (e *strictEnv) s3(cfg aws.Config, region string) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.Region, o.UsePathStyle = region, true })
}

func (e *strictEnv) dynamodb(cfg aws.Config, region string) *dynamodb.Client {
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.Region = region })
}

// worked fails the test unless behaviour b changed at least one answer: a
// test the layer never touched proves nothing.
func (e *strictEnv) worked(t *testing.T, b strict.Behaviour) {
	t.Helper()
	if n := e.s.Server.Counts()[b]; n == 0 {
		t.Errorf("the strict layer's %s never answered instead of moto: the test did not exercise it", b)
	}
}

func request(name, typ, region string, props map[string]any, tags map[string]string) engine.Request {
	return engine.Request{Name: name, Type: typ, Region: region, Properties: primitive.Normalize(props), Tags: tags, Token: "token-" + strings.ReplaceAll(name, ".", "-")}
}

// TestStrictBucketPropagation: a new bucket answers NoSuchBucket for a
// while; the bucket driver's create must wait that out and leave the bucket
// versioned and tagged. Old drivers failed with "versioning: not found".
func TestStrictBucketPropagation(t *testing.T) {
	e := startStrictEnv(t, only(strict.BucketPropagation))
	d := e.cloud.Drivers()[primitive.S3Bucket]
	for _, region := range []string{"us-east-1", "us-west-2"} {
		bucket := "acme-propagation-" + region
		tags := map[string]string{"team": "payments", engine.OwnerTag: "t/" + bucket}
		if _, err := d.Create(e.ctx, request(bucket, primitive.S3Bucket, region, map[string]any{"bucket": bucket, "versioning": true}, tags)); err != nil {
			t.Fatalf("create bucket %s: %v", bucket, err)
		}
		raw := e.s3(e.moto, region)
		v, err := raw.GetBucketVersioning(e.ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(bucket)})
		if err != nil || v.Status != s3types.BucketVersioningStatusEnabled {
			t.Errorf("%s: versioning %v (%v), want Enabled", bucket, v, err)
		}
		got, err := raw.GetBucketTagging(e.ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(bucket)})
		if err != nil || len(got.TagSet) != len(tags) {
			t.Errorf("%s: tags %v (%v), want %v", bucket, got, err, tags)
		}
	}
	e.worked(t, strict.BucketPropagation)
}

// TestStrictRolePropagation: a new role cannot be assumed by S3
// replication or AWS Backup for a while; their creates must wait that out.
// Old drivers failed with InvalidRequest and InvalidParameterValueException.
func TestStrictRolePropagation(t *testing.T) {
	e := startStrictEnv(t, only(strict.RolePropagation))
	ctx := e.ctx
	for _, b := range []struct{ name, region string }{{"acme-src", "us-east-1"}, {"acme-dst", "us-west-2"}} {
		in := &s3.CreateBucketInput{Bucket: aws.String(b.name)}
		if b.region != "us-east-1" {
			in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(b.region)}
		}
		raw := e.s3(e.moto, b.region)
		if _, err := raw.CreateBucket(ctx, in); err != nil {
			t.Fatal(err)
		}
		if _, err := raw.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(b.name),
			VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
			t.Fatal(err)
		}
	}
	// The role is made through the layer, so that it knows the role is new.
	role, err := iam.NewFromConfig(e.layer).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("replication"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(role.Role.Arn)

	drivers := e.cloud.Drivers()
	if _, err := drivers[primitive.S3BucketReplication].Create(ctx, request("aws_s3_bucket_replication.x", primitive.S3BucketReplication, "us-east-1",
		map[string]any{"bucket": "acme-src", "role_arn": arn, "destination_bucket_arn": "arn:aws:s3:::acme-dst"}, nil)); err != nil {
		t.Fatalf("replication right after the role was made: %v", err)
	}
	got, err := e.s3(e.moto, "us-east-1").GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: aws.String("acme-src")})
	if err != nil || aws.ToString(got.ReplicationConfiguration.Role) != arn {
		t.Errorf("replication on moto: %v (%v), want role %s", got, err, arn)
	}

	bk := backup.NewFromConfig(e.moto)
	if _, err := bk.CreateBackupVault(ctx, &backup.CreateBackupVaultInput{BackupVaultName: aws.String("vault")}); err != nil {
		t.Fatal(err)
	}
	plan, err := bk.CreateBackupPlan(ctx, &backup.CreateBackupPlanInput{BackupPlan: &backuptypes.BackupPlanInput{BackupPlanName: aws.String("plan"),
		Rules: []backuptypes.BackupRuleInput{{RuleName: aws.String("hourly"), TargetBackupVaultName: aws.String("vault"), ScheduleExpression: aws.String("rate(1 hour)")}}}})
	if err != nil {
		t.Fatal(err)
	}
	// The layer refuses while the role is new and lets the call through to
	// moto afterwards (which lacks selections: the driver records an
	// unverified selection). What matters is that the refusal was waited out.
	if _, err := drivers[primitive.BackupSelection].Create(ctx, request("aws_backup_selection.x", primitive.BackupSelection, "us-east-1",
		map[string]any{"plan_id": aws.ToString(plan.BackupPlanId), "name": "pair", "role_arn": arn, "tag_key": "meridian:resource", "tag_value": "pair"}, nil)); err != nil {
		t.Fatalf("backup selection right after the role was made: %v", err)
	}
	e.worked(t, strict.RolePropagation)
}

// changeLog keeps the Route 53 changes the drivers' calls started.
type changeLog struct {
	mu  sync.Mutex
	ids []string
}

func (l *changeLog) middleware(s *middleware.Stack) error {
	return s.Initialize.Add(middleware.InitializeMiddlewareFunc("changeLog", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		out, md, err := next.HandleInitialize(ctx, in)
		var info *r53types.ChangeInfo
		switch o := out.Result.(type) {
		case *route53.CreateHostedZoneOutput:
			info = o.ChangeInfo
		case *route53.DeleteHostedZoneOutput:
			info = o.ChangeInfo
		case *route53.ChangeResourceRecordSetsOutput:
			info = o.ChangeInfo
		}
		if info != nil {
			l.mu.Lock()
			l.ids = append(l.ids, aws.ToString(info.Id))
			l.mu.Unlock()
		}
		return out, md, err
	}), middleware.After)
}

func (l *changeLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := l.ids
	l.ids = nil
	return ids
}

// TestStrictChangePending: Route 53 changes are PENDING for a while; every
// zone and record create, update and delete must return only once its
// change is INSYNC. Old drivers returned at once.
func TestStrictChangePending(t *testing.T) {
	e := startStrictEnv(t, only(strict.ChangePending))
	ctx := e.ctx
	drivers := e.cloud.Drivers()
	// GetChange through the layer: only the layer knows the change is pending.
	r53 := route53.NewFromConfig(e.layer)
	insync := func(step string) {
		t.Helper()
		ids := e.change.take()
		if len(ids) == 0 {
			t.Fatalf("%s started no Route 53 change", step)
		}
		for _, id := range ids {
			out, err := r53.GetChange(ctx, &route53.GetChangeInput{Id: aws.String(id)})
			if err != nil {
				t.Fatal(err)
			}
			if out.ChangeInfo.Status != r53types.ChangeStatusInsync {
				t.Errorf("%s returned while its change %s is %s", step, id, out.ChangeInfo.Status)
			}
		}
	}
	zone, err := drivers[primitive.Route53Zone].Create(ctx, request("aws_route53_zone.x", primitive.Route53Zone, primitive.Global, map[string]any{"name": "pending.example.com"}, map[string]string{"k": "v"}))
	if err != nil {
		t.Fatal(err)
	}
	insync("zone create")
	props := map[string]any{"zone_id": zone.ID, "name": "api.pending.example.com", "type": "CNAME", "ttl": 60,
		"set_identifier": "primary", "failover": "PRIMARY", "records": []any{"a.example.com"}}
	rd := drivers[primitive.Route53Record]
	req := request("aws_route53_record.x", primitive.Route53Record, primitive.Global, props, nil)
	res, err := rd.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	insync("record create")
	props["records"] = []any{"b.example.com"}
	req = request("aws_route53_record.x", primitive.Route53Record, primitive.Global, props, nil)
	rec := engine.Record{Name: req.Name, Type: req.Type, Region: req.Region, ID: res.ID, Inputs: req.Properties}
	if _, err := rd.Update(ctx, rec, req); err != nil {
		t.Fatal(err)
	}
	insync("record update")
	if err := rd.Delete(ctx, rec); err != nil {
		t.Fatal(err)
	}
	insync("record delete")
	if err := drivers[primitive.Route53Zone].Delete(ctx, engine.Record{Name: "aws_route53_zone.x", Type: primitive.Route53Zone, Region: primitive.Global, ID: zone.ID}); err != nil {
		t.Fatal(err)
	}
	insync("zone delete")
	e.worked(t, strict.ChangePending)
}

// TestStrictTableStillDeleting: a table deleted a moment ago is DELETING
// and its name taken (ResourceInUseException); creating it again must wait
// until it is gone. Old drivers failed at once.
func TestStrictTableStillDeleting(t *testing.T) {
	e := startStrictEnv(t, only(strict.TableDeleting))
	ctx := e.ctx
	layer := e.dynamodb(e.layer, "us-west-2")
	in := &dynamodb.CreateTableInput{TableName: aws.String("orders"), BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}}}
	if _, err := layer.CreateTable(ctx, in); err != nil {
		t.Fatal(err)
	}
	if _, err := layer.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String("orders")}); err != nil {
		t.Fatal(err)
	}
	tags := map[string]string{engine.OwnerTag: "t/aws_dynamodb_table.x"}
	if _, err := e.cloud.Drivers()[primitive.DynamoDBTable].Create(ctx, request("aws_dynamodb_table.x", primitive.DynamoDBTable, "us-west-2",
		map[string]any{"table_name": "orders", "hash_key": "id", "stream_view_type": "NEW_AND_OLD_IMAGES"}, tags)); err != nil {
		t.Fatalf("create a table whose name is still being deleted: %v", err)
	}
	out, err := e.dynamodb(e.moto, "us-west-2").DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("orders")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.Table.KeySchema[0].AttributeName); got != "id" {
		t.Errorf("table orders has hash key %q, want the new table's id", got)
	}
	e.worked(t, strict.TableDeleting)
}

// capacityWithKubernetes is a capacity reservation with a kubernetes block:
// its manifest is over 8 KB of JSON.
func capacityWithKubernetes(imageID string) blueprint.Capacity {
	var demand []float64
	for i := 0; i < 24*14; i++ {
		demand = append(demand, 30+10*float64(i%24)/24)
	}
	return blueprint.Capacity{
		Name: "web", PrimaryRegion: "us-east-1", SecondaryRegion: "us-west-2",
		InstanceTypes: []string{"m5.large", "m5.xlarge"}, ImageID: imageID,
		Demand: blueprint.Demand{Values: demand, Start: "2026-09-01T00:00:00Z"},
		Batch:  0.25, Horizon: "7d",
		Kubernetes: &blueprint.CapacityKubernetes{Namespace: "web", CreateNamespace: true},
	}
}

// TestStrictManifestSize: SSM refuses values over 4 KB (Standard) and 8 KB
// (Advanced); the capacity manifest with a kubernetes block is over both as
// plain JSON. The driver must store it so that it fits and reads back the
// same document. Old drivers were refused on every tier.
func TestStrictManifestSize(t *testing.T) {
	e := startStrictEnv(t, only(strict.SSMSize))
	ctx := e.ctx
	g, _, err := compile.Capacity(capacityWithKubernetes("ami-12345678"), blueprint.DefaultPrices(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var p primitive.Primitive
	for _, q := range g.Primitives {
		if q.Type == primitive.SSMParameter {
			p = q
		}
	}
	doc := p.Properties["value"].(map[string]any)
	if raw, _ := json.Marshal(doc); len(raw) <= primitive.AdvancedParameterSize {
		t.Fatalf("the manifest is %d bytes: the test needs one over %d", len(raw), primitive.AdvancedParameterSize)
	}
	if _, err := e.cloud.Drivers()[primitive.SSMParameter].Create(ctx, request(p.Name, p.Type, p.Region, p.Properties, map[string]string{"k": "v"})); err != nil {
		t.Fatalf("create the capacity manifest: %v", err)
	}
	name := p.Properties["name"].(string)
	out, err := ssm.NewFromConfig(e.moto).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(aws.ToString(out.Parameter.Value)); n > primitive.StandardParameterSize {
		t.Errorf("the stored manifest is %d bytes, over the Standard tier's %d", n, primitive.StandardParameterSize)
	}
	back, err := primitive.DecodeManifest(aws.ToString(out.Parameter.Value))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(doc)
	got, _ := json.Marshal(back)
	if string(got) != string(want) {
		t.Errorf("the manifest read back from moto differs from the one written")
	}
	// Import reads it through GetParameter.
	if read, err := e.cloud.GetParameter(ctx, p.Region, name); err != nil || !reflect.DeepEqual(read, back) {
		t.Errorf("GetParameter: %v", err)
	}
}

// TestStrictTagLimits: AWS refuses a tag value over 256 characters at
// apply time; compile.CheckLimits must refuse the same graph at plan time,
// naming the primitive and the tag, and pass a graph AWS accepts.
func TestStrictTagLimits(t *testing.T) {
	e := startStrictEnv(t, only(strict.TagLimits))
	pair := func(prefix, value string) primitive.Graph {
		g, err := compile.RegionPair(blueprint.RegionPair{
			Name: "payments", PrimaryRegion: "us-east-1", SecondaryRegion: "us-west-2",
			ObjectStore: &blueprint.ObjectStore{BucketPrefix: prefix, ForceDestroy: true},
		}, map[string]string{"env": value})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	bucketOf := func(g primitive.Graph) primitive.Primitive {
		for _, p := range g.Primitives {
			if p.Type == primitive.S3Bucket {
				return p
			}
		}
		t.Fatal("no bucket")
		return primitive.Primitive{}
	}
	long := pair("acme-long", strings.Repeat("x", 300))
	vs := compile.CheckLimits("meridian_region_pair.payments", "stack", long)
	if len(vs) == 0 {
		t.Fatal("CheckLimits passed a 300-character tag value")
	}
	b := bucketOf(long)
	found := false
	for _, v := range vs {
		for _, p := range v.Primitives {
			found = found || (v.Tag == "env" && strings.HasPrefix(p, b.Name+" "))
		}
	}
	if !found {
		t.Errorf("no violation names tag env on %s: %v", b.Name, vs)
	}
	// What CheckLimits refuses, AWS refuses (the layer answers as AWS does).
	d := e.cloud.Drivers()[primitive.S3Bucket]
	if _, err := d.Create(e.ctx, request(b.Name, b.Type, b.Region, b.Properties, b.Tags)); err == nil {
		t.Errorf("the strict layer accepted a 300-character tag value")
	}
	ok := pair("acme-ok", "production")
	if vs := compile.CheckLimits("meridian_region_pair.payments", "stack", ok); len(vs) != 0 {
		t.Fatalf("CheckLimits refused a graph within the limits: %v", vs)
	}
	b = bucketOf(ok)
	tags := map[string]string{engine.OwnerTag: "stack/" + b.Name, engine.TokenTag: strings.Repeat("a", 24)}
	for k, v := range b.Tags {
		tags[k] = v
	}
	if _, err := d.Create(e.ctx, request(b.Name, b.Type, b.Region, b.Properties, tags)); err != nil {
		t.Errorf("a bucket CheckLimits passed was refused: %v", err)
	}
	e.worked(t, strict.TagLimits)
}

// TestStrictOutsideCallsRetry: calls made outside the engine (the S3 state
// backend, drills) use the Cloud's own clients, which must retry 5xx and
// connection resets themselves. Old clients had no retries at all.
func TestStrictOutsideCallsRetry(t *testing.T) {
	opts := only(strict.Faults)
	opts.FaultRate, opts.FaultKinds = 0.3, []strict.Fault{strict.FaultServerError, strict.FaultReset}
	e := startStrictEnv(t, opts)
	ctx := e.ctx
	if _, err := e.s3(e.moto, "us-east-1").CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("state")}); err != nil {
		t.Fatal(err)
	}
	client := e.cloud.S3("us-east-1")
	for i := 0; i < 20; i++ {
		key := fmt.Sprintf("stack/entry-%02d.json", i)
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("state"), Key: aws.String(key), Body: strings.NewReader(`{"n":1}`)}); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
		if _, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("state"), Key: aws.String(key)}); err != nil {
			t.Fatalf("head %s: %v", key, err)
		}
	}
	e.worked(t, strict.Faults)
}

// TestStrictFaultsRetriedByEngine: with connection resets and 5xx on a
// share of calls, the engine must retry the drivers' calls (a reset is
// transient) and apply and destroy roles, policies, tables and vaults.
// Old drivers failed on resets (IAM PutRolePolicy, DynamoDB DescribeTable,
// DeleteBackupVault).
func TestStrictFaultsRetriedByEngine(t *testing.T) {
	opts := only(strict.Faults)
	// 5%, as the suites run: a role's create is now seven requests (its
	// managed policies), and the engine retries the whole call six times,
	// so at 20% a run gave up one time in ten. Old drivers failed on the
	// first reset, which a run of this size meets every time.
	opts.FaultRate, opts.FaultKinds = 0.05, []strict.Fault{strict.FaultReset}
	e := startStrictEnv(t, opts)
	g, _, err := compile.DRPolicy(drBlueprint(), map[string]string{"env": "test"})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := compile.RegionPair(drBlueprint().RegionPair, map[string]string{"env": "test"})
	if err != nil {
		t.Fatal(err)
	}
	// The types the old drivers failed on, and what they need.
	keep := subgraph(append(g.Primitives, pair.Primitives...), primitive.IAMRole, primitive.IAMRolePolicy, primitive.BackupVault, primitive.DynamoDBTable)
	if len(keep.Primitives) < 4 {
		t.Fatalf("the subgraph is too small: %v", keep.Primitives)
	}
	applyAndDestroy(t, e, keep)
	t.Logf("%d primitives; the layer: %v", len(keep.Primitives), e.s.Server.Counts())
	e.worked(t, strict.Faults)
	e.nothingLeft(t)
}

// subgraph keeps the primitives of the given types whose dependencies are
// kept too.
func subgraph(all []primitive.Primitive, types ...string) primitive.Graph {
	kept := map[string]bool{}
	var out []primitive.Primitive
	for _, p := range all {
		for _, typ := range types {
			if p.Type == typ {
				kept[p.Name] = true
				out = append(out, p)
			}
		}
	}
	for changed := true; changed; {
		changed = false
		var next []primitive.Primitive
		for _, p := range out {
			ok := true
			for _, dep := range p.Dependencies() {
				ok = ok && kept[dep]
			}
			if ok {
				next = append(next, p)
			} else {
				kept[p.Name], changed = false, true
			}
		}
		out = next
	}
	return primitive.Graph{Primitives: out}
}

func drBlueprint() blueprint.DRPolicy {
	return blueprint.DRPolicy{Name: "dr", RPO: "1h", RTO: "4h",
		Backup: blueprint.Backup{Schedule: "rate(1 hour)", RetentionDays: 7, CrossRegionCopy: true},
		RegionPair: blueprint.RegionPair{
			Name: "payments", PrimaryRegion: "us-east-1", SecondaryRegion: "us-west-2",
			ObjectStore: &blueprint.ObjectStore{BucketPrefix: "acme-payments", ForceDestroy: true},
			KVTable:     &blueprint.KVTable{HashKey: "pk"},
			DNS: &blueprint.DNS{ZoneName: "example.com", RecordName: "api",
				PrimaryEndpoint: "a.example.com", SecondaryEndpoint: "b.example.com"},
		}}
}

func applyAndDestroy(t *testing.T, e *strictEnv, g primitive.Graph) {
	t.Helper()
	eng := &engine.Engine{Drivers: e.cloud.Drivers(), Scope: "strict"}
	var st engine.State
	p, err := engine.Diff(g, st, eng.Drivers)
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Apply(e.ctx, p, &st); err != nil {
		t.Errorf("apply: %v", err)
	}
	if err := eng.Destroy(e.ctx, &st); err != nil {
		t.Errorf("destroy: %v", err)
	}
}

// nothingLeft checks with raw clients on moto that no object is left.
func (e *strictEnv) nothingLeft(t *testing.T) {
	t.Helper()
	ctx := e.ctx
	left := func(what string, n int, err error) {
		t.Helper()
		if err != nil {
			t.Errorf("list %s: %v", what, err)
		} else if n > 0 {
			t.Errorf("%d %s left", n, what)
		}
	}
	for _, region := range []string{"us-east-1", "us-west-2"} {
		b, err := e.s3(e.moto, region).ListBuckets(ctx, &s3.ListBucketsInput{})
		if err == nil {
			left("buckets", len(b.Buckets), nil)
		} else {
			left("buckets", 0, err)
		}
		tables, err := e.dynamodb(e.moto, region).ListTables(ctx, &dynamodb.ListTablesInput{})
		if err == nil {
			left("tables in "+region, len(tables.TableNames), nil)
		} else {
			left("tables in "+region, 0, err)
		}
		vaults, err := backup.NewFromConfig(e.moto, func(o *backup.Options) { o.Region = region }).ListBackupVaults(ctx, &backup.ListBackupVaultsInput{})
		if err == nil {
			left("backup vaults in "+region, len(vaults.BackupVaultList), nil)
		} else {
			left("backup vaults in "+region, 0, err)
		}
		params, err := ssm.NewFromConfig(e.moto, func(o *ssm.Options) { o.Region = region }).DescribeParameters(ctx, &ssm.DescribeParametersInput{})
		if err == nil {
			left("SSM parameters in "+region, len(params.Parameters), nil)
		} else {
			left("SSM parameters in "+region, 0, err)
		}
	}
	for _, region := range []string{"us-east-1", "us-west-2"} {
		ec := ec2.NewFromConfig(e.moto, func(o *ec2.Options) { o.Region = region })
		lts, err := ec.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{})
		if err == nil {
			left("launch templates in "+region, len(lts.LaunchTemplates), nil)
		} else {
			left("launch templates in "+region, 0, err)
		}
		groups, err := autoscaling.NewFromConfig(e.moto, func(o *autoscaling.Options) { o.Region = region }).DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
		if err == nil {
			left("Auto Scaling groups in "+region, len(groups.AutoScalingGroups), nil)
		} else {
			left("Auto Scaling groups in "+region, 0, err)
		}
		// Capacity reservations live in the layer's stand-in, not in moto:
		// ask it with a raw client (the SDK's own retries, faults or not).
		crs, err := ec2.NewFromConfig(e.layer, func(o *ec2.Options) { o.Region = region }).DescribeCapacityReservations(ctx, &ec2.DescribeCapacityReservationsInput{
			Filters: []ec2types.Filter{{Name: aws.String("state"), Values: []string{"active", "pending"}}}})
		if err == nil {
			left("capacity reservations in "+region, len(crs.CapacityReservations), nil)
		} else {
			left("capacity reservations in "+region, 0, err)
		}
	}
	roles, err := iam.NewFromConfig(e.moto).ListRoles(ctx, &iam.ListRolesInput{})
	if err == nil {
		left("IAM roles", len(roles.Roles), nil)
	} else {
		left("IAM roles", 0, err)
	}
	r53 := route53.NewFromConfig(e.moto)
	zones, err := r53.ListHostedZones(ctx, &route53.ListHostedZonesInput{})
	if err == nil {
		left("hosted zones", len(zones.HostedZones), nil)
	} else {
		left("hosted zones", 0, err)
	}
	checks, err := r53.ListHealthChecks(ctx, &route53.ListHealthChecksInput{})
	if err == nil {
		left("health checks", len(checks.HealthChecks), nil)
	} else {
		left("health checks", 0, err)
	}
}

// TestStrictFullRunsLeaveNothing applies and destroys a region pair with
// its DR policy, and a capacity reservation, through the engine, with every
// strict behaviour on (5% faults included), three times in a row, and checks
// on moto that nothing is left after each run.
func TestStrictFullRunsLeaveNothing(t *testing.T) {
	e := startStrictEnv(t, strict.Options{})
	pair, err := compile.RegionPair(drBlueprint().RegionPair, map[string]string{"env": "test"})
	if err != nil {
		t.Fatal(err)
	}
	// moto keeps a deleted Backup plan's name taken (AWS does not): each
	// run names its DR policy anew. Everything else keeps its name, so a
	// run meets what the last one just deleted (a table still DELETING).
	drFor := func(run int) primitive.Graph {
		b := drBlueprint()
		b.Name = fmt.Sprintf("dr%d", run)
		dr, _, err := compile.DRPolicy(b, map[string]string{"env": "test"})
		if err != nil {
			t.Fatal(err)
		}
		dr.Primitives = append(append([]primitive.Primitive{}, pair.Primitives...), dr.Primitives...)
		return dr
	}
	images, err := ec2.NewFromConfig(e.moto).DescribeImages(e.ctx, &ec2.DescribeImagesInput{})
	if err != nil || len(images.Images) == 0 {
		t.Fatalf("moto's images: %v", err)
	}
	c := capacityWithKubernetes(aws.ToString(images.Images[0].ImageId))
	c.Kubernetes = nil // no clusters here
	capacity, _, err := compile.Capacity(c, blueprint.DefaultPrices(), map[string]string{"env": "test"})
	if err != nil {
		t.Fatal(err)
	}
	for run := 1; run <= 3; run++ {
		begin := time.Now()
		graphs := []primitive.Graph{drFor(run), capacity}
		for _, g := range graphs {
			if vs := compile.CheckLimits("test", "strict", g); len(vs) > 0 {
				t.Fatal(vs)
			}
		}
		var wg sync.WaitGroup
		for _, g := range graphs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				applyAndDestroy(t, e, g)
			}()
		}
		wg.Wait()
		e.nothingLeft(t)
		t.Logf("run %d: %s, the layer so far: %v", run, time.Since(begin).Round(time.Second), e.s.Server.Counts())
		if t.Failed() {
			t.Fatalf("run %d failed", run)
		}
	}
	for _, b := range []strict.Behaviour{strict.BucketPropagation, strict.RolePropagation, strict.ChangePending, strict.Faults} {
		e.worked(t, b)
	}
}

// TestStrictThrottledRequestsWait: Route 53 throttles an account beyond its
// rate, and a driver call makes several requests within it (a zone: its
// create, its tags, its change). Zones created side by side, as terraform's
// parallel resources or the engine's workers do, must each get through:
// the throttled request waits and tries again. Old drivers' clients never
// retried, and the call failed with Throttling at once.
func TestStrictThrottledRequestsWait(t *testing.T) {
	opts := only(strict.Throttling)
	opts.Rates = map[string]float64{"route53": 2}
	e := startStrictEnv(t, opts)
	d := e.cloud.Drivers()[primitive.Route53Zone]
	errs := make(chan error, 6)
	for i := range cap(errs) {
		go func() {
			name := fmt.Sprintf("aws_route53_zone.z%d", i)
			_, err := d.Create(e.ctx, request(name, primitive.Route53Zone, primitive.Global,
				map[string]any{"name": fmt.Sprintf("z%d.throttled.example.com", i)}, map[string]string{engine.OwnerTag: "t/" + name}))
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	zones, err := route53.NewFromConfig(e.moto).ListHostedZones(e.ctx, &route53.ListHostedZonesInput{})
	if err != nil || len(zones.HostedZones) != cap(errs) {
		t.Fatalf("moto holds %d zones (%v), want %d", len(zones.HostedZones), err, cap(errs))
	}
	e.worked(t, strict.Throttling)
}

// TestStrictBucketCreateAnswerLost: a CreateBucket whose answer was lost
// (a reset after S3 made the bucket) leaves a bucket that carries the
// create's marks and is not visible yet. The engine's retry of the create
// meets BucketAlreadyOwnedByYou and must claim the bucket by its marks
// through the propagation, not fail on NoSuchBucket. Old drivers read the
// tags of such a bucket once and failed.
func TestStrictBucketCreateAnswerLost(t *testing.T) {
	e := startStrictEnv(t, only(strict.BucketPropagation))
	const bucket, region = "acme-answer-lost", "us-west-2"
	tags := map[string]string{"team": "payments", engine.OwnerTag: "t/" + bucket}
	// The lost create, as the driver sent it: its answer never matters.
	cfg := &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(region)}
	for _, k := range sortedKeys(tags) {
		cfg.Tags = append(cfg.Tags, s3types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	if _, err := e.s3(e.layer, region).CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket), CreateBucketConfiguration: cfg}); err != nil {
		t.Fatal(err)
	}
	d := e.cloud.Drivers()[primitive.S3Bucket]
	if _, err := d.Create(e.ctx, request(bucket, primitive.S3Bucket, region, map[string]any{"bucket": bucket, "versioning": true}, tags)); err != nil {
		t.Fatalf("create again: %v", err)
	}
	v, err := e.s3(e.moto, region).GetBucketVersioning(e.ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(bucket)})
	if err != nil || v.Status != s3types.BucketVersioningStatusEnabled {
		t.Errorf("versioning %v (%v), want Enabled", v, err)
	}
	e.worked(t, strict.BucketPropagation)
}
