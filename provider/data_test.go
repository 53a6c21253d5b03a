package provider

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

// dataPair is a region pair whose table and bucket names a test changes.
type dataPair struct {
	table, bucketPrefix, tags string
	allowDataLoss             string // "" leaves it out
	preventDestroy            bool
}

func (p dataPair) config(endpoint string) string {
	allow := ""
	if p.allowDataLoss != "" {
		allow = "allow_data_loss = " + p.allowDataLoss
	}
	return providerConfig(endpoint, "{}") + fmt.Sprintf(`
resource "meridian_region_pair" "test" {
  name             = "keep"
  primary_region   = "us-east-1"
  secondary_region = "us-west-2"
  %s

  object_store {
    bucket_prefix = %q
    force_destroy = true
  }

  kv_table {
    name     = %q
    hash_key = "id"
  }

  tags = %s

  lifecycle {
    prevent_destroy = %t
  }
}
`, allow, p.bucketPrefix, p.table, p.tags, p.preventDestroy)
}

// TestAccRegionPair_dataProtection builds situation 8 of issue 11: a
// change that replaces a table or a bucket inside a pair. Before, terraform
// showed an update in place, prevent_destroy could not stop it, and the data
// went. Now, while the table holds an item (or the bucket an object), the
// plan is an error that names it; with prevent_destroy terraform refuses,
// since it sees a replacement; with allow_data_loss the pair is replaced.
// An update in place of a pair holding data goes ahead. moto is read with
// the AWS SDK, not the drivers.
func TestAccRegionPair_dataProtection(t *testing.T) {
	endpoint := acceptance(t)
	c := cloud{endpoint}
	ctx := context.Background()
	ddb := dynamodb.NewFromConfig(c.cfg("us-east-1"))
	key := map[string]ddbtypes.AttributeValue{"id": &ddbtypes.AttributeValueMemberS{Value: "order-1"}}
	hasItem := func(table string) error {
		out, err := ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(table), Key: key})
		if err != nil || len(out.Item) == 0 {
			return fmt.Errorf("table %s lost its item: %v", table, err)
		}
		return nil
	}
	tableExists := func(table string) bool {
		_, err := ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)})
		return err == nil
	}
	bucketExists := func(bucket, region string) bool {
		_, err := c.s3(region).HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
		return err == nil
	}
	base := dataPair{table: "keep-a", bucketPrefix: "acc-keep", tags: `{ v = "1" }`}
	retagged := base
	retagged.tags = `{ v = "2" }`
	newPrefix := retagged
	newPrefix.bucketPrefix = "acc-keep2"
	newTable := retagged
	newTable.table = "keep-b"
	guarded := newTable
	guarded.allowDataLoss, guarded.preventDestroy = "true", true
	allowed := newTable
	allowed.allowDataLoss = "true"

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		CheckDestroy: func(*terraform.State) error {
			for _, table := range []string{"keep-a", "keep-b"} {
				if tableExists(table) {
					return fmt.Errorf("table %s is left after destroy", table)
				}
			}
			for _, prefix := range []string{"acc-keep", "acc-keep2"} {
				for _, region := range inventoryRegions {
					if bucketExists(prefix+"-"+region, region) {
						return fmt.Errorf("bucket %s-%s is left after destroy", prefix, region)
					}
				}
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config: base.config(endpoint),
				Check: func(*terraform.State) error {
					if _, err := ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("keep-a"), Item: key}); err != nil {
						return err
					}
					_, err := c.s3("us-east-1").PutObject(ctx, &s3.PutObjectInput{
						Bucket: aws.String("acc-keep-us-east-1"), Key: aws.String("orders.csv"), Body: strings.NewReader("order-1\n"),
					})
					return err
				},
			},
			{
				// Tags change in place: no data goes, nothing to allow.
				Config: retagged.config(endpoint),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error { return hasItem("keep-a") },
			},
			{
				Config:      newPrefix.config(endpoint),
				ExpectError: wrapped(`(?s)Plan would delete data.*aws_s3_bucket.primary \(aws_s3_bucket acc-keep-us-east-1 in us-east-1\) holds objects.*allow_data_loss = true`),
			},
			{
				Config:      newTable.config(endpoint),
				ExpectError: wrapped(`(?s)Plan would delete data.*aws_dynamodb_table.kv \(aws_dynamodb_table keep-a in us-east-1\) holds items.*allow_data_loss = true`),
			},
			{
				PreConfig: func() {
					if err := hasItem("keep-a"); err != nil {
						t.Fatalf("after the refused plans: %v", err)
					}
				},
				// Terraform sees the replacement, so prevent_destroy holds.
				Config:      guarded.config(endpoint),
				ExpectError: wrapped(`Instance cannot be destroyed`),
			},
			{
				Config: allowed.config(endpoint),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				Check: func(*terraform.State) error {
					if tableExists("keep-a") || !tableExists("keep-b") {
						return fmt.Errorf("after the allowed replacement, want table keep-b and not keep-a: keep-a %t, keep-b %t", tableExists("keep-a"), tableExists("keep-b"))
					}
					got := c.inventory(t, "keep")
					for _, region := range inventoryRegions {
						if n := got["bucket acc-keep-"+region]; n != 1 {
							return fmt.Errorf("bucket acc-keep-%s is in moto %d times, want once", region, n)
						}
					}
					return nil
				},
			},
		},
	})
}

// TestAccDRPolicy_vaultRename: renaming a backup vault replaces it, and a
// vault's recovery points go with it, so terraform must see the policy
// replaced: with prevent_destroy it refuses the plan even though
// allow_data_loss lets meridian go ahead. (moto has no recovery points to
// put in a vault, and keeps a deleted backup plan's name taken, so the
// replacement itself is not applied here.)
func TestAccDRPolicy_vaultRename(t *testing.T) {
	endpoint := acceptance(t)
	renamed := strings.Replace(drConfig(endpoint, "30m", "2h", "rate(1 hour)", drStores), `  backup {
    schedule`, `  allow_data_loss = true

  lifecycle {
    prevent_destroy = true
  }

  backup {
    primary_vault  = "orders-vault-2"
    schedule`, 1)
	if !strings.Contains(renamed, "orders-vault-2") {
		t.Fatal("the renamed vault is not in the configuration")
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{
			{Config: drConfig(endpoint, "30m", "2h", "rate(1 hour)", drStores)},
			{
				Config:      renamed,
				ExpectError: wrapped(`Instance cannot be destroyed`),
			},
			// Back to the first configuration, which destroy then uses.
			{Config: drConfig(endpoint, "30m", "2h", "rate(1 hour)", drStores)},
		},
	})
}
