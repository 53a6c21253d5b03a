package main_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	awscloud "github.com/meridianhq/terraform-provider-meridian/internal/cloud/aws"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// These tests build, against moto, the situations of issue 11 in which a
// failure used to lose data or leave a stack no run could repair, and check
// the outcome with the AWS SDK's own clients (the inventory of
// crash_test.go), never with meridian's drivers.

// pairStack is a stack of one region pair named "own"; the arguments are
// the parts a test changes.
type pairStack struct {
	prefix, table, zone string
	forceDestroy        bool
	interval            int
	allowDataLoss       bool
}

func (p pairStack) write(t *testing.T, dir string) {
	t.Helper()
	src := fmt.Sprintf(`variable "aws_endpoint" {
  default = ""
}

provider "meridian" {
  aws {
    endpoint                    = var.aws_endpoint
    access_key                  = "test"
    secret_key                  = "test"
    s3_use_path_style           = true
    skip_credentials_validation = true
    emulator                    = true
  }
  default_tags = { cost-centre = "cc-test" }
}

resource "meridian_region_pair" "own" {
  name             = "own"
  primary_region   = "us-east-1"
  secondary_region = "us-west-2"
  allow_data_loss  = %t
  object_store {
    bucket_prefix = %q
    force_destroy = %t
  }
  kv_table {
    name     = %q
    hash_key = "id"
  }
  dns {
    zone_name          = %q
    record_name        = "api"
    primary_endpoint   = "a.own.example.com"
    secondary_endpoint = "b.own.example.com"
    health_check {
      interval = %d
    }
  }
  tags = { service = "own" }
}
`, p.allowDataLoss, p.prefix, p.forceDestroy, p.table, p.zone, p.interval)
	if err := os.WriteFile(filepath.Join(dir, "stack.tf"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

func defaultPair() pairStack {
	return pairStack{prefix: "own-data", table: "own", zone: "own.example.com", forceDestroy: true, interval: 30}
}

// ownershipSetup starts moto, writes the stack and selects a stack "dev".
func ownershipSetup(t *testing.T, p pairStack) (*cli, *awscloud.Cloud, string, string) {
	t.Helper()
	m := startMoto(t)
	dir := t.TempDir()
	p.write(t, dir)
	c := newCLI(t, dir, "MERIDIAN_STATE=", "TF_CLI_CONFIG_FILE=/dev/null")
	c.must("stack", "init", "dev")
	cloud, err := awscloud.New(context.Background(), awscloud.Config{Endpoint: m.Moto.Endpoint(), AccessKey: "test", SecretKey: "test", S3UsePathStyle: true, SkipCredentialsValidation: true, Emulator: true})
	if err != nil {
		t.Fatal(err)
	}
	return c, cloud, dir, "--var=aws_endpoint=" + m.Endpoint()
}

// userBucket creates a bucket outside meridian and puts one object in it.
func userBucket(t *testing.T, cloud *awscloud.Cloud, region, name string) {
	t.Helper()
	ctx := context.Background()
	in := &s3.CreateBucketInput{Bucket: aws.String(name)}
	if region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(region)}
	}
	if _, err := cloud.S3(region).CreateBucket(ctx, in); err != nil {
		t.Fatal(err)
	}
	if _, err := cloud.S3(region).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(name), Key: aws.String("precious.txt"), Body: strings.NewReader("keep me")}); err != nil {
		t.Fatal(err)
	}
}

// requireObject fails unless the bucket still holds the object userBucket put.
func requireObject(t *testing.T, cloud *awscloud.Cloud, region, bucket string) {
	t.Helper()
	out, err := cloud.S3(region).GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("precious.txt")},
		func(o *s3.Options) { o.DisableLogOutputChecksumValidationSkipped = true })
	if err != nil {
		t.Fatalf("the user's object in %s is gone: %v", bucket, err)
	}
	defer out.Body.Close()
	if b, _ := io.ReadAll(out.Body); string(b) != "keep me" {
		t.Fatalf("the user's object in %s holds %q", bucket, b)
	}
}

