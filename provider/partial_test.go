package provider

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

// TestAccRegionPair_createFailsHalfWay builds situation 2 of issue 11: the
// pair's table name is taken by a table meridian did not create, so the
// create makes the buckets, the role, the zone... and fails at the table.
// Terraform taints the pair. Once the outside table is gone, the next apply
// must replace the tainted pair without leaving a duplicate or an orphan:
// its destroy half deletes what the failed create made (before the fix it
// got no records, deleted nothing, and the create then failed on the
// leftovers), the create half makes the pair, the plan after it is empty and
// destroy leaves nothing. moto is checked with the AWS SDK, not the drivers.
func TestAccRegionPair_createFailsHalfWay(t *testing.T) {
	createFailsHalfWay(t, "halfway", false)
}

// TestAccRegionPair_retryKeepsTheirTable is createFailsHalfWay with one
// more apply while the outside table still exists: the replacement of the
// tainted pair must neither adopt nor delete that table (its record is a
// create that failed, not one of ours), so the apply fails again, naming the
// table, and the table keeps its item. It relies on the ownership marks: the
// table driver refusing a table whose owner mark is not the pair's, and the
// engine resolving a pending create by the marks rather than by creating.
func TestAccRegionPair_retryKeepsTheirTable(t *testing.T) {
	createFailsHalfWay(t, "retrytaken", true)
}

func createFailsHalfWay(t *testing.T, name string, retryWhileTaken bool) {
	endpoint := acceptance(t)
	c := cloud{endpoint}
	p := pair{name: name, secondary: "us-west-2", hashKey: "id", path: "/health", threshold: 3, tags: `{}`, defaultTags: `{}`}
	ddb := dynamodb.NewFromConfig(c.cfg("us-east-1"))
	theirItem := map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "theirs"}}
	takenError := wrapped(`(?s)Cannot apply meridian_region_pair.` + name + `.*create aws_dynamodb_table.kv:.*(already exists.*` + name + `|` + name + `.*already exists)`)
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
	steps := []resource.TestStep{{
		PreConfig: func() {
			// A table made outside meridian, with an item in it.
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
	}}
	if retryWhileTaken {
		steps = append(steps, resource.TestStep{
			PreConfig:   func() { checkTheirs("after the failed create") },
			Config:      p.config(endpoint),
			ExpectError: takenError,
		})
	}
	steps = append(steps,
		resource.TestStep{
			PreConfig: func() {
				checkTheirs("before the table is freed")
				// The failed create kept what it made, once each. The
				// manifest lists every primitive's id, so it waits for the
				// table; the table in moto is theirs.
				want := pairObjects(name)
				delete(want, "manifest of "+name+" in us-east-1")
				if err := sameObjects(c.inventory(t, name), want); err != nil {
					t.Fatalf("after the failed create: %v", err)
				}
				// Its owner removes the outside table.
				if _, err := ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
					t.Fatalf("delete the outside table: %v", err)
				}
			},
			Config: p.config(endpoint),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(addr, plancheck.ResourceActionDestroyBeforeCreate),
			}},
			Check: func(*terraform.State) error {
				return sameObjects(c.inventory(t, name), pairObjects(name))
			},
		},
		resource.TestStep{
			Config:   p.config(endpoint),
			PlanOnly: true, // fails on any change: the plan after the repair is empty
		},
	)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		CheckDestroy: func(*terraform.State) error {
			return sameObjects(c.inventory(t, name), map[string]int{})
		},
		Steps: steps,
	})
}
