package aws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	backuptypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed/ec2capacity"
)

// Every driver of a taggable type carries the ownership marks, and the
// name-keyed and cloud-id types can look for what a create would make.
var (
	_ engine.Marked = bucketDriver{}
	_ engine.Marked = tableDriver{}
	_ engine.Marked = roleDriver{}
	_ engine.Marked = zoneDriver{}
	_ engine.Marked = healthCheckDriver{}
	_ engine.Marked = parameterDriver{}
	_ engine.Marked = orgPolicyDriver{}
	_ engine.Marked = vaultDriver{}
	_ engine.Marked = backupPlanDriver{}
	_ engine.Marked = reservationDriver{}
	_ engine.Marked = launchTemplateDriver{}
	_ engine.Marked = groupDriver{}

	_ engine.Finder = bucketDriver{}
	_ engine.Finder = tableDriver{}
	_ engine.Finder = roleDriver{}
	_ engine.Finder = zoneDriver{}
	_ engine.Finder = healthCheckDriver{}
	_ engine.Finder = parameterDriver{}
	_ engine.Finder = orgPolicyDriver{}
	_ engine.Finder = vaultDriver{}
	_ engine.Finder = backupPlanDriver{}
	_ engine.Finder = reservationDriver{}
	_ engine.Finder = launchTemplateDriver{}
	_ engine.Finder = groupDriver{}

	_ engine.DataHolder = bucketDriver{}
	_ engine.DataHolder = tableDriver{}
	_ engine.DataHolder = vaultDriver{}
)

// TestMarkedDriversCoverTaggableTypes: a taggable type whose driver is not
// Marked would be created without marks, and then never deleted (the
// engine checks the marks before a delete) or adopted by anyone.
func TestMarkedDriversCoverTaggableTypes(t *testing.T) {
	// Types compile tags but whose AWS objects cannot carry tags: they are
	// owned through their parent (the plan, the policy).
	tagless := map[string]bool{compile.BackupSelection: true, compile.OrganizationsPolicyAttachment: true}
	for typ, d := range (&Cloud{}).Drivers() {
		_, marked := d.(engine.Marked)
		if want := compile.Taggable(typ) && !tagless[typ]; marked != want {
			t.Errorf("%s: Marked = %v, want %v", typ, marked, want)
		}
	}
}

// ownEnv is a moto server, meridian's drivers on it, and an independent
// SDK configuration (raw aws-sdk-go-v2 clients, not the drivers' Cloud) to
// set the scene and check the outcome.
type ownEnv struct {
	ctx     context.Context
	moto    *testbed.Moto
	drivers engine.Drivers
	raw     aws.Config
}

func startOwnEnv(t *testing.T) *ownEnv {
	t.Helper()
	testbed.RequireTool(t, "moto_server")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	m, err := testbed.StartMoto(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Stop() })
	c, err := New(ctx, Config{Endpoint: m.Endpoint(), AccessKey: "test", SecretKey: "test", S3UsePathStyle: true, SkipCredentialsValidation: true, Emulator: true})
	if err != nil {
		t.Fatal(err)
	}
	raw := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(m.Endpoint()),
	}
	return &ownEnv{ctx: ctx, moto: m, drivers: c.Drivers(), raw: raw}
}

func (e *ownEnv) s3(region string) *s3.Client {
	return s3.NewFromConfig(e.raw, func(o *s3.Options) { o.Region, o.UsePathStyle = region, true })
}

func (e *ownEnv) dynamodb(region string) *dynamodb.Client {
	return dynamodb.NewFromConfig(e.raw, func(o *dynamodb.Options) { o.Region = region })
}

func (e *ownEnv) iam() *iam.Client         { return iam.NewFromConfig(e.raw) }
func (e *ownEnv) route53() *route53.Client { return route53.NewFromConfig(e.raw) }

func must[T any](t *testing.T, what string) func(T, error) T {
	return func(out T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return out
	}
}

const ourOwner = "stack-a/" // + the primitive's name

// ownReq is the request the engine sends for a Marked type: its tags carry
// the owner mark of the primitive named name and the token.
func ownReq(typ, region, name, token string, props map[string]any) engine.Request {
	return engine.Request{
		Name: name, Type: typ, Region: region, Properties: primitive.Normalize(props), Token: token,
		Tags: map[string]string{"team": "web", engine.OwnerTag: ourOwner + name, engine.TokenTag: token},
	}
}

// wantNotOwned checks that err says the object is not ours and the name is taken.
func wantNotOwned(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, engine.ErrNotOwned) || !errors.Is(err, engine.ErrExists) {
		t.Fatalf("got %v, want an error wrapping ErrNotOwned and ErrExists", err)
	}
}

func sameTags(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if !maps.Equal(got, want) {
		t.Errorf("%s: tags %v, want %v", what, got, want)
	}
}

func (e *ownEnv) bucketTags(t *testing.T, region, bucket string) map[string]string {
	t.Helper()
	out, err := e.s3(region).GetBucketTagging(e.ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(bucket)})
	if code(err) == "NoSuchTagSet" {
		return map[string]string{}
	}
	tags := map[string]string{}
	for _, tg := range must[*s3.GetBucketTaggingOutput](t, "bucket tags")(out, err).TagSet {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	return tags
}

func (e *ownEnv) object(t *testing.T, region, bucket, key string) string {
	t.Helper()
	out := must[*s3.GetObjectOutput](t, "get object "+key)(e.s3(region).GetObject(e.ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}))
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func s3TagSet(tags map[string]string) *s3types.Tagging {
	tg := &s3types.Tagging{}
	for _, k := range sortedKeys(tags) {
		tg.TagSet = append(tg.TagSet, s3types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return tg
}

// TestBucketCreateNeverTakesOverABucket is issue 11's data loss: a bucket of
// the name already exists, holding an object, and was not made by this
// primitive. In us-east-1 S3 answers 200 to its owner's CreateBucket, and
// elsewhere BucketAlreadyOwnedByYou, which a resumed create took for its
// own. Create must refuse in both regions, resumed or not, before changing
// anything; and adopt the bucket once it carries the primitive's owner mark
// (a create cut short by a crash).
func TestBucketCreateNeverTakesOverABucket(t *testing.T) {
	e := startOwnEnv(t)
	for _, region := range []string{"us-east-1", "us-west-2"} {
		t.Run(region, func(t *testing.T) {
			bucket := "precious-" + region
			raw := e.s3(region)
			in := &s3.CreateBucketInput{Bucket: aws.String(bucket)}
			if region != "us-east-1" {
				in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(region)}
			}
			must[*s3.CreateBucketOutput](t, "create bucket")(raw.CreateBucket(e.ctx, in))
			theirs := map[string]string{"owner": "someone-else"}
			must[*s3.PutBucketTaggingOutput](t, "tag bucket")(raw.PutBucketTagging(e.ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(bucket), Tagging: s3TagSet(theirs)}))
			must[*s3.PutObjectOutput](t, "put object")(raw.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("ledger.csv"), Body: strings.NewReader("42")}))

			d := e.drivers[compile.S3Bucket]
			req := ownReq(compile.S3Bucket, region, "aws_s3_bucket.data", "tok-new", map[string]any{"bucket": bucket, "versioning": true, "force_destroy": true})
			for _, resume := range []bool{false, true} {
				req.Resume = resume
				_, err := d.Create(e.ctx, req)
				wantNotOwned(t, err)
				if !strings.Contains(err.Error(), bucket) {
					t.Errorf("the error does not name the bucket: %v", err)
				}
			}
			// Nothing changed: tags, versioning, the object.
			sameTags(t, "after the refused creates", e.bucketTags(t, region, bucket), theirs)
			v := must[*s3.GetBucketVersioningOutput](t, "versioning")(raw.GetBucketVersioning(e.ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(bucket)}))
			if v.Status != "" {
				t.Errorf("versioning is %q after the refused creates, want never set", v.Status)
			}
			if got := e.object(t, region, bucket, "ledger.csv"); got != "42" {
				t.Errorf("object holds %q, want 42", got)
			}

			// The same bucket marked as this primitive's (by an earlier
			// create with another token) is adopted: configured and
			// re-marked with the new token, its object kept.
			ours := map[string]string{engine.OwnerTag: ourOwner + "aws_s3_bucket.data", engine.TokenTag: "tok-old"}
			must[*s3.PutBucketTaggingOutput](t, "mark bucket")(raw.PutBucketTagging(e.ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(bucket), Tagging: s3TagSet(ours)}))
			req.Resume = false
			res, err := d.Create(e.ctx, req)
			if err != nil {
				t.Fatalf("create of a bucket marked as ours: %v", err)
			}
			if res.ID != bucket || res.Outputs["bucket"] != bucket {
				t.Errorf("adopted %s (%v), want %s", res.ID, res.Outputs, bucket)
			}
			sameTags(t, "after the adoption", e.bucketTags(t, region, bucket), req.Tags)
			v = must[*s3.GetBucketVersioningOutput](t, "versioning")(raw.GetBucketVersioning(e.ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(bucket)}))
			if v.Status != s3types.BucketVersioningStatusEnabled {
				t.Errorf("versioning is %q after the adoption, want Enabled", v.Status)
			}
			if got := e.object(t, region, bucket, "ledger.csv"); got != "42" {
				t.Errorf("object holds %q after the adoption, want 42", got)
			}
			// Read reports every tag, marks included (the engine strips them).
			obs, err := d.Read(e.ctx, engine.Record{ID: bucket, Region: region})
			if err != nil {
				t.Fatal(err)
			}
			sameTags(t, "Read", obs.Tags, req.Tags)
		})
	}
	t.Run("new bucket in us-east-1", func(t *testing.T) {
		req := ownReq(compile.S3Bucket, "us-east-1", "aws_s3_bucket.fresh", "tok-1", map[string]any{"bucket": "fresh-bucket", "versioning": true, "force_destroy": true})
		if _, err := e.drivers[compile.S3Bucket].Create(e.ctx, req); err != nil {
			t.Fatal(err)
		}
		sameTags(t, "new bucket", e.bucketTags(t, "us-east-1", "fresh-bucket"), req.Tags)
	})
}

