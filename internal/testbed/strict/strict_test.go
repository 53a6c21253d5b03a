package strict_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	backuptypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwschemas "github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"

	"github.com/meridianhq/terraform-provider-meridian/internal/testbed"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed/strict"
)

var moto *testbed.Moto

func TestMain(m *testing.M) {
	code := m.Run()
	if moto != nil {
		_ = moto.Stop()
	}
	os.Exit(code)
}

// start gives the test a strict layer with opts in front of a fresh moto
// shared by the package's tests.
func start(t *testing.T, opts strict.Options) *strict.Server {
	t.Helper()
	testbed.RequireTool(t, "moto_server")
	if moto == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		m, err := testbed.StartMoto(ctx)
		if err != nil {
			t.Fatal(err)
		}
		moto = m
	}
	if err := moto.Reset(); err != nil {
		t.Fatal(err)
	}
	opts.Log = logWriter{t}
	s, err := strict.Start(moto.Endpoint(), opts)
	if err != nil {
		t.Fatal(err)
	}
	warned := sdkWarnings.Load()
	t.Cleanup(func() {
		_ = s.Close()
		if n := sdkWarnings.Load() - warned; n > 0 {
			t.Errorf("the SDK logged %d warnings (see above)", n)
		}
	})
	return s
}

type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// only is every behaviour off but the ones named.
func only(opts strict.Options, on ...strict.Behaviour) strict.Options {
	opts.Off = nil
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

// none is every behaviour off: the layer answers as moto does.
func none() strict.Options { return only(strict.Options{}) }

// config is what the SDK clients get: the one endpoint, no retries (the
// tests look at single answers), and an account header when account is set.
func config(endpoint, region, account string) aws.Config {
	hc := awshttp.NewBuildableClient()
	var client aws.HTTPClient = hc
	if account != "" {
		client = accountClient{hc, account}
	}
	return aws.Config{
		Logger:       sdkLog,
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
		HTTPClient:   client,
	}
}

// sdkLog fails the running test on any SDK warning: a rewritten answer
// whose checksum no longer matches its body is only a warning to the SDK.
var sdkLog = logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
	sdkWarnings.Add(1)
	fmt.Fprintf(os.Stderr, "SDK %s: %s\n", c, fmt.Sprintf(format, v...))
})

var sdkWarnings atomic.Int32

type accountClient struct {
	next    aws.HTTPClient
	account string
}

func (c accountClient) Do(r *http.Request) (*http.Response, error) {
	r.Header.Set("x-moto-account-id", c.account)
	return c.next.Do(r)
}

func s3Client(endpoint string) *s3.Client {
	return s3.NewFromConfig(config(endpoint, "us-east-1", ""), func(o *s3.Options) { o.UsePathStyle = true })
}

// code is the error code the SDK decoded, "" for no API error.
func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// status is the HTTP status of a failed call, 0 if none.
func status(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func wantCode(t *testing.T, what string, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: succeeded, want %s", what, want)
	}
	if got := code(err); got != want {
		t.Fatalf("%s: error code %q (%v), want %s", what, got, err, want)
	}
}

func ok(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

var ctx = context.Background()

func TestBucketPropagation(t *testing.T) {
	const delay = 3 * time.Second // long enough for the calls made inside it on a loaded machine
	s := start(t, only(strict.Options{BucketDelay: delay}, strict.BucketPropagation))
	c := s3Client(s.Endpoint())
	versioning := &s3.PutBucketVersioningInput{Bucket: aws.String("fresh"),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}

	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("fresh")})
	ok(t, "CreateBucket", err)
	created := time.Now()
	_, err = c.PutBucketVersioning(ctx, versioning)
	wantCode(t, "PutBucketVersioning right after CreateBucket", err, "NoSuchBucket")
	if status(err) != http.StatusNotFound {
		t.Fatalf("PutBucketVersioning: HTTP %d, want 404", status(err))
	}
	_, err = c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String("fresh"),
		Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}})
	wantCode(t, "PutBucketTagging right after CreateBucket", err, "NoSuchBucket")
	_, err = c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("fresh")})
	var nf *s3types.NotFound
	if !errors.As(err, &nf) {
		t.Fatalf("HeadBucket right after CreateBucket: %v, want NotFound", err)
	}
	// Creating it again (200 in us-east-1) makes nothing new: it stays invisible
	// only until the first delay ends.
	_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("fresh")})
	ok(t, "CreateBucket again", err)

	time.Sleep(time.Until(created.Add(delay)))
	_, err = c.PutBucketVersioning(ctx, versioning)
	ok(t, "PutBucketVersioning after the delay", err)

	// Off: moto's answer at once.
	s = start(t, none())
	c = s3Client(s.Endpoint())
	_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("fresh")})
	ok(t, "CreateBucket", err)
	_, err = c.PutBucketVersioning(ctx, versioning)
	ok(t, "PutBucketVersioning with bucket-propagation off", err)
}