// requireOnly fails unless moto holds exactly the objects of want, by type, one of each.
func requireOnly(t *testing.T, cloud *awscloud.Cloud, want map[string]int) {
	t.Helper()
	inv := inventory(t, cloud)
	for typ, ids := range inv {
		for id, n := range ids {
			if n > 1 {
				t.Errorf("%s %s exists %d times", typ, id, n)
			}
		}
		if len(ids) != want[typ] {
			t.Errorf("moto holds %d %s, want %d: %v", len(ids), typ, want[typ], ids)
		}
	}
	for typ, n := range want {
		if _, ok := inv[typ]; !ok && n > 0 {
			t.Errorf("moto holds no %s, want %d", typ, n)
		}
	}
}

// onePair is what one region pair of pairStack compiles into, by type.
var onePair = map[string]int{
	primitive.S3Bucket: 2, primitive.S3BucketReplication: 1, primitive.IAMRole: 1, primitive.IAMRolePolicy: 1,
	primitive.DynamoDBTable: 1, primitive.Route53Zone: 1, primitive.Route53HealthCheck: 1, primitive.Route53Record: 2, primitive.SSMParameter: 1,
}

// requireConverged fails unless a preview plans nothing.
func requireConverged(t *testing.T, c *cli, endpoint string) {
	t.Helper()
	if r := c.must("preview", endpoint); !strings.Contains(r.stdout, "0 to create, 0 to update, 0 to replace, 0 to delete") {
		t.Fatalf("preview after convergence:\n%s", r.stdout)
	}
}

// TestExistingBucketIsNeverTaken (situation 1): a bucket meridian would
// create already exists and holds an object, in us-east-1 (where S3 answers
// 200 to its owner's CreateBucket) and in us-west-2. up refuses it before
// changing anything, names it and says how to import it; destroy leaves it
// and its object alone; another prefix converges.
func TestExistingBucketIsNeverTaken(t *testing.T) {
	for _, region := range []string{"us-east-1", "us-west-2"} {
		t.Run(region, func(t *testing.T) {
			p := defaultPair()
			c, cloud, dir, endpoint := ownershipSetup(t, p)
			taken := "own-data-" + region
			userBucket(t, cloud, region, taken)
			r := c.run("up", "--yes", endpoint)
			if r.code == 0 || !strings.Contains(r.stderr+r.stdout, taken) || !strings.Contains(r.stderr+r.stdout, "not created by this resource") || !strings.Contains(r.stderr+r.stdout, "import") {
				t.Fatalf("up over the user's bucket: exit %d\n%s\n%s", r.code, tail(r.stdout, 20), r.stderr)
			}
			requireObject(t, cloud, region, taken)
			if tags, err := cloud.S3(region).GetBucketTagging(context.Background(), &s3.GetBucketTaggingInput{Bucket: aws.String(taken)}); err == nil {
				t.Errorf("the user's bucket was tagged: %v", tags.TagSet)
			}
			c.must("destroy", "--yes", endpoint)
			requireObject(t, cloud, region, taken)
			requireOnly(t, cloud, map[string]int{primitive.S3Bucket: 1})

			p.prefix = "own-other"
			p.write(t, dir)
			c.must("up", "--yes", endpoint)
			requireConverged(t, c, endpoint)
			c.must("destroy", "--yes", endpoint)
			requireObject(t, cloud, region, taken)
			requireOnly(t, cloud, map[string]int{primitive.S3Bucket: 1})
		})
	}
}