func (e *ownEnv) tableTags(t *testing.T, region, table string) map[string]string {
	t.Helper()
	d := must[*dynamodb.DescribeTableOutput](t, "describe table")(e.dynamodb(region).DescribeTable(e.ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}))
	out := must[*dynamodb.ListTagsOfResourceOutput](t, "table tags")(e.dynamodb(region).ListTagsOfResource(e.ctx, &dynamodb.ListTagsOfResourceInput{ResourceArn: d.Table.TableArn}))
	tags := map[string]string{}
	for _, tg := range out.Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	return tags
}

func ddbTags(tags map[string]string) []ddbtypes.Tag {
	var out []ddbtypes.Tag
	for _, k := range sortedKeys(tags) {
		out = append(out, ddbtypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}

// TestTableCreateNeverTakesOverATable: a table of the name holds an item and
// is not this primitive's. Create must refuse, resumed or not, and leave
// its tags and item alone; marked as ours, it is adopted with its item.
func TestTableCreateNeverTakesOverATable(t *testing.T) {
	e := startOwnEnv(t)
	const region, table = "us-west-2", "orders"
	raw := e.dynamodb(region)
	theirs := map[string]string{"owner": "someone-else"}
	must[*dynamodb.CreateTableOutput](t, "create table")(raw.CreateTable(e.ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
		StreamSpecification:  &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewTypeNewAndOldImages},
		Tags:                 ddbTags(theirs),
	}))
	must[*dynamodb.PutItemOutput](t, "put item")(raw.PutItem(e.ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "order-1"}}}))
	itemThere := func(when string) {
		t.Helper()
		out := must[*dynamodb.GetItemOutput](t, "get item")(raw.GetItem(e.ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "order-1"}}}))
		if len(out.Item) == 0 {
			t.Errorf("the item is gone %s", when)
		}
	}

	d := e.drivers[compile.DynamoDBTable]
	req := ownReq(compile.DynamoDBTable, region, "aws_dynamodb_table.kv", "tok-new", map[string]any{"table_name": table, "hash_key": "pk", "stream_view_type": "NEW_AND_OLD_IMAGES"})
	for _, resume := range []bool{false, true} {
		req.Resume = resume
		_, err := d.Create(e.ctx, req)
		wantNotOwned(t, err)
	}
	sameTags(t, "after the refused creates", e.tableTags(t, region, table), theirs)
	itemThere("after the refused creates")

	marked := map[string]string{engine.OwnerTag: ourOwner + "aws_dynamodb_table.kv", engine.TokenTag: "tok-old"}
	d2 := must[*dynamodb.DescribeTableOutput](t, "describe")(raw.DescribeTable(e.ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}))
	must[*dynamodb.TagResourceOutput](t, "mark table")(raw.TagResource(e.ctx, &dynamodb.TagResourceInput{ResourceArn: d2.Table.TableArn, Tags: ddbTags(marked)}))

	// Ours, but with another hash key: a replacement must delete it first;
	// adopting it would record a table that is not what was asked for.
	other := req
	other.Properties = primitive.Normalize(map[string]any{"table_name": table, "hash_key": "id", "stream_view_type": "NEW_AND_OLD_IMAGES"})
	if _, err := d.Create(e.ctx, other); !errors.Is(err, engine.ErrExists) || errors.Is(err, engine.ErrNotOwned) {
		t.Errorf("create of our table with another hash key: %v, want ErrExists", err)
	}

	req.Resume = false
	res, err := d.Create(e.ctx, req)
	if err != nil {
		t.Fatalf("create of a table marked as ours: %v", err)
	}
	if res.ID != table || res.Outputs["arn"] != aws.ToString(d2.Table.TableArn) {
		t.Errorf("adopted %s %v", res.ID, res.Outputs)
	}
	// Tags the request does not name ("owner") are removed, as an update would.
	sameTags(t, "after the adoption", e.tableTags(t, region, table), req.Tags)
	itemThere("after the adoption")
}