func TestRolePropagation(t *testing.T) {
	const delay = 3 * time.Second // long enough for the calls made inside it on a loaded machine
	run := func(t *testing.T, opts strict.Options) (replication, selection, assume error, after func() error) {
		s := start(t, opts)
		c := s3Client(s.Endpoint())
		for _, b := range []string{"src", "dst"} {
			_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)})
			ok(t, "CreateBucket "+b, err)
			_, err = c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(b),
				VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}})
			ok(t, "PutBucketVersioning "+b, err)
		}
		role, err := iam.NewFromConfig(config(s.Endpoint(), "us-east-1", "")).CreateRole(ctx, &iam.CreateRoleInput{
			RoleName: aws.String("replication"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`)})
		ok(t, "CreateRole", err)
		arn := role.Role.Arn
		put := func() error {
			_, err := c.PutBucketReplication(ctx, &s3.PutBucketReplicationInput{Bucket: aws.String("src"),
				ReplicationConfiguration: &s3types.ReplicationConfiguration{Role: arn, Rules: []s3types.ReplicationRule{{
					ID: aws.String("all"), Status: s3types.ReplicationRuleStatusEnabled, Priority: aws.Int32(1),
					Filter:                  &s3types.ReplicationRuleFilter{Prefix: aws.String("")},
					DeleteMarkerReplication: &s3types.DeleteMarkerReplication{Status: s3types.DeleteMarkerReplicationStatusDisabled},
					Destination:             &s3types.Destination{Bucket: aws.String("arn:aws:s3:::dst")}}}}})
			return err
		}
		replication = put()
		_, selection = backup.NewFromConfig(config(s.Endpoint(), "us-east-1", "")).CreateBackupSelection(ctx, &backup.CreateBackupSelectionInput{
			BackupPlanId: aws.String("plan"), BackupSelection: &backuptypes.BackupSelection{
				SelectionName: aws.String("all"), IamRoleArn: arn, Resources: []string{"*"}}})
		_, assume = sts.NewFromConfig(config(s.Endpoint(), "us-east-1", "")).AssumeRole(ctx, &sts.AssumeRoleInput{
			RoleArn: arn, RoleSessionName: aws.String("probe")})
		return replication, selection, assume, put
	}

	replication, selection, assume, put := run(t, only(strict.Options{RoleDelay: delay}, strict.RolePropagation))
	wantCode(t, "PutBucketReplication with a new role", replication, "InvalidRequest")
	wantCode(t, "AssumeRole of a new role", assume, "AccessDenied")
	wantCode(t, "CreateBackupSelection with a new role", selection, "InvalidParameterValueException")
	var ipv *backuptypes.InvalidParameterValueException
	if !errors.As(selection, &ipv) {
		t.Fatalf("CreateBackupSelection: %T, want the SDK's InvalidParameterValueException", selection)
	}
	time.Sleep(delay)
	ok(t, "PutBucketReplication after the delay", put())

	replication, selection, assume, _ = run(t, none())
	ok(t, "PutBucketReplication with role-propagation off", replication)
	ok(t, "AssumeRole with role-propagation off", assume)
	// moto has no backup selections: whatever it answers, it is not the layer's refusal.
	if selection != nil && strings.Contains(selection.Error(), "cannot be assumed") {
		t.Fatalf("CreateBackupSelection with role-propagation off: %v", selection)
	}
}

func TestChangePending(t *testing.T) {
	const delay = 3 * time.Second // long enough for the calls made inside it on a loaded machine
	run := func(t *testing.T, opts strict.Options) (zone, change r53types.ChangeStatus, get func() r53types.ChangeStatus) {
		s := start(t, opts)
		c := route53.NewFromConfig(config(s.Endpoint(), "us-east-1", ""))
		z, err := c.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String("pending.example"), CallerReference: aws.String(t.Name())})
		ok(t, "CreateHostedZone", err)
		ch, err := c.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: z.HostedZone.Id,
			ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionCreate,
				ResourceRecordSet: &r53types.ResourceRecordSet{Name: aws.String("www.pending.example"), Type: r53types.RRTypeA,
					TTL: aws.Int64(60), ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("192.0.2.1")}}}}}}})
		ok(t, "ChangeResourceRecordSets", err)
		return z.ChangeInfo.Status, ch.ChangeInfo.Status, func() r53types.ChangeStatus {
			out, err := c.GetChange(ctx, &route53.GetChangeInput{Id: ch.ChangeInfo.Id})
			ok(t, "GetChange", err)
			return out.ChangeInfo.Status
		}
	}

	zone, change, get := run(t, only(strict.Options{ChangeDelay: delay}, strict.ChangePending))
	submitted := time.Now()
	if zone != r53types.ChangeStatusPending || change != r53types.ChangeStatusPending {
		t.Fatalf("CreateHostedZone %s, ChangeResourceRecordSets %s; want PENDING for both", zone, change)
	}
	if got := get(); got != r53types.ChangeStatusPending {
		t.Fatalf("GetChange right after the change: %s, want PENDING", got)
	}
	time.Sleep(time.Until(submitted.Add(delay)))
	if got := get(); got != r53types.ChangeStatusInsync {
		t.Fatalf("GetChange after the delay: %s, want INSYNC", got)
	}

	zone, change, get = run(t, none())
	if zone != r53types.ChangeStatusInsync || change != r53types.ChangeStatusInsync || get() != r53types.ChangeStatusInsync {
		t.Fatalf("with change-pending off: %s, %s; want moto's INSYNC", zone, change)
	}
}

func TestHealthCheckInUse(t *testing.T) {
	run := func(t *testing.T, opts strict.Options) (deleteErr error, unuse func(), c *route53.Client, id *string) {
		s := start(t, opts)
		c = route53.NewFromConfig(config(s.Endpoint(), "us-east-1", ""))
		// A zone with nothing in it first, so the look-up goes over more than one zone.
		_, err := c.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String("empty.example"), CallerReference: aws.String("empty")})
		ok(t, "CreateHostedZone", err)
		z, err := c.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String("used.example"), CallerReference: aws.String("used")})
		ok(t, "CreateHostedZone", err)
		hc, err := c.CreateHealthCheck(ctx, &route53.CreateHealthCheckInput{CallerReference: aws.String("hc"),
			HealthCheckConfig: &r53types.HealthCheckConfig{Type: r53types.HealthCheckTypeHttp, FullyQualifiedDomainName: aws.String("www.used.example"),
				Port: aws.Int32(80), ResourcePath: aws.String("/")}})
		ok(t, "CreateHealthCheck", err)
		set := &r53types.ResourceRecordSet{Name: aws.String("www.used.example"), Type: r53types.RRTypeA, TTL: aws.Int64(60),
			SetIdentifier: aws.String("primary"), Failover: r53types.ResourceRecordSetFailoverPrimary, HealthCheckId: hc.HealthCheck.Id,
			ResourceRecords: []r53types.ResourceRecord{{Value: aws.String("192.0.2.1")}}}
		change := func(action r53types.ChangeAction) {
			_, err := c.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: z.HostedZone.Id,
				ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: action, ResourceRecordSet: set}}}})
			ok(t, "ChangeResourceRecordSets "+string(action), err)
		}
		change(r53types.ChangeActionCreate)
		_, deleteErr = c.DeleteHealthCheck(ctx, &route53.DeleteHealthCheckInput{HealthCheckId: hc.HealthCheck.Id})
		return deleteErr, func() { change(r53types.ChangeActionDelete) }, c, hc.HealthCheck.Id
	}

	err, unuse, c, id := run(t, only(strict.Options{}, strict.HealthCheckInUse))
	wantCode(t, "DeleteHealthCheck of a health check a record uses", err, "HealthCheckInUse")
	var inUse *r53types.HealthCheckInUse
	if !errors.As(err, &inUse) || status(err) != http.StatusBadRequest {
		t.Fatalf("DeleteHealthCheck: %T HTTP %d, want the SDK's HealthCheckInUse with HTTP 400", err, status(err))
	}
	unuse()
	_, err = c.DeleteHealthCheck(ctx, &route53.DeleteHealthCheckInput{HealthCheckId: id})
	ok(t, "DeleteHealthCheck once no record uses it", err)

	err, _, _, _ = run(t, none())
	ok(t, "DeleteHealthCheck with healthcheck-in-use off", err)
}

func TestTableDeleting(t *testing.T) {
	const delay = 3 * time.Second // long enough for the calls made inside it on a loaded machine
	create := &dynamodb.CreateTableInput{TableName: aws.String("orders"), BillingMode: ddbtypes.BillingModePayPerRequest,
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}},
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}}}
	run := func(t *testing.T, opts strict.Options) (*dynamodb.Client, *dynamodb.DeleteTableOutput) {
		s := start(t, opts)
		c := dynamodb.NewFromConfig(config(s.Endpoint(), "us-west-2", ""))
		_, err := c.CreateTable(ctx, create)
		ok(t, "CreateTable", err)
		out, err := c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String("orders")})
		ok(t, "DeleteTable", err)
		return c, out
	}

	c, out := run(t, only(strict.Options{TableDeleteDelay: delay}, strict.TableDeleting))
	deleted := time.Now()
	if out.TableDescription.TableStatus != ddbtypes.TableStatusDeleting {
		t.Fatalf("DeleteTable answered %s, want DELETING", out.TableDescription.TableStatus)
	}
	desc, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("orders")})
	ok(t, "DescribeTable while deleting", err)
	if desc.Table.TableStatus != ddbtypes.TableStatusDeleting || aws.ToString(desc.Table.TableName) != "orders" {
		t.Fatalf("DescribeTable while deleting: %s %s, want orders DELETING", aws.ToString(desc.Table.TableName), desc.Table.TableStatus)
	}
	_, err = c.CreateTable(ctx, create)
	var inUse *ddbtypes.ResourceInUseException
	if !errors.As(err, &inUse) {
		t.Fatalf("CreateTable while deleting: %v, want ResourceInUseException", err)
	}
	time.Sleep(time.Until(deleted.Add(delay)))
	_, err = c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("orders")})
	var notFound *ddbtypes.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		t.Fatalf("DescribeTable after the delay: %v, want ResourceNotFoundException", err)
	}
	_, err = c.CreateTable(ctx, create)
	ok(t, "CreateTable after the delay", err)

	c, out = run(t, none())
	if out.TableDescription.TableStatus == ddbtypes.TableStatusDeleting {
		t.Fatal("with table-deleting off DeleteTable answered DELETING; moto answers the table as it was")
	}
	_, err = c.CreateTable(ctx, create)
	ok(t, "CreateTable at once with table-deleting off", err)
}

// TestRoleDeleteConflict: moto already refuses DeleteRole of a role with
// policies, and its answer reaches the SDK through the layer intact.
func TestRoleDeleteConflict(t *testing.T) {
	s := start(t, strict.Options{Off: []strict.Behaviour{strict.Faults, strict.Throttling}})
	c := iam.NewFromConfig(config(s.Endpoint(), "us-east-1", ""))
	_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`)})
	ok(t, "CreateRole", err)
	_, err = c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("r"), PolicyName: aws.String("p"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)})
	ok(t, "PutRolePolicy", err)
	_, err = c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("r")})
	var conflict *iamtypes.DeleteConflictException
	if !errors.As(err, &conflict) {
		t.Fatalf("DeleteRole with an inline policy: %v, want DeleteConflict", err)
	}
}