// TestHalfCreatedPairIsRepaired (situation 2): the table name is taken, so
// up fails half way; once the name is free, the next up finishes what the
// first started, without duplicates, and destroy leaves nothing.
func TestHalfCreatedPairIsRepaired(t *testing.T) {
	p := defaultPair()
	c, cloud, _, endpoint := ownershipSetup(t, p)
	ddb := cloud.DynamoDB("us-east-1")
	_, err := ddb.CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String("own"),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := c.run("up", "--yes", endpoint); r.code == 0 || !strings.Contains(r.stderr+r.stdout, "not created by this resource") {
		t.Fatalf("up over the user's table: exit %d\n%s\n%s", r.code, tail(r.stdout, 20), r.stderr)
	}
	if d, err := ddb.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("own")}); err != nil || aws.ToString(d.Table.KeySchema[0].AttributeName) != "pk" {
		t.Fatalf("the user's table was changed: %v", err)
	}
	if _, err := ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String("own")}); err != nil {
		t.Fatal(err)
	}
	c.must("up", "--yes", endpoint)
	requireConverged(t, c, endpoint)
	requireOnly(t, cloud, onePair)
	c.must("destroy", "--yes", endpoint)
	requireOnly(t, cloud, nil)
}

// TestRefusedDeleteIsNotStuck (situation 3): destroying a bucket that holds
// objects without force_destroy is refused, with what to do; the stack is
// not stuck: its plan is empty (no replace), and after force_destroy is
// set and applied, destroy removes everything.
func TestRefusedDeleteIsNotStuck(t *testing.T) {
	p := defaultPair()
	p.forceDestroy = false
	c, cloud, dir, endpoint := ownershipSetup(t, p)
	c.must("up", "--yes", endpoint)
	if _, err := cloud.S3("us-east-1").PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("own-data-us-east-1"), Key: aws.String("precious.txt"), Body: strings.NewReader("keep me")}); err != nil {
		t.Fatal(err)
	}
	r := c.run("destroy", "--yes", endpoint)
	if r.code == 0 || !strings.Contains(r.stderr+r.stdout, "BucketNotEmpty") || !strings.Contains(r.stderr+r.stdout, "force_destroy") {
		t.Fatalf("destroy of a bucket with objects: exit %d\n%s\n%s", r.code, tail(r.stdout, 20), r.stderr)
	}
	requireObject(t, cloud, "us-east-1", "own-data-us-east-1")
	st := readState(t, filepath.Join(dir, ".meridian/stacks/dev.json"))
	for _, rec := range st.Records {
		if rec.Pending != "" {
			t.Errorf("record %s is left pending %s", rec.Name, rec.Pending)
		}
	}
	// What destroy removed before the refusal comes back; nothing is replaced.
	if r := c.must("preview", endpoint); strings.Contains(r.stdout, "interrupted") || !strings.Contains(r.stdout, "0 to replace, 0 to delete") {
		t.Fatalf("preview after the refusal:\n%s", r.stdout)
	}
	p.forceDestroy = true
	p.write(t, dir)
	c.must("up", "--yes", endpoint)
	requireConverged(t, c, endpoint)
	c.must("destroy", "--yes", endpoint)
	requireOnly(t, cloud, nil)
}

// TestReplaceWithDependents (situation 4): a new health check interval and
// a new zone name replace objects that others use (a failover record uses
// the health check, the zone holds the records); both apply, leave exactly
// one of each, converge, and destroy leaves nothing.
func TestReplaceWithDependents(t *testing.T) {
	p := defaultPair()
	c, cloud, dir, endpoint := ownershipSetup(t, p)
	c.must("up", "--yes", endpoint)
	p.interval = 10
	p.write(t, dir)
	c.must("up", "--yes", endpoint)
	requireConverged(t, c, endpoint)
	requireOnly(t, cloud, onePair)
	p.zone = "own2.example.com"
	p.write(t, dir)
	c.must("up", "--yes", endpoint)
	requireConverged(t, c, endpoint)
	requireOnly(t, cloud, onePair)
	c.must("destroy", "--yes", endpoint)
	requireOnly(t, cloud, nil)
}