// TestRoleCreateNeverTakesOverARole: an IAM role of the name that is not
// this primitive's keeps its trust policy and tags; marked as ours, it is
// adopted and brought to the request.
func TestRoleCreateNeverTakesOverARole(t *testing.T) {
	e := startOwnEnv(t)
	raw := e.iam()
	const role = "replication-role"
	theirDoc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	must[*iam.CreateRoleOutput](t, "create role")(raw.CreateRole(e.ctx, &iam.CreateRoleInput{
		RoleName: aws.String(role), AssumeRolePolicyDocument: aws.String(theirDoc),
		Tags: []iamtypes.Tag{{Key: aws.String("owner"), Value: aws.String("someone-else")}},
	}))
	roleNow := func() (string, map[string]string) {
		t.Helper()
		r := must[*iam.GetRoleOutput](t, "get role")(raw.GetRole(e.ctx, &iam.GetRoleInput{RoleName: aws.String(role)}))
		tags := map[string]string{}
		for _, tg := range must[*iam.ListRoleTagsOutput](t, "role tags")(raw.ListRoleTags(e.ctx, &iam.ListRoleTagsInput{RoleName: aws.String(role)})).Tags {
			tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		doc, _ := url.QueryUnescape(aws.ToString(r.Role.AssumeRolePolicyDocument))
		return doc, tags
	}
	d := e.drivers[compile.IAMRole]
	req := ownReq(compile.IAMRole, compile.Global, "aws_iam_role.replication", "tok-new", map[string]any{
		"name": role, "path": "/",
		"assume_role_policy": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{"Effect": "Allow", "Principal": map[string]any{"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}}},
	})
	for _, resume := range []bool{false, true} {
		req.Resume = resume
		_, err := d.Create(e.ctx, req)
		wantNotOwned(t, err)
	}
	doc, tags := roleNow()
	if !strings.Contains(doc, "ec2.amazonaws.com") || strings.Contains(doc, "s3.amazonaws.com") {
		t.Errorf("trust policy changed by the refused creates: %s", doc)
	}
	sameTags(t, "after the refused creates", tags, map[string]string{"owner": "someone-else"})

	must[*iam.TagRoleOutput](t, "mark role")(raw.TagRole(e.ctx, &iam.TagRoleInput{RoleName: aws.String(role), Tags: []iamtypes.Tag{
		{Key: aws.String(engine.OwnerTag), Value: aws.String(ourOwner + "aws_iam_role.replication")}, {Key: aws.String(engine.TokenTag), Value: aws.String("tok-old")},
	}}))
	req.Resume = false
	res, err := d.Create(e.ctx, req)
	if err != nil {
		t.Fatalf("create of a role marked as ours: %v", err)
	}
	if res.ID != role || !strings.HasSuffix(res.Outputs["arn"], ":role/"+role) {
		t.Errorf("adopted %s %v", res.ID, res.Outputs)
	}
	doc, tags = roleNow()
	if !strings.Contains(doc, "s3.amazonaws.com") {
		t.Errorf("trust policy not brought to the request by the adoption: %s", doc)
	}
	sameTags(t, "after the adoption", tags, req.Tags)
}

func (e *ownEnv) r53Tags(t *testing.T, typ r53types.TagResourceType, id string) map[string]string {
	t.Helper()
	out := must[*route53.ListTagsForResourceOutput](t, "route 53 tags")(e.route53().ListTagsForResource(e.ctx, &route53.ListTagsForResourceInput{ResourceType: typ, ResourceId: aws.String(id)}))
	tags := map[string]string{}
	for _, tg := range out.ResourceTagSet.Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	return tags
}

func (e *ownEnv) markR53(t *testing.T, typ r53types.TagResourceType, id string, tags map[string]string) {
	t.Helper()
	in := &route53.ChangeTagsForResourceInput{ResourceType: typ, ResourceId: aws.String(id)}
	for _, k := range sortedKeys(tags) {
		in.AddTags = append(in.AddTags, r53types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	must[*route53.ChangeTagsForResourceOutput](t, "tag")(e.route53().ChangeTagsForResource(e.ctx, in))
}

func (e *ownEnv) zonesNamed(t *testing.T, name string) []string {
	t.Helper()
	var ids []string
	for _, z := range must[*route53.ListHostedZonesOutput](t, "list zones")(e.route53().ListHostedZones(e.ctx, &route53.ListHostedZonesInput{})).HostedZones {
		if aws.ToString(z.Name) == name+"." {
			ids = append(ids, zoneID(aws.ToString(z.Id)))
		}
	}
	return ids
}

func (e *ownEnv) healthChecks(t *testing.T) []r53types.HealthCheck {
	t.Helper()
	return must[*route53.ListHealthChecksOutput](t, "list health checks")(e.route53().ListHealthChecks(e.ctx, &route53.ListHealthChecksInput{})).HealthChecks
}

// TestCloudIDCreatesAdoptWhatAKilledCreateLeft: a process killed after
// CreateHostedZone or CreateHealthCheck answered, before its record was
// saved, left an object carrying the primitive's owner mark that no record
// knows. The next run's create has a new token and is not a resume: it
// must find that object by its mark and adopt it, not make a duplicate;
// and it must leave alone objects of the same name that are not its own.
func TestCloudIDCreatesAdoptWhatAKilledCreateLeft(t *testing.T) {
	e := startOwnEnv(t)
	raw := e.route53()
	t.Run("hosted zone", func(t *testing.T) {
		const name = "killed.example.com"
		z := must[*route53.CreateHostedZoneOutput](t, "create zone")(raw.CreateHostedZone(e.ctx, &route53.CreateHostedZoneInput{Name: aws.String(name), CallerReference: aws.String("tok-killed")}))
		left := zoneID(aws.ToString(z.HostedZone.Id))
		e.markR53(t, r53types.TagResourceTypeHostedzone, left, map[string]string{engine.OwnerTag: ourOwner + "aws_route53_zone.dns", engine.TokenTag: "tok-killed"})
		req := ownReq(compile.Route53Zone, compile.Global, "aws_route53_zone.dns", "tok-next", map[string]any{"name": name})
		res, err := e.drivers[compile.Route53Zone].Create(e.ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if res.ID != left {
			t.Errorf("create made or took zone %s, want the one left behind, %s", res.ID, left)
		}
		if ids := e.zonesNamed(t, name); len(ids) != 1 {
			t.Errorf("zones named %s: %v, want exactly one", name, ids)
		}
		sameTags(t, "adopted zone", e.r53Tags(t, r53types.TagResourceTypeHostedzone, left), req.Tags)
	})
	t.Run("hosted zone of the name that is not ours", func(t *testing.T) {
		const name = "foreign.example.com"
		z := must[*route53.CreateHostedZoneOutput](t, "create zone")(raw.CreateHostedZone(e.ctx, &route53.CreateHostedZoneInput{Name: aws.String(name), CallerReference: aws.String("theirs")}))
		theirs := zoneID(aws.ToString(z.HostedZone.Id))
		e.markR53(t, r53types.TagResourceTypeHostedzone, theirs, map[string]string{engine.OwnerTag: "another-stack/aws_route53_zone.dns"})
		req := ownReq(compile.Route53Zone, compile.Global, "aws_route53_zone.dns", "tok-1", map[string]any{"name": name})
		res, err := e.drivers[compile.Route53Zone].Create(e.ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if res.ID == theirs {
			t.Fatalf("create took over zone %s, which another stack owns", theirs)
		}
		sameTags(t, "their zone", e.r53Tags(t, r53types.TagResourceTypeHostedzone, theirs), map[string]string{engine.OwnerTag: "another-stack/aws_route53_zone.dns"})
	})
	t.Run("health check", func(t *testing.T) {
		props := map[string]any{"type": "HTTPS", "fqdn": "killed.example.com", "port": 443, "resource_path": "/health", "request_interval": 30, "failure_threshold": 3}
		before := len(e.healthChecks(t))
		mk := func(ref string, interval int32) string {
			out := must[*route53.CreateHealthCheckOutput](t, "create health check")(raw.CreateHealthCheck(e.ctx, &route53.CreateHealthCheckInput{CallerReference: aws.String(ref), HealthCheckConfig: &r53types.HealthCheckConfig{
				Type: r53types.HealthCheckTypeHttps, FullyQualifiedDomainName: aws.String("killed.example.com"), Port: aws.Int32(443),
				ResourcePath: aws.String("/health"), RequestInterval: aws.Int32(interval), FailureThreshold: aws.Int32(3)}}))
			return aws.ToString(out.HealthCheck.Id)
		}
		mark := map[string]string{engine.OwnerTag: ourOwner + "aws_route53_health_check.primary", engine.TokenTag: "tok-killed"}
		// The old check of a replacement (another interval, which cannot
		// change in place) carries the same owner mark: it is not the one
		// the create would make.
		old := mk("tok-replaced", 10)
		e.markR53(t, r53types.TagResourceTypeHealthcheck, old, mark)
		left := mk("tok-killed", 30)
		e.markR53(t, r53types.TagResourceTypeHealthcheck, left, mark)
		req := ownReq(compile.Route53HealthCheck, compile.Global, "aws_route53_health_check.primary", "tok-next", props)
		res, err := e.drivers[compile.Route53HealthCheck].Create(e.ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if res.ID != left {
			t.Errorf("create made or took health check %s, want the one left behind, %s (old one %s)", res.ID, left, old)
		}
		if n := len(e.healthChecks(t)) - before; n != 2 {
			t.Errorf("%d health checks added, want the 2 made above and no duplicate", n)
		}
		sameTags(t, "adopted health check", e.r53Tags(t, r53types.TagResourceTypeHealthcheck, left), req.Tags)
		sameTags(t, "the replaced check", e.r53Tags(t, r53types.TagResourceTypeHealthcheck, old), mark)
	})
}

// TestFindersLookWithoutCreating: Find reports the object a create of req
// would make or adopt, found = false when there is none, and an error
// wrapping ErrNotOwned for a name-keyed object that is not req's. It never
// creates anything.
func TestFindersLookWithoutCreating(t *testing.T) {
	e := startOwnEnv(t)
	type finderCase struct {
		typ, region, name string
		props             map[string]any
		// make creates the object with the given tags, independently, and returns its id.
		make func(t *testing.T, tags map[string]string) string
		// nameKeyed objects not ours are an error; cloud-id ones are not found.
		nameKeyed bool
		count     func(t *testing.T) int
	}
	cases := []finderCase{
		{typ: compile.S3Bucket, region: "us-west-2", name: "aws_s3_bucket.b", props: map[string]any{"bucket": "find-me", "versioning": true, "force_destroy": false}, nameKeyed: true,
			make: func(t *testing.T, tags map[string]string) string {
				must[*s3.CreateBucketOutput](t, "create bucket")(e.s3("us-west-2").CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: aws.String("find-me"), CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: "us-west-2"}}))
				must[*s3.PutBucketTaggingOutput](t, "tag")(e.s3("us-west-2").PutBucketTagging(e.ctx, &s3.PutBucketTaggingInput{Bucket: aws.String("find-me"), Tagging: s3TagSet(tags)}))
				return "find-me"
			},
			count: func(t *testing.T) int {
				return len(must[*s3.ListBucketsOutput](t, "list buckets")(e.s3("us-west-2").ListBuckets(e.ctx, &s3.ListBucketsInput{})).Buckets)
			}},
		{typ: compile.DynamoDBTable, region: "us-east-1", name: "aws_dynamodb_table.t", props: map[string]any{"table_name": "find-table", "hash_key": "pk", "stream_view_type": "NEW_AND_OLD_IMAGES"}, nameKeyed: true,
			make: func(t *testing.T, tags map[string]string) string {
				must[*dynamodb.CreateTableOutput](t, "create table")(e.dynamodb("us-east-1").CreateTable(e.ctx, &dynamodb.CreateTableInput{
					TableName: aws.String("find-table"), BillingMode: ddbtypes.BillingModePayPerRequest,
					AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
					KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
					Tags:                 ddbTags(tags)}))
				return "find-table"
			},
			count: func(t *testing.T) int {
				return len(must[*dynamodb.ListTablesOutput](t, "list tables")(e.dynamodb("us-east-1").ListTables(e.ctx, &dynamodb.ListTablesInput{})).TableNames)
			}},
		{typ: compile.IAMRole, region: compile.Global, name: "aws_iam_role.r", props: map[string]any{"name": "find-role", "path": "/", "assume_role_policy": map[string]any{"Version": "2012-10-17"}}, nameKeyed: true,
			make: func(t *testing.T, tags map[string]string) string {
				in := &iam.CreateRoleInput{RoleName: aws.String("find-role"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`)}
				for _, k := range sortedKeys(tags) {
					in.Tags = append(in.Tags, iamtypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
				}
				must[*iam.CreateRoleOutput](t, "create role")(e.iam().CreateRole(e.ctx, in))
				return "find-role"
			},
			count: func(t *testing.T) int {
				return len(must[*iam.ListRolesOutput](t, "list roles")(e.iam().ListRoles(e.ctx, &iam.ListRolesInput{})).Roles)
			}},
		{typ: compile.Route53Zone, region: compile.Global, name: "aws_route53_zone.z", props: map[string]any{"name": "find.example.com"},
			make: func(t *testing.T, tags map[string]string) string {
				z := must[*route53.CreateHostedZoneOutput](t, "create zone")(e.route53().CreateHostedZone(e.ctx, &route53.CreateHostedZoneInput{Name: aws.String("find.example.com"), CallerReference: aws.String("ref-" + tags[engine.OwnerTag])}))
				id := zoneID(aws.ToString(z.HostedZone.Id))
				e.markR53(t, r53types.TagResourceTypeHostedzone, id, tags)
				return id
			},
			count: func(t *testing.T) int { return len(e.zonesNamed(t, "find.example.com")) }},
		{typ: compile.Route53HealthCheck, region: compile.Global, name: "aws_route53_health_check.h", props: map[string]any{"type": "HTTP", "fqdn": "find.example.com", "port": 80, "resource_path": "/", "request_interval": 30, "failure_threshold": 3},
			make: func(t *testing.T, tags map[string]string) string {
				out := must[*route53.CreateHealthCheckOutput](t, "create health check")(e.route53().CreateHealthCheck(e.ctx, &route53.CreateHealthCheckInput{CallerReference: aws.String("ref-" + tags[engine.OwnerTag]), HealthCheckConfig: &r53types.HealthCheckConfig{
					Type: r53types.HealthCheckTypeHttp, FullyQualifiedDomainName: aws.String("find.example.com"), Port: aws.Int32(80), ResourcePath: aws.String("/"), RequestInterval: aws.Int32(30), FailureThreshold: aws.Int32(3)}}))
				id := aws.ToString(out.HealthCheck.Id)
				e.markR53(t, r53types.TagResourceTypeHealthcheck, id, tags)
				return id
			},
			count: func(t *testing.T) int { return len(e.healthChecks(t)) }},
	}
	for _, tc := range cases {
		t.Run(tc.typ, func(t *testing.T) {
			f := e.drivers[tc.typ].(engine.Finder)
			req := ownReq(tc.typ, tc.region, tc.name, "tok-find", tc.props)
			n := tc.count(t)
			if _, found, err := f.Find(e.ctx, req); err != nil || found {
				t.Fatalf("Find before anything exists: found=%v, %v; want not found", found, err)
			}
			if got := tc.count(t); got != n {
				t.Fatalf("Find created something: %d objects, had %d", got, n)
			}
			// Someone else's object of that name.
			theirs := tc.make(t, map[string]string{engine.OwnerTag: "another-stack/" + tc.name})
			_, found, err := f.Find(e.ctx, req)
			if tc.nameKeyed {
				wantNotOwned(t, err)
				return // the name is taken: ours cannot exist beside it
			}
			if err != nil || found {
				t.Fatalf("Find with only another's object %s: found=%v, %v; want not found", theirs, found, err)
			}
			// Ours.
			ours := tc.make(t, map[string]string{engine.OwnerTag: ourOwner + tc.name, engine.TokenTag: "tok-old"})
			res, found, err := f.Find(e.ctx, req)
			if err != nil || !found || res.ID != ours {
				t.Fatalf("Find with our object %s: %+v found=%v, %v", ours, res, found, err)
			}
		})
	}
	// The name-keyed ones, found as ours.
	for _, tc := range cases[:3] {
		t.Run(tc.typ+" ours", func(t *testing.T) {
			f := e.drivers[tc.typ].(engine.Finder)
			req := ownReq(tc.typ, tc.region, "another-stack-prim", "tok-find", tc.props)
			req.Tags[engine.OwnerTag] = "another-stack/" + tc.name
			res, found, err := f.Find(e.ctx, req)
			if err != nil || !found {
				t.Fatalf("Find of its own object: found=%v, %v", found, err)
			}
			// What the create would have returned.
			obs, err := e.drivers[tc.typ].Read(e.ctx, engine.Record{ID: res.ID, Region: tc.region})
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(res.Outputs, obs.Outputs) {
				t.Errorf("Find's outputs %v, Read's %v", res.Outputs, obs.Outputs)
			}
		})
	}
}

// TestHoldsData: a bucket holds data while any version or delete marker is
// in it, a table while it has an item; an empty or missing one holds none.
func TestHoldsData(t *testing.T) {
	e := startOwnEnv(t)
	holds := func(t *testing.T, typ string, rec engine.Record, want string) {
		t.Helper()
		got, err := e.drivers[typ].(engine.DataHolder).HoldsData(e.ctx, rec)
		if err != nil || got != want {
			t.Errorf("%s %s holds %q (%v), want %q", typ, rec.ID, got, err, want)
		}
	}
	const region = "us-west-2"
	t.Run("bucket", func(t *testing.T) {
		rec := engine.Record{ID: "data-bucket", Region: region}
		holds(t, compile.S3Bucket, rec, "")
		raw := e.s3(region)
		must[*s3.CreateBucketOutput](t, "create")(raw.CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: aws.String(rec.ID), CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: region}}))
		holds(t, compile.S3Bucket, rec, "")
		must[*s3.PutBucketVersioningOutput](t, "versioning")(raw.PutBucketVersioning(e.ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(rec.ID), VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}))
		put := must[*s3.PutObjectOutput](t, "put")(raw.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String(rec.ID), Key: aws.String("a"), Body: strings.NewReader("x")}))
		holds(t, compile.S3Bucket, rec, "objects")
		// Deleted in a versioned bucket: the version and a delete marker stay.
		must[*s3.DeleteObjectOutput](t, "delete")(raw.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String(rec.ID), Key: aws.String("a")}))
		holds(t, compile.S3Bucket, rec, "objects")
		must[*s3.DeleteObjectOutput](t, "delete version")(raw.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String(rec.ID), Key: aws.String("a"), VersionId: put.VersionId}))
		holds(t, compile.S3Bucket, rec, "objects") // the delete marker
		vs := must[*s3.ListObjectVersionsOutput](t, "versions")(raw.ListObjectVersions(e.ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(rec.ID)}))
		for _, m := range vs.DeleteMarkers {
			must[*s3.DeleteObjectOutput](t, "delete marker")(raw.DeleteObject(e.ctx, &s3.DeleteObjectInput{Bucket: aws.String(rec.ID), Key: m.Key, VersionId: m.VersionId}))
		}
		holds(t, compile.S3Bucket, rec, "")
	})
	t.Run("table", func(t *testing.T) {
		rec := engine.Record{ID: "data-table", Region: region}
		holds(t, compile.DynamoDBTable, rec, "")
		raw := e.dynamodb(region)
		must[*dynamodb.CreateTableOutput](t, "create")(raw.CreateTable(e.ctx, &dynamodb.CreateTableInput{
			TableName: aws.String(rec.ID), BillingMode: ddbtypes.BillingModePayPerRequest,
			AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
			KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}}}))
		holds(t, compile.DynamoDBTable, rec, "")
		must[*dynamodb.PutItemOutput](t, "put")(raw.PutItem(e.ctx, &dynamodb.PutItemInput{TableName: aws.String(rec.ID), Item: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "k"}}}))
		holds(t, compile.DynamoDBTable, rec, "items")
	})
	t.Run("vault", func(t *testing.T) {
		// moto cannot make recovery points (no backup jobs): only the
		// empty and missing vaults can be shown here.
		rec := engine.Record{ID: "data-vault", Region: region}
		holds(t, compile.BackupVault, rec, "")
		must[*backup.CreateBackupVaultOutput](t, "create")(backup.NewFromConfig(e.raw, func(o *backup.Options) { o.Region = region }).CreateBackupVault(e.ctx, &backup.CreateBackupVaultInput{BackupVaultName: aws.String(rec.ID)}))
		holds(t, compile.BackupVault, rec, "")
	})
}

// TestRefusedDeletesSayWhatToDo: deletes the cloud refuses fail at once
// (not retried) with the code and what to do, and leave the object; a
// delete of an object already gone succeeds; a table delete returns once the
// table is gone.
func TestRefusedDeletesSayWhatToDo(t *testing.T) {
	e := startOwnEnv(t)
	refused := func(t *testing.T, err error, code string, advice ...string) {
		t.Helper()
		if err == nil {
			t.Fatalf("delete succeeded, want %s", code)
		}
		if engine.IsRetryable(err) {
			t.Errorf("%s is marked retryable: retrying cannot help", code)
		}
		for _, s := range append([]string{code}, advice...) {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("the error does not say %q: %v", s, err)
			}
		}
	}
	t.Run("bucket not empty", func(t *testing.T) {
		const region, bucket = "us-west-2", "full-bucket"
		raw := e.s3(region)
		must[*s3.CreateBucketOutput](t, "create")(raw.CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket), CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: region}}))
		must[*s3.PutObjectOutput](t, "put")(raw.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("a"), Body: strings.NewReader("x")}))
		d := e.drivers[compile.S3Bucket]
		rec := engine.Record{ID: bucket, Region: region, Inputs: primitive.Normalize(map[string]any{"bucket": bucket, "versioning": false, "force_destroy": false})}
		refused(t, d.Delete(e.ctx, rec), "BucketNotEmpty", "object_store.force_destroy = true and apply, then destroy", "empty the bucket")
		if got := e.object(t, region, bucket, "a"); got != "x" {
			t.Errorf("object holds %q after the refused delete", got)
		}
		rec.Inputs = primitive.Normalize(map[string]any{"bucket": bucket, "versioning": false, "force_destroy": true})
		if err := d.Delete(e.ctx, rec); err != nil {
			t.Fatal(err)
		}
		if err := d.Delete(e.ctx, rec); err != nil {
			t.Errorf("delete of a bucket already gone: %v", err)
		}
	})
	t.Run("hosted zone not empty", func(t *testing.T) {
		raw := e.route53()
		z := must[*route53.CreateHostedZoneOutput](t, "create zone")(raw.CreateHostedZone(e.ctx, &route53.CreateHostedZoneInput{Name: aws.String("busy.example.com"), CallerReference: aws.String("busy")}))
		id := zoneID(aws.ToString(z.HostedZone.Id))
		must[*route53.ChangeResourceRecordSetsOutput](t, "record")(raw.ChangeResourceRecordSets(e.ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(id), ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{
			Action: r53types.ChangeActionCreate, ResourceRecordSet: &r53types.ResourceRecordSet{Name: aws.String("www.busy.example.com"), Type: r53types.RRTypeA, TTL: aws.Int64(60), ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("10.0.0.1")}}}}}}}))
		d := e.drivers[compile.Route53Zone]
		refused(t, d.Delete(e.ctx, engine.Record{ID: id}), "HostedZoneNotEmpty", "Delete those record sets", "then destroy again")
		if len(e.zonesNamed(t, "busy.example.com")) != 1 {
			t.Error("the zone is gone after a refused delete")
		}
	})
	t.Run("role with a policy attached", func(t *testing.T) {
		raw := e.iam()
		must[*iam.CreateRoleOutput](t, "create role")(raw.CreateRole(e.ctx, &iam.CreateRoleInput{RoleName: aws.String("busy-role"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`)}))
		p := must[*iam.CreatePolicyOutput](t, "create policy")(raw.CreatePolicy(e.ctx, &iam.CreatePolicyInput{PolicyName: aws.String("extra"), PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)}))
		must[*iam.AttachRolePolicyOutput](t, "attach")(raw.AttachRolePolicy(e.ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("busy-role"), PolicyArn: p.Policy.Arn}))
		refused(t, e.drivers[compile.IAMRole].Delete(e.ctx, engine.Record{ID: "busy-role"}), "DeleteConflict", "list-attached-role-policies", "then destroy again")
		must[*iam.GetRoleOutput](t, "role still there")(raw.GetRole(e.ctx, &iam.GetRoleInput{RoleName: aws.String("busy-role")}))
	})
	t.Run("table", func(t *testing.T) {
		// AWS keeps a deleted table DELETING for a while, and moto deletes
		// it at once: a proxy answers DeleteTable as AWS does and passes it
		// on to moto a second later, so the table is still there when the
		// delete answers.
		motoURL, err := url.Parse(e.moto.Endpoint())
		if err != nil {
			t.Fatal(err)
		}
		proxy := httputil.NewSingleHostReverseProxy(motoURL)
		var late sync.WaitGroup
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".DeleteTable") {
				proxy.ServeHTTP(w, r)
				return
			}
			body, _ := io.ReadAll(r.Body)
			late.Add(1)
			go func() {
				defer late.Done()
				time.Sleep(time.Second)
				req, _ := http.NewRequest(http.MethodPost, e.moto.Endpoint()+r.URL.Path, bytes.NewReader(body))
				req.Header = r.Header.Clone()
				if resp, err := http.DefaultClient.Do(req); err == nil {
					resp.Body.Close()
				}
			}()
			w.Header().Set("Content-Type", "application/x-amz-json-1.0")
			_, _ = w.Write([]byte(`{"TableDescription":{"TableName":"going","TableStatus":"DELETING"}}`))
		}))
		t.Cleanup(func() { late.Wait(); srv.Close() })
		c, err := New(e.ctx, Config{Endpoint: e.moto.Endpoint(), Endpoints: map[string]string{"dynamodb": srv.URL}, AccessKey: "test", SecretKey: "test", S3UsePathStyle: true, SkipCredentialsValidation: true, Emulator: true})
		if err != nil {
			t.Fatal(err)
		}
		const region = "us-east-1"
		d := c.Drivers()[compile.DynamoDBTable]
		req := ownReq(compile.DynamoDBTable, region, "aws_dynamodb_table.gone", "tok", map[string]any{"table_name": "going", "hash_key": "pk", "stream_view_type": "KEYS_ONLY"})
		if _, err := d.Create(e.ctx, req); err != nil {
			t.Fatal(err)
		}
		rec := engine.Record{ID: "going", Region: region}
		if err := d.Delete(e.ctx, rec); err != nil {
			t.Fatal(err)
		}
		_, err = e.dynamodb(region).DescribeTable(e.ctx, &dynamodb.DescribeTableInput{TableName: aws.String("going")})
		if code(err) != "ResourceNotFoundException" {
			t.Errorf("when Delete returned, DescribeTable: %v; want ResourceNotFoundException", err)
		}
		late.Wait()
		if err := d.Delete(e.ctx, rec); err != nil {
			t.Errorf("delete of a table already gone: %v", err)
		}
	})
}