func TestSSMSize(t *testing.T) {
	put := func(c *ssm.Client, name string, size int, tier ssmtypes.ParameterTier) error {
		_, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Type: ssmtypes.ParameterTypeString,
			Value: aws.String(strings.Repeat("x", size)), Tier: tier})
		return err
	}
	s := start(t, only(strict.Options{}, strict.SSMSize))
	c := ssm.NewFromConfig(config(s.Endpoint(), "us-east-1", ""))
	ok(t, "4096 bytes, Standard", put(c, "/a", 4096, ""))
	wantCode(t, "4097 bytes, Standard by default", put(c, "/b", 4097, ""), "ValidationException")
	wantCode(t, "5000 bytes, Standard", put(c, "/c", 5000, ssmtypes.ParameterTierStandard), "ValidationException")
	ok(t, "8192 bytes, Advanced", put(c, "/d", 8192, ssmtypes.ParameterTierAdvanced))
	wantCode(t, "8193 bytes, Advanced", put(c, "/e", 8193, ssmtypes.ParameterTierAdvanced), "ValidationException")
	wantCode(t, "8666 bytes, Intelligent-Tiering", put(c, "/f", 8666, ssmtypes.ParameterTierIntelligentTiering), "ValidationException")

	s = start(t, none())
	c = ssm.NewFromConfig(config(s.Endpoint(), "us-east-1", ""))
	ok(t, "5000 bytes, Standard, with ssm-size off", put(c, "/c", 5000, ssmtypes.ParameterTierStandard))
}