// TestDataReplacementIsRefused (situation 8): a new table name replaces a
// table that holds an item. preview and up refuse it, naming the table and
// what it holds, and change nothing; with allow_data_loss the plan warns
// and up replaces it.
func TestDataReplacementIsRefused(t *testing.T) {
	p := defaultPair()
	c, cloud, dir, endpoint := ownershipSetup(t, p)
	c.must("up", "--yes", endpoint)
	ddb := cloud.DynamoDB("us-east-1")
	if _, err := ddb.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String("own"),
		Item: map[string]ddbtypes.AttributeValue{"id": &ddbtypes.AttributeValueMemberS{Value: "order-1"}}}); err != nil {
		t.Fatal(err)
	}
	p.table = "own2"
	p.write(t, dir)
	for _, args := range [][]string{{"preview", endpoint}, {"up", "--yes", endpoint}} {
		r := c.run(args...)
		if out := r.stdout + r.stderr; r.code == 0 || !strings.Contains(out, "own/aws_dynamodb_table.kv") || !strings.Contains(out, "holds items") || !strings.Contains(out, "allow_data_loss") {
			t.Fatalf("meridian %s over a table with items: exit %d\n%s\n%s", args[0], r.code, tail(r.stdout, 20), r.stderr)
		}
	}
	if _, err := ddb.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("own")}); err != nil {
		t.Fatalf("the table was touched: %v", err)
	}
	requireOnly(t, cloud, onePair)

	p.allowDataLoss = true
	p.write(t, dir)
	if r := c.must("preview", endpoint); !strings.Contains(r.stdout+r.stderr, "data will be lost") {
		t.Fatalf("preview with allow_data_loss does not say what goes:\n%s\n%s", r.stdout, r.stderr)
	}
	c.must("up", "--yes", endpoint)
	requireConverged(t, c, endpoint)
	if _, err := ddb.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("own2")}); err != nil {
		t.Fatalf("no new table: %v", err)
	}
	requireOnly(t, cloud, onePair)
	c.must("destroy", "--yes", endpoint)
	requireOnly(t, cloud, nil)
}

// TestDeleteOfAnObjectNotOursIsRefused: a recorded bucket whose ownership
// marks were changed to another stack's is not deleted; destroy says so and
// how to forget it; after `stack forget`, destroy removes the rest and the
// bucket stays.
func TestDeleteOfAnObjectNotOursIsRefused(t *testing.T) {
	p := defaultPair()
	c, cloud, _, endpoint := ownershipSetup(t, p)
	c.must("up", "--yes", endpoint)
	s3c := cloud.S3("us-west-2")
	if _, err := s3c.PutBucketTagging(context.Background(), &s3.PutBucketTaggingInput{Bucket: aws.String("own-data-us-west-2"),
		Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("meridian:owner"), Value: aws.String("stack:prod/own/aws_s3_bucket.secondary")}}}}); err != nil {
		t.Fatal(err)
	}
	r := c.run("destroy", "--yes", endpoint)
	if out := r.stdout + r.stderr; r.code == 0 || !strings.Contains(out, "not created by this resource") || !strings.Contains(out, "stack forget") {
		t.Fatalf("destroy of a bucket that is not ours: exit %d\n%s\n%s", r.code, tail(r.stdout, 20), r.stderr)
	}
	if _, err := s3c.HeadBucket(context.Background(), &s3.HeadBucketInput{Bucket: aws.String("own-data-us-west-2")}); err != nil {
		t.Fatalf("the bucket that is not ours was deleted: %v", err)
	}
	if r := c.must("stack", "forget", "own/aws_s3_bucket.secondary", "--yes"); !strings.Contains(r.stdout, "forgot own/aws_s3_bucket.secondary") {
		t.Fatalf("forget: %s", r.stdout)
	}
	c.must("destroy", "--yes", endpoint)
	requireOnly(t, cloud, map[string]int{primitive.S3Bucket: 1})
}