// TestBucketOfAnotherAccount: bucket names are global, and one that
// another account holds is reported as taken, in us-east-1 too, where the
// driver looks before it creates.
func TestBucketOfAnotherAccount(t *testing.T) {
	e := startOwnEnv(t)
	other := e.raw.Copy()
	other.APIOptions = append(other.APIOptions, smithyhttp.AddHeaderValue("x-moto-account-id", "111111111111"))
	theirs := s3.NewFromConfig(other, func(o *s3.Options) { o.Region, o.UsePathStyle = "us-east-1", true })
	must[*s3.CreateBucketOutput](t, "create their bucket")(theirs.CreateBucket(e.ctx, &s3.CreateBucketInput{Bucket: aws.String("their-bucket")}))
	must[*s3.PutObjectOutput](t, "put object")(theirs.PutObject(e.ctx, &s3.PutObjectInput{Bucket: aws.String("their-bucket"), Key: aws.String("k"), Body: strings.NewReader("v")}))
	for _, region := range []string{"us-east-1", "us-west-2"} {
		req := ownReq(compile.S3Bucket, region, "aws_s3_bucket.b", "tok", map[string]any{"bucket": "their-bucket", "versioning": true, "force_destroy": true})
		_, err := e.drivers[compile.S3Bucket].Create(e.ctx, req)
		if !errors.Is(err, engine.ErrExists) {
			t.Errorf("%s: create of another account's bucket: %v, want ErrExists", region, err)
		}
	}
	v := must[*s3.GetBucketVersioningOutput](t, "versioning")(theirs.GetBucketVersioning(e.ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("their-bucket")}))
	if v.Status != "" {
		t.Errorf("their bucket's versioning is %q", v.Status)
	}
}