func TestTagLimits(t *testing.T) {
	long := strings.Repeat("v", strict.MaxTagValue+1)
	longKey := strings.Repeat("k", strict.MaxTagKey+1)
	many := make([]s3types.Tag, strict.MaxTags+1)
	for i := range many {
		many[i] = s3types.Tag{Key: aws.String(fmt.Sprint("k", i)), Value: aws.String("v")}
	}
	type attempt struct {
		what, want string
		call       func(endpoint string) error
	}
	attempts := []attempt{
		{"S3 PutBucketTagging, long value", "InvalidTag", func(ep string) error {
			_, err := s3Client(ep).PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String("tagged"),
				Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("k"), Value: aws.String(long)}}}})
			return err
		}},
		{"S3 PutBucketTagging, 51 tags", "InvalidTag", func(ep string) error {
			_, err := s3Client(ep).PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String("tagged"),
				Tagging: &s3types.Tagging{TagSet: many}})
			return err
		}},
		{"DynamoDB CreateTable, long key", "ValidationException", func(ep string) error {
			_, err := dynamodb.NewFromConfig(config(ep, "us-east-1", "")).CreateTable(ctx, &dynamodb.CreateTableInput{
				TableName: aws.String("tagged"), BillingMode: ddbtypes.BillingModePayPerRequest,
				KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}},
				AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
				Tags:                 []ddbtypes.Tag{{Key: aws.String(longKey), Value: aws.String("v")}}})
			return err
		}},
		{"SSM PutParameter, long value", "ValidationException", func(ep string) error {
			_, err := ssm.NewFromConfig(config(ep, "us-east-1", "")).PutParameter(ctx, &ssm.PutParameterInput{
				Name: aws.String("/tagged"), Type: ssmtypes.ParameterTypeString, Value: aws.String("x"),
				Tags: []ssmtypes.Tag{{Key: aws.String("k"), Value: aws.String(long)}}})
			return err
		}},
		{"EC2 CreateVpc, long value", "InvalidParameterValue", func(ep string) error {
			_, err := ec2.NewFromConfig(config(ep, "us-east-1", "")).CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16"),
				TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeVpc,
					Tags: []ec2types.Tag{{Key: aws.String("k"), Value: aws.String(long)}}}}})
			return err
		}},
		{"Route 53 ChangeTagsForResource, 11 tags", "InvalidInput", func(ep string) error {
			c := route53.NewFromConfig(config(ep, "us-east-1", ""))
			z, err := c.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String("tagged.example"), CallerReference: aws.String("tagged")})
			if err != nil {
				return fmt.Errorf("CreateHostedZone: %w", err)
			}
			var tags []r53types.Tag
			for i := 0; i <= strict.MaxRoute53Tags; i++ {
				tags = append(tags, r53types.Tag{Key: aws.String(fmt.Sprint("k", i)), Value: aws.String("v")})
			}
			_, err = c.ChangeTagsForResource(ctx, &route53.ChangeTagsForResourceInput{ResourceType: r53types.TagResourceTypeHostedzone,
				ResourceId: aws.String(strings.TrimPrefix(aws.ToString(z.HostedZone.Id), "/hostedzone/")), AddTags: tags})
			return err
		}},
		{"Backup CreateBackupVault, long value", "InvalidParameterValueException", func(ep string) error {
			_, err := backup.NewFromConfig(config(ep, "us-east-1", "")).CreateBackupVault(ctx, &backup.CreateBackupVaultInput{
				BackupVaultName: aws.String("tagged"), BackupVaultTags: map[string]string{"k": long}})
			return err
		}},
	}

	s := start(t, only(strict.Options{}, strict.TagLimits))
	_, err := s3Client(s.Endpoint()).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("tagged")})
	ok(t, "CreateBucket", err)
	for _, a := range attempts {
		wantCode(t, a.what, a.call(s.Endpoint()), a.want)
	}
	// IAM: moto refuses these itself; the layer's answer is the same.
	_, err = iam.NewFromConfig(config(s.Endpoint(), "us-east-1", "")).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("tagged"),
		AssumeRolePolicyDocument: aws.String("{}"), Tags: []iamtypes.Tag{{Key: aws.String("k"), Value: aws.String(long)}}})
	wantCode(t, "IAM CreateRole, long value", err, "ValidationError")

	s = start(t, none())
	_, err = s3Client(s.Endpoint()).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("tagged")})
	ok(t, "CreateBucket", err)
	for _, a := range attempts {
		ok(t, a.what+" with tag-limits off", a.call(s.Endpoint()))
	}
}

