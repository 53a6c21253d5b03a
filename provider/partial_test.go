package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

// TestAccRegionPair_createFailsHalfWay builds situation 2 of issue 11: a
// create that fails half way. (A taken name no longer does: the plan, and
// terraform's plan again at apply, look names up; see nameTaken.) The pair
// puts its failover records in a zone given by id (dns.zone_id), and the id
// is wrong, which no look-up tells. The create makes the buckets, the role,
// the table, the health check... and fails at the records, which stay
// pending creates. Terraform taints the pair. With the right zone id, the
// next apply must replace the tainted pair without leaving a duplicate or an
// orphan: its destroy half deletes what the failed create made (before the
// fix it got no records, deleted nothing, and the create then failed on the
// leftovers with EntityAlreadyExists and BucketAlreadyOwnedByYou) and
// resolves the pending records (their zone does not exist, so they made
// nothing); the create half makes the pair, the plan after it is empty, and
// destroy leaves only the zone, which was never the pair's. moto is checked
// with the AWS SDK, not the drivers.
func TestAccRegionPair_createFailsHalfWay(t *testing.T) {
	endpoint := acceptance(t)
	c := cloud{endpoint}
	const name = "halfway"
	zone, err := route53.NewFromConfig(c.cfg("us-east-1")).CreateHostedZone(context.Background(), &route53.CreateHostedZoneInput{
		Name: aws.String(name + ".example.com"), CallerReference: aws.String(name + "-outside"),
	})
	if err != nil {
		t.Fatalf("create the zone: %v", err)
	}
	p := pair{name: name, secondary: "us-west-2", hashKey: "id", path: "/health", threshold: 3, tags: `{}`, defaultTags: `{}`}
	inZone := func(id string) string {
		return strings.Replace(p.config(endpoint), `zone_name          = "halfway.example.com"`,
			`zone_name          = "halfway.example.com"
    zone_id            = "`+id+`"`, 1)
	}
	config := inZone(strings.TrimPrefix(aws.ToString(zone.HostedZone.Id), "/hostedzone/"))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		CheckDestroy: func(*terraform.State) error {
			return sameObjects(c.inventory(t, name), map[string]int{"zone halfway.example.com": 1})
		},
		Steps: []resource.TestStep{
			{
				Config:      inZone("Z0NOSUCHZONE0"),
				ExpectError: wrapped(`(?s)Cannot apply meridian_region_pair.halfway.*create aws_route53_record.primary:`),
			},
			{
				PreConfig: func() {
					// The failed create kept what it made, once each: all
					// but the records and the manifest, which waits for
					// every primitive.
					want := pairObjects(name)
					for _, k := range []string{"manifest of halfway in us-east-1", "record api.halfway.example.com PRIMARY", "record api.halfway.example.com SECONDARY"} {
						delete(want, k)
					}
					if err := sameObjects(c.inventory(t, name), want); err != nil {
						t.Fatalf("after the failed create: %v", err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				Check: func(*terraform.State) error {
					return sameObjects(c.inventory(t, name), pairObjects(name))
				},
			},
			{
				Config:   config,
				PlanOnly: true, // fails on any change: the plan after the repair is empty
			},
		},
	})
}

// TestAccRegionPair_nameTaken: the pair's table name is taken by a table
// meridian did not create, with an item in it. The apply fails with an
// error that names the table: at plan time when the table driver can look
// the name up (then nothing is made), else half way. A second apply while
// the table is still there fails again and must neither adopt nor delete
// that table (a failed create's record is not proof of ownership). Once the
// table is gone, an apply converges to exactly the pair's objects, the
// plan after it is empty and destroy leaves nothing; the outside table kept
// its item throughout. moto is checked with the AWS SDK.
func TestAccRegionPair_nameTaken(t *testing.T) {
	endpoint := acceptance(t)
	c := cloud{endpoint}
	const name = "nametaken"
	p := pair{name: name, secondary: "us-west-2", hashKey: "id", path: "/health", threshold: 3, tags: `{}`, defaultTags: `{}`}
	ddb := dynamodb.NewFromConfig(c.cfg("us-east-1"))
	theirItem := map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "theirs"}}
	// The taken name is named at plan time (Name already taken: ... table
	// "nametaken" ... already exists) or half way (Table already exists:
	// nametaken).
	takenError := wrapped(`(?s)aws_dynamodb_table.kv:.*(already exists.*` + name + `|` + name + `.*already exists)`)
	// checkTheirs checks that the outside table still holds its item and
	// that nothing of the pair is in moto twice.
	checkTheirs := func(when string) {
		item, err := ddb.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(name), Key: theirItem})
		if err != nil || len(item.Item) == 0 {
			t.Fatalf("%s, the outside table lost its item: %v", when, err)
		}
		for k, n := range c.inventory(t, name) {
			if n > 1 {
				t.Fatalf("%s, %s is in moto %d times", when, k, n)
			}
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		CheckDestroy: func(*terraform.State) error {
			return sameObjects(c.inventory(t, name), map[string]int{})
		},
		Steps: []resource.TestStep{
			{
				PreConfig: func() {
					if _, err := ddb.CreateTable(context.Background(), &dynamodb.CreateTableInput{
						TableName:            aws.String(name),
						BillingMode:          ddbtypes.BillingModePayPerRequest,
						AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
						KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
					}); err != nil {
						t.Fatalf("create the outside table: %v", err)
					}
					if _, err := ddb.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(name), Item: theirItem}); err != nil {
						t.Fatalf("put an item in the outside table: %v", err)
					}
				},
				Config:      p.config(endpoint),
				ExpectError: takenError,
			},
			{
				PreConfig:   func() { checkTheirs("after the failed apply") },
				Config:      p.config(endpoint),
				ExpectError: takenError,
			},
			{
				PreConfig: func() {
					checkTheirs("after the second failed apply")
					if _, err := ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
						t.Fatalf("delete the outside table: %v", err)
					}
				},
				Config: p.config(endpoint),
				Check: func(*terraform.State) error {
					return sameObjects(c.inventory(t, name), pairObjects(name))
				},
			},
			{
				Config:   p.config(endpoint),
				PlanOnly: true, // fails on any change: the plan after the repair is empty
			},
		},
	})
}