// TestOtherNameKeyedCreatesClaim: the same rule for SSM parameters, backup
// vaults and plans, launch templates, Auto Scaling groups and
// Organizations policies: an object of the name that is
// not ours is refused, resumed or not, and left as it was; marked as ours it
// is adopted and carries the request's tags.
func TestOtherNameKeyedCreatesClaim(t *testing.T) {
	e := startOwnEnv(t)
	const region = "us-west-2"
	ssmc := ssm.NewFromConfig(e.raw, func(o *ssm.Options) { o.Region = region })
	bk := backup.NewFromConfig(e.raw, func(o *backup.Options) {
		o.Region = region
		o.APIOptions = append(o.APIOptions, EmulatorTagsPath) // moto's ListTags path
	})
	ec := ec2.NewFromConfig(e.raw, func(o *ec2.Options) { o.Region = region })
	images := must[*ec2.DescribeImagesOutput](t, "images")(ec.DescribeImages(e.ctx, &ec2.DescribeImagesInput{}))
	image := aws.ToString(images.Images[0].ImageId)
	vaultArn := func(t *testing.T, name string) string {
		return aws.ToString(must[*backup.DescribeBackupVaultOutput](t, "vault")(bk.DescribeBackupVault(e.ctx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String(name)})).BackupVaultArn)
	}
	planID := func(t *testing.T, name string) (id, arn string, n int) {
		for _, p := range must[*backup.ListBackupPlansOutput](t, "plans")(bk.ListBackupPlans(e.ctx, &backup.ListBackupPlansInput{})).BackupPlansList {
			if aws.ToString(p.BackupPlanName) == name {
				id, arn, n = aws.ToString(p.BackupPlanId), aws.ToString(p.BackupPlanArn), n+1
			}
		}
		return id, arn, n
	}
	ltID := func(t *testing.T, name string) string {
		out := must[*ec2.DescribeLaunchTemplatesOutput](t, "templates")(ec.DescribeLaunchTemplates(e.ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{name}}))
		return aws.ToString(out.LaunchTemplates[0].LaunchTemplateId)
	}
	ec2Tagged := func(t *testing.T, id string) map[string]string {
		out := must[*ec2.DescribeTagsOutput](t, "tags")(ec.DescribeTags(e.ctx, &ec2.DescribeTagsInput{Filters: []ec2types.Filter{{Name: aws.String("resource-id"), Values: []string{id}}}}))
		tags := map[string]string{}
		for _, tg := range out.Tags {
			tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		return tags
	}
	// An Auto Scaling group needs a launch template, and a policy an organization.
	lt := must[*ec2.CreateLaunchTemplateOutput](t, "template for the group")(ec.CreateLaunchTemplate(e.ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("group-lt"), LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(image), InstanceType: ec2types.InstanceTypeM5Large}}))
	ltid := aws.ToString(lt.LaunchTemplate.LaunchTemplateId)
	asg := autoscaling.NewFromConfig(e.raw, func(o *autoscaling.Options) { o.Region = region })
	group := func(t *testing.T) astypes.AutoScalingGroup {
		return must[*autoscaling.DescribeAutoScalingGroupsOutput](t, "group")(asg.DescribeAutoScalingGroups(e.ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"own-asg"}})).AutoScalingGroups[0]
	}
	org := organizations.NewFromConfig(e.raw)
	must[*organizations.CreateOrganizationOutput](t, "organization")(org.CreateOrganization(e.ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll}))
	policyID := func(t *testing.T) string {
		for _, p := range must[*organizations.ListPoliciesOutput](t, "policies")(org.ListPolicies(e.ctx, &organizations.ListPoliciesInput{Filter: orgtypes.PolicyTypeTagPolicy})).Policies {
			if aws.ToString(p.Name) == "own-policy" {
				return aws.ToString(p.Id)
			}
		}
		t.Fatal("no policy own-policy")
		return ""
	}
	cases := []struct {
		typ   string
		props map[string]any
		make  func(t *testing.T, tags map[string]string)
		mark  func(t *testing.T, tags map[string]string)
		tags  func(t *testing.T) map[string]string
		// state is what must not change while the object is not ours.
		state func(t *testing.T) string
		// adopted checks more of the adopted object, if set.
		adopted func(t *testing.T)
	}{
		{typ: compile.SSMParameter, props: map[string]any{"name": "/meridian/own", "value": map[string]any{"v": 2}},
			make: func(t *testing.T, tags map[string]string) {
				in := &ssm.PutParameterInput{Name: aws.String("/meridian/own"), Value: aws.String(`{"v":1}`), Type: ssmtypes.ParameterTypeString}
				for _, k := range sortedKeys(tags) {
					in.Tags = append(in.Tags, ssmtypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
				}
				must[*ssm.PutParameterOutput](t, "put parameter")(ssmc.PutParameter(e.ctx, in))
			},
			mark: func(t *testing.T, tags map[string]string) {
				in := &ssm.AddTagsToResourceInput{ResourceType: ssmtypes.ResourceTypeForTaggingParameter, ResourceId: aws.String("/meridian/own")}
				for _, k := range sortedKeys(tags) {
					in.Tags = append(in.Tags, ssmtypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
				}
				must[*ssm.AddTagsToResourceOutput](t, "tag parameter")(ssmc.AddTagsToResource(e.ctx, in))
			},
			tags: func(t *testing.T) map[string]string {
				tags := map[string]string{}
				for _, tg := range must[*ssm.ListTagsForResourceOutput](t, "tags")(ssmc.ListTagsForResource(e.ctx, &ssm.ListTagsForResourceInput{ResourceType: ssmtypes.ResourceTypeForTaggingParameter, ResourceId: aws.String("/meridian/own")})).TagList {
					tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
				}
				return tags
			},
			state: func(t *testing.T) string {
				return aws.ToString(must[*ssm.GetParameterOutput](t, "get")(ssmc.GetParameter(e.ctx, &ssm.GetParameterInput{Name: aws.String("/meridian/own")})).Parameter.Value)
			}},
		{typ: compile.BackupVault, props: map[string]any{"name": "own-vault"},
			make: func(t *testing.T, tags map[string]string) {
				must[*backup.CreateBackupVaultOutput](t, "create vault")(bk.CreateBackupVault(e.ctx, &backup.CreateBackupVaultInput{BackupVaultName: aws.String("own-vault"), BackupVaultTags: tags}))
			},
			mark: func(t *testing.T, tags map[string]string) {
				must[*backup.TagResourceOutput](t, "tag vault")(bk.TagResource(e.ctx, &backup.TagResourceInput{ResourceArn: aws.String(vaultArn(t, "own-vault")), Tags: tags}))
			},
			tags: func(t *testing.T) map[string]string {
				return must[*backup.ListTagsOutput](t, "tags")(bk.ListTags(e.ctx, &backup.ListTagsInput{ResourceArn: aws.String(vaultArn(t, "own-vault"))})).Tags
			},
			state: func(t *testing.T) string { return vaultArn(t, "own-vault") }},
		// The plan is as the request asks (moto lacks UpdateBackupPlan):
		// only its tags are the adoption's to change.
		{typ: compile.BackupPlan, props: map[string]any{"name": "own-plan", "rule": map[string]any{"name": "daily", "schedule": "cron(0 5 * * ? *)", "target_vault": "v", "delete_after_days": 7}},
			make: func(t *testing.T, tags map[string]string) {
				must[*backup.CreateBackupPlanOutput](t, "create plan")(bk.CreateBackupPlan(e.ctx, &backup.CreateBackupPlanInput{BackupPlanTags: tags, BackupPlan: &backuptypes.BackupPlanInput{
					BackupPlanName: aws.String("own-plan"), Rules: []backuptypes.BackupRuleInput{{RuleName: aws.String("daily"), TargetBackupVaultName: aws.String("v"), ScheduleExpression: aws.String("cron(0 5 * * ? *)"),
						Lifecycle: &backuptypes.Lifecycle{DeleteAfterDays: aws.Int64(7)}}}}}))
			},
			mark: func(t *testing.T, tags map[string]string) {
				_, arn, _ := planID(t, "own-plan")
				must[*backup.TagResourceOutput](t, "tag plan")(bk.TagResource(e.ctx, &backup.TagResourceInput{ResourceArn: aws.String(arn), Tags: tags}))
			},
			tags: func(t *testing.T) map[string]string {
				_, arn, _ := planID(t, "own-plan")
				return must[*backup.ListTagsOutput](t, "tags")(bk.ListTags(e.ctx, &backup.ListTagsInput{ResourceArn: aws.String(arn)})).Tags
			},
			state: func(t *testing.T) string {
				id, _, n := planID(t, "own-plan")
				p := must[*backup.GetBackupPlanOutput](t, "plan")(bk.GetBackupPlan(e.ctx, &backup.GetBackupPlanInput{BackupPlanId: aws.String(id)}))
				return fmt.Sprintf("%d plans, rule %s", n, aws.ToString(p.BackupPlan.Rules[0].RuleName))
			}},
		{typ: compile.LaunchTemplate, props: map[string]any{"name": "own-lt", "image_id": image, "instance_type": "m5.large", "capacity_reservation_id": ""},
			make: func(t *testing.T, tags map[string]string) {
				must[*ec2.CreateLaunchTemplateOutput](t, "create template")(ec.CreateLaunchTemplate(e.ctx, &ec2.CreateLaunchTemplateInput{
					LaunchTemplateName: aws.String("own-lt"), LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(image), InstanceType: ec2types.InstanceTypeT3Micro},
					TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeLaunchTemplate, Tags: ec2Tags(tags)}}}))
			},
			mark: func(t *testing.T, tags map[string]string) {
				must[*ec2.CreateTagsOutput](t, "tag template")(ec.CreateTags(e.ctx, &ec2.CreateTagsInput{Resources: []string{ltID(t, "own-lt")}, Tags: ec2Tags(tags)}))
			},
			tags: func(t *testing.T) map[string]string { return ec2Tagged(t, ltID(t, "own-lt")) },
			state: func(t *testing.T) string {
				out := must[*ec2.DescribeLaunchTemplatesOutput](t, "templates")(ec.DescribeLaunchTemplates(e.ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"own-lt"}}))
				return fmt.Sprintf("latest version %d", aws.ToInt64(out.LaunchTemplates[0].LatestVersionNumber))
			}},
		{typ: compile.AutoScalingGroup, props: map[string]any{"name": "own-asg", "min_size": 0, "max_size": 2, "availability_zones": []string{"us-west-2a"},
			"launch_template_id": ltid, "instance_types": []string{"m5.large"}, "on_demand_base_capacity": 0, "on_demand_percentage_above_base_capacity": 100,
			"spot_allocation_strategy": "price-capacity-optimized"},
			make: func(t *testing.T, tags map[string]string) {
				must[*autoscaling.CreateAutoScalingGroupOutput](t, "create group")(asg.CreateAutoScalingGroup(e.ctx, &autoscaling.CreateAutoScalingGroupInput{
					AutoScalingGroupName: aws.String("own-asg"), MinSize: aws.Int32(0), MaxSize: aws.Int32(1), AvailabilityZones: []string{"us-west-2a"},
					LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(ltid)}, Tags: groupTags("own-asg", tags)}))
			},
			mark: func(t *testing.T, tags map[string]string) {
				must[*autoscaling.CreateOrUpdateTagsOutput](t, "tag group")(asg.CreateOrUpdateTags(e.ctx, &autoscaling.CreateOrUpdateTagsInput{Tags: groupTags("own-asg", tags)}))
			},
			tags: func(t *testing.T) map[string]string {
				tags := map[string]string{}
				for _, tg := range group(t).Tags {
					tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
				}
				return tags
			},
			state: func(t *testing.T) string { return fmt.Sprintf("max %d", aws.ToInt32(group(t).MaxSize)) },
			// The group's instances get the cost tags, not the marks: they
			// are not meridian's objects.
			adopted: func(t *testing.T) {
				for _, tg := range group(t).Tags {
					if want := !isMark(aws.ToString(tg.Key)); aws.ToBool(tg.PropagateAtLaunch) != want {
						t.Errorf("group tag %s propagates at launch: %v, want %v", aws.ToString(tg.Key), aws.ToBool(tg.PropagateAtLaunch), want)
					}
				}
			}},
		{typ: compile.OrganizationsPolicy, props: map[string]any{"name": "own-policy", "type": "TAG_POLICY", "description": "ours", "content": map[string]any{"tags": map[string]any{}}},
			make: func(t *testing.T, tags map[string]string) {
				in := &organizations.CreatePolicyInput{Name: aws.String("own-policy"), Type: orgtypes.PolicyTypeTagPolicy, Description: aws.String("theirs"), Content: aws.String(`{"tags":{"cost-centre":{}}}`)}
				for _, k := range sortedKeys(tags) {
					in.Tags = append(in.Tags, orgtypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
				}
				must[*organizations.CreatePolicyOutput](t, "create policy")(org.CreatePolicy(e.ctx, in))
			},
			mark: func(t *testing.T, tags map[string]string) {
				in := &organizations.TagResourceInput{ResourceId: aws.String(policyID(t))}
				for _, k := range sortedKeys(tags) {
					in.Tags = append(in.Tags, orgtypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
				}
				must[*organizations.TagResourceOutput](t, "tag policy")(org.TagResource(e.ctx, in))
			},
			tags: func(t *testing.T) map[string]string {
				tags := map[string]string{}
				for _, tg := range must[*organizations.ListTagsForResourceOutput](t, "tags")(org.ListTagsForResource(e.ctx, &organizations.ListTagsForResourceInput{ResourceId: aws.String(policyID(t))})).Tags {
					tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
				}
				return tags
			},
			state: func(t *testing.T) string {
				p := must[*organizations.DescribePolicyOutput](t, "policy")(org.DescribePolicy(e.ctx, &organizations.DescribePolicyInput{PolicyId: aws.String(policyID(t))}))
				return aws.ToString(p.Policy.PolicySummary.Description) + " " + aws.ToString(p.Policy.Content)
			}},
	}
	for _, tc := range cases {
		t.Run(tc.typ, func(t *testing.T) {
			theirs := map[string]string{"owner": "someone-else"}
			tc.make(t, theirs)
			before := tc.state(t)
			name := tc.typ + ".own"
			req := ownReq(tc.typ, region, name, "tok-new", tc.props)
			for _, resume := range []bool{false, true} {
				req.Resume = resume
				_, err := e.drivers[tc.typ].Create(e.ctx, req)
				wantNotOwned(t, err)
			}
			if after := tc.state(t); after != before {
				t.Errorf("changed by the refused creates: %s, was %s", after, before)
			}
			sameTags(t, "after the refused creates", tc.tags(t), theirs)
			tc.mark(t, map[string]string{engine.OwnerTag: ourOwner + name, engine.TokenTag: "tok-old"})
			req.Resume = false
			if _, err := e.drivers[tc.typ].Create(e.ctx, req); err != nil {
				t.Fatalf("create of an object marked as ours: %v", err)
			}
			sameTags(t, "after the adoption", tc.tags(t), req.Tags)
			if tc.adopted != nil {
				tc.adopted(t)
			}
		})
	}
}