func TestBucketNames(t *testing.T) {
	bad := []string{"Upper_Case", "ab", "a..b", "192.168.1.1", "xn--bucket", "bucket-s3alias", "-leading", strings.Repeat("a", 64)}
	s := start(t, only(strict.Options{}, strict.BucketNames))
	c := s3Client(s.Endpoint())
	for _, name := range bad {
		_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
		wantCode(t, "CreateBucket "+name, err, "InvalidBucketName")
	}
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("good.bucket-1")})
	ok(t, "CreateBucket good.bucket-1", err)

	s = start(t, none())
	c = s3Client(s.Endpoint())
	for _, name := range []string{"Upper_Case", "a..b", "192.168.1.1"} {
		_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
		ok(t, "CreateBucket "+name+" with bucket-names off", err)
	}
}

func TestThrottling(t *testing.T) {
	calls := func(c *route53.Client, n int) (passed int, last error) {
		for i := 0; i < n; i++ {
			if _, err := c.ListHostedZones(ctx, &route53.ListHostedZonesInput{}); err != nil {
				last = err
			} else {
				passed++
			}
		}
		return passed, last
	}
	s := start(t, only(strict.Options{Rates: map[string]float64{"s3": 2}}, strict.Throttling))
	a := route53.NewFromConfig(config(s.Endpoint(), "us-east-1", ""))
	begin := time.Now()
	passed, err := calls(a, 20)
	// 5 at once, then 5 a second.
	if most := 5 + int(time.Since(begin).Seconds()*5) + 1; passed < 5 || passed > most {
		t.Fatalf("%d of 20 back-to-back Route 53 calls in %v passed, want 5 to %d (5 requests/s)", passed, time.Since(begin), most)
	}
	wantCode(t, "Route 53 over 5 requests/s", err, "Throttling")
	if status(err) != http.StatusBadRequest {
		t.Fatalf("Route 53 throttled with HTTP %d, want 400", status(err))
	}
	// Another account has its own budget.
	b := route53.NewFromConfig(config(s.Endpoint(), "us-east-1", "210987654321"))
	if passed, err := calls(b, 3); passed != 3 {
		t.Fatalf("another account: %d of 3 passed: %v", passed, err)
	}
	// After a second the budget is back.
	time.Sleep(time.Second)
	if passed, err := calls(a, 3); passed != 3 {
		t.Fatalf("a second later: %d of 3 passed: %v", passed, err)
	}
	// S3 at a configured 2 requests/s answers SlowDown, 503.
	c := s3Client(s.Endpoint())
	var last error
	for i := 0; i < 4; i++ {
		if _, err := c.ListBuckets(ctx, &s3.ListBucketsInput{}); err != nil {
			last = err
		}
	}
	wantCode(t, "S3 over 2 requests/s", last, "SlowDown")
	if status(last) != http.StatusServiceUnavailable {
		t.Fatalf("S3 throttled with HTTP %d, want 503", status(last))
	}
	// S3 is regional: another region has its own budget; Route 53 is global.
	west := s3.NewFromConfig(config(s.Endpoint(), "us-west-2", ""), func(o *s3.Options) { o.UsePathStyle = true })
	_, err = west.ListBuckets(ctx, &s3.ListBucketsInput{})
	ok(t, "S3 in us-west-2 while us-east-1 is throttled", err)
	if passed, _ := calls(route53.NewFromConfig(config(s.Endpoint(), "us-west-2", "")), 8); passed > 6 {
		t.Fatalf("Route 53 signed for us-west-2: %d of 8 passed; Route 53 is global and shares one budget", passed)
	}

	s = start(t, none())
	if passed, err := calls(route53.NewFromConfig(config(s.Endpoint(), "us-east-1", "")), 8); passed != 8 {
		t.Fatalf("with throttling off %d of 8 passed: %v", passed, err)
	}
}

func TestFaults(t *testing.T) {
	faulty := func(kind strict.Fault) strict.Options {
		return only(strict.Options{FaultRate: 1, FaultKinds: []strict.Fault{kind}, SlowDelay: 700 * time.Millisecond, Seed: 7}, strict.Faults)
	}
	t.Run("5xx", func(t *testing.T) {
		s := start(t, faulty(strict.FaultServerError))
		for _, call := range []func() error{
			func() error { _, err := s3Client(s.Endpoint()).ListBuckets(ctx, &s3.ListBucketsInput{}); return err },
			func() error {
				_, err := dynamodb.NewFromConfig(config(s.Endpoint(), "us-east-1", "")).ListTables(ctx, &dynamodb.ListTablesInput{})
				return err
			},
			func() error {
				_, err := iam.NewFromConfig(config(s.Endpoint(), "us-east-1", "")).ListRoles(ctx, &iam.ListRolesInput{})
				return err
			},
			func() error {
				_, err := route53.NewFromConfig(config(s.Endpoint(), "us-east-1", "")).ListHostedZones(ctx, &route53.ListHostedZonesInput{})
				return err
			},
			func() error {
				_, err := ec2.NewFromConfig(config(s.Endpoint(), "us-east-1", "")).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
				return err
			},
		} {
			err := call()
			if st := status(err); st != 500 && st != 503 || code(err) == "" {
				t.Fatalf("want an injected 500/503 the SDK decodes; got HTTP %d code %q: %v", st, code(err), err)
			}
		}
		// The SDK's standard retryer gets through a 5xx now and then.
		s = start(t, only(strict.Options{FaultRate: 0.3, FaultKinds: []strict.Fault{strict.FaultServerError}, Seed: 3}, strict.Faults))
		cfg := config(s.Endpoint(), "us-east-1", "")
		cfg.Retryer = nil
		c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
		for i := 0; i < 10; i++ {
			_, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
			ok(t, "ListBuckets with retries", err)
		}
		if s.Counts()[strict.Faults] == 0 {
			t.Fatal("no fault was injected at 30%")
		}
	})
	t.Run("reset", func(t *testing.T) {
		s := start(t, faulty(strict.FaultReset))
		c := s3Client(s.Endpoint())
		for i := 0; i < 8; i++ {
			_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(fmt.Sprint("reset-", i))})
			if err == nil || !strings.Contains(err.Error(), "connection reset") && !strings.Contains(err.Error(), "EOF") {
				t.Fatalf("CreateBucket: %v, want a connection reset", err)
			}
		}
		// Some resets came after moto made the bucket (the answer was lost),
		// some before: ask moto itself.
		list, err := s3Client(moto.Endpoint()).ListBuckets(ctx, &s3.ListBucketsInput{})
		ok(t, "ListBuckets from moto", err)
		if n := len(list.Buckets); n == 0 || n == 8 {
			t.Fatalf("moto has %d of the 8 buckets; want some made before the reset and some not", n)
		}
	})
	t.Run("reset after a tagged CreateBucket", func(t *testing.T) {
		// AWS tags a bucket with its CreateBucket: a create whose answer is
		// lost leaves a bucket that carries the caller's tags, by which a
		// retry can prove it its own. moto ignores those tags; the layer
		// sets them, answered or not.
		s := start(t, faulty(strict.FaultReset))
		c := s3Client(s.Endpoint())
		made := 0
		for i := 0; i < 8; i++ {
			bucket := fmt.Sprint("tagged-", i)
			_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket), CreateBucketConfiguration: &s3types.CreateBucketConfiguration{
				Tags: []s3types.Tag{{Key: aws.String("meridian:owner"), Value: aws.String(bucket)}}}})
			if err == nil {
				t.Fatalf("CreateBucket %s: no reset", bucket)
			}
			tags, err := s3Client(moto.Endpoint()).GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(bucket)})
			if code(err) == "NoSuchBucket" {
				continue // reset before moto saw the call
			}
			ok(t, "GetBucketTagging from moto", err)
			made++
			if len(tags.TagSet) != 1 || aws.ToString(tags.TagSet[0].Value) != bucket {
				t.Fatalf("bucket %s made before the reset carries %+v, want its CreateBucket's tag", bucket, tags.TagSet)
			}
		}
		if made == 0 {
			t.Fatal("no reset came after moto made the bucket")
		}
	})
	t.Run("slow", func(t *testing.T) {
		s := start(t, faulty(strict.FaultSlow))
		begin := time.Now()
		_, err := s3Client(s.Endpoint()).ListBuckets(ctx, &s3.ListBucketsInput{})
		ok(t, "slow ListBuckets", err)
		if took := time.Since(begin); took < 700*time.Millisecond {
			t.Fatalf("slow answer came after %v, want at least 700ms", took)
		}
	})
	t.Run("off", func(t *testing.T) {
		s := start(t, only(strict.Options{FaultRate: 1}))
		for i := 0; i < 5; i++ {
			_, err := s3Client(s.Endpoint()).ListBuckets(ctx, &s3.ListBucketsInput{})
			ok(t, "ListBuckets with faults off", err)
		}
	})
}