// TestReservationCreateAdoptsWhatAKilledCreateLeft: EC2 makes a capacity
// reservation's id, and the client token of a killed run is lost with it;
// the next run's create finds the reservation by its owner mark.
func TestReservationCreateAdoptsWhatAKilledCreateLeft(t *testing.T) {
	e := startOwnEnv(t)
	srv, err := ec2capacity.Start(e.moto.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	c, err := New(e.ctx, Config{Endpoint: srv.Endpoint(), AccessKey: "test", SecretKey: "test", S3UsePathStyle: true, SkipCredentialsValidation: true, Emulator: true})
	if err != nil {
		t.Fatal(err)
	}
	const region = "us-east-1"
	raw := ec2.NewFromConfig(e.raw, func(o *ec2.Options) { o.Region, o.BaseEndpoint = region, aws.String(srv.Endpoint()) })
	name := compile.EC2CapacityReservation + ".base"
	mark := map[string]string{engine.OwnerTag: ourOwner + name, engine.TokenTag: "tok-killed"}
	left := must[*ec2.CreateCapacityReservationOutput](t, "create reservation")(raw.CreateCapacityReservation(e.ctx, &ec2.CreateCapacityReservationInput{
		InstanceType: aws.String("m5.large"), InstancePlatform: ec2types.CapacityReservationInstancePlatformLinuxUnix, AvailabilityZone: aws.String("us-east-1a"),
		Tenancy: ec2types.CapacityReservationTenancyDefault, InstanceCount: aws.Int32(2), InstanceMatchCriteria: ec2types.InstanceMatchCriteriaTargeted,
		EndDateType: ec2types.EndDateTypeUnlimited, ClientToken: aws.String("tok-killed"),
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeCapacityReservation, Tags: ec2Tags(mark)}},
	})).CapacityReservation
	req := ownReq(compile.EC2CapacityReservation, region, name, "tok-next", map[string]any{
		"instance_type": "m5.large", "instance_platform": "Linux/UNIX", "availability_zone": "us-east-1a",
		"tenancy": "default", "instance_count": 3, "instance_match_criteria": "targeted"})
	res, err := c.Drivers()[compile.EC2CapacityReservation].Create(e.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.ID != aws.ToString(left.CapacityReservationId) {
		t.Errorf("create made or took %s, want the one left behind, %s", res.ID, aws.ToString(left.CapacityReservationId))
	}
	out := must[*ec2.DescribeCapacityReservationsOutput](t, "describe")(raw.DescribeCapacityReservations(e.ctx, &ec2.DescribeCapacityReservationsInput{}))
	if len(out.CapacityReservations) != 1 {
		t.Fatalf("%d reservations, want the one left behind only", len(out.CapacityReservations))
	}
	cr := out.CapacityReservations[0]
	if aws.ToInt32(cr.TotalInstanceCount) != 3 {
		t.Errorf("adopted reservation has %d instances, want the request's 3", aws.ToInt32(cr.TotalInstanceCount))
	}
	sameTags(t, "adopted reservation", ec2TagMap(cr.Tags), req.Tags)
}