// TestQueryGzip: a gzipped query-protocol body (the SDK compresses
// CloudWatch's PutMetricData) passes the layer and the capacity API behind
// it, as AWS takes it.
func TestQueryGzip(t *testing.T) {
	s := start(t, strict.Options{Off: []strict.Behaviour{strict.Faults, strict.Throttling}})
	cw := cloudwatch.NewFromConfig(config(s.Endpoint(), "us-east-1", ""), func(o *cloudwatch.Options) {
		o.Protocol = awsquery.New(cwschemas.GraniteServiceVersion20100801)
	})
	_, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("test"), MetricData: []cwtypes.MetricDatum{{
		MetricName: aws.String("m"), Value: aws.Float64(1), Timestamp: aws.Time(time.Now()),
		Dimensions: []cwtypes.Dimension{{Name: aws.String("Service"), Value: aws.String("a;b")}},
	}}})
	ok(t, "PutMetricData through the layer", err)
}

// TestStartStrict: the testbed helper gives one endpoint with moto, the
// capacity reservation API and every behaviour on by default.
func TestStartStrict(t *testing.T) {
	sb := testbed.StartStrict(t, strict.Options{Off: []strict.Behaviour{strict.Faults}})
	for _, b := range strict.Behaviours() {
		if sb.Server.On(b) != (b != strict.Faults) {
			t.Fatalf("behaviour %s on=%v", b, sb.Server.On(b))
		}
	}
	c := ec2.NewFromConfig(config(sb.Endpoint(), "us-east-1", ""))
	cr, err := c.CreateCapacityReservation(ctx, &ec2.CreateCapacityReservationInput{InstanceType: aws.String("m5.large"),
		InstancePlatform: ec2types.CapacityReservationInstancePlatformLinuxUnix, AvailabilityZone: aws.String("us-east-1a"),
		InstanceCount: aws.Int32(2)})
	ok(t, "CreateCapacityReservation through the strict layer", err)
	if !strings.HasPrefix(aws.ToString(cr.CapacityReservation.CapacityReservationId), "cr-") {
		t.Fatalf("capacity reservation id %q", aws.ToString(cr.CapacityReservation.CapacityReservationId))
	}
	// The capacity reservation API is under the same limits.
	_, err = c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{aws.ToString(cr.CapacityReservation.CapacityReservationId)},
		Tags: []ec2types.Tag{{Key: aws.String("k"), Value: aws.String(strings.Repeat("v", 300))}}})
	wantCode(t, "CreateTags on a capacity reservation, long value", err, "InvalidParameterValue")
	// And moto is behind it: a bucket is not yet visible right after CreateBucket.
	s := s3Client(sb.Endpoint())
	_, err = s.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("helper")})
	ok(t, "CreateBucket", err)
	_, err = s.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String("helper")})
	wantCode(t, "GetBucketVersioning right after CreateBucket", err, "NoSuchBucket")
	if sb.Server.Counts()[strict.BucketPropagation] != 1 {
		t.Fatalf("counts %v, want one bucket-propagation answer", sb.Server.Counts())
	}
}
