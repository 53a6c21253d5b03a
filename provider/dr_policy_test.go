package provider

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	awscloud "github.com/meridianhq/terraform-provider-meridian/internal/cloud/aws"
)

func drConfig(endpoint, rpo, rto, schedule, pairBlocks string) string {
	return providerConfig(endpoint, `{ cost-centre = "cc-1" }`) + fmt.Sprintf(`
resource "meridian_region_pair" "dr" {
  name             = "orders"
  primary_region   = "us-east-1"
  secondary_region = "us-west-2"
%[4]s
}

resource "meridian_dr_policy" "orders" {
  name        = "orders"
  region_pair = meridian_region_pair.dr.spec
  rpo         = %[1]q
  rto         = %[2]q

  backup {
    schedule       = %[3]q
    retention_days = 14
  }
}
`, rpo, rto, schedule, pairBlocks)
}

const drStores = `
  object_store {
    bucket_prefix = "acc-orders"
    force_destroy = true
  }
  kv_table {
    hash_key = "order_id"
  }
`

// backupClient is the SDK's own client, with the path fix moto needs to
// list tags (see awscloud.EmulatorTagsPath).
func (c cloud) backupClient(region string) *backup.Client {
	return backup.NewFromConfig(c.cfg(region), func(o *backup.Options) { o.APIOptions = append(o.APIOptions, awscloud.EmulatorTagsPath) })
}

func (c cloud) checkBackup() resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		for _, region := range []string{"us-east-1", "us-west-2"} {
			vault := "meridian-orders-" + region
			v, err := c.backupClient(region).DescribeBackupVault(ctx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String(vault)})
			if err != nil {
				return fmt.Errorf("vault %s in %s: %w", vault, region, err)
			}
			tags, err := c.backupClient(region).ListTags(ctx, &backup.ListTagsInput{ResourceArn: v.BackupVaultArn})
			if err != nil || tags.Tags["cost-centre"] != "cc-1" || tags.Tags["meridian:resource"] != "meridian_dr_policy.orders" {
				return fmt.Errorf("vault %s tags %v (%v)", vault, tags, err)
			}
		}
		// Without AWS Backup's service policies the role can run no job.
		attached, err := iam.NewFromConfig(c.cfg("us-east-1")).ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("meridian-orders-backup")})
		if err != nil {
			return fmt.Errorf("policies of the backup role: %w", err)
		}
		var arns []string
		for _, p := range attached.AttachedPolicies {
			arns = append(arns, aws.ToString(p.PolicyArn))
		}
		if want := []string{"arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup", "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores"}; !slices.Equal(arns, want) {
			return fmt.Errorf("backup role has %v attached, want %v", arns, want)
		}
		plans, err := c.backupClient("us-east-1").ListBackupPlans(ctx, &backup.ListBackupPlansInput{})
		if err != nil {
			return err
		}
		for _, p := range plans.BackupPlansList {
			if aws.ToString(p.BackupPlanName) != "meridian-orders" {
				continue
			}
			got, err := c.backupClient("us-east-1").GetBackupPlan(ctx, &backup.GetBackupPlanInput{BackupPlanId: p.BackupPlanId})
			if err != nil {
				return err
			}
			rule := got.BackupPlan.Rules[0]
			if aws.ToString(rule.ScheduleExpression) != "rate(1 hour)" || aws.ToString(rule.TargetBackupVaultName) != "meridian-orders-us-east-1" {
				return fmt.Errorf("rule %+v", rule)
			}
			if len(rule.CopyActions) != 1 || aws.ToString(rule.CopyActions[0].DestinationBackupVaultArn) != "arn:aws:backup:us-west-2:123456789012:backup-vault:meridian-orders-us-west-2" {
				return fmt.Errorf("copy actions %+v, want one to the us-west-2 vault", rule.CopyActions)
			}
			return nil
		}
		return fmt.Errorf("no backup plan meridian-orders")
	}
}

func TestAccDRPolicy(t *testing.T) {
	endpoint := acceptance(t)
	c := cloud{endpoint}
	const policy = "meridian_dr_policy.orders"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{
			{
				Config: drConfig(endpoint, "30m", "2h", "rate(1 hour)", drStores),
				Check: resource.ComposeAggregateTestCheckFunc(
					c.checkBackup(),
					resource.TestCheckResourceAttr(policy, "proven", "false"),
					resource.TestCheckResourceAttr(policy, "estimated_rto", "31m10s"),
					resource.TestCheckResourceAttr(policy, "runbook.0.primitive", "aws_dynamodb_table.kv"),
					resource.TestCheckResourceAttr(policy, "runbook.7.primitive", "aws_ssm_parameter.manifest"),
					resource.TestCheckTypeSetElemNestedAttrs(policy, "primitives.*", map[string]string{
						"name": "aws_backup_selection.pair", "status": "unverified",
					}),
				),
			},
		},
	})
}

// Each plan-time rule of the DR policy stops the plan with a diagnostic
// that names the attribute and the numbers.
func TestAccDRPolicy_rules(t *testing.T) {
	endpoint := acceptance(t)
	cases := []struct {
		name, rpo, rto, schedule, pair, want string
	}{
		{"backup looser than rpo", "5m", "2h", "rate(1 hour)", drStores,
			`(?s)Backup schedule looser than the RPO.*backups run every 1h0m0s but rpo is 5m0s, and continuous replication lags up to 15m0s`},
		{"rto shorter than the restore", "30m", "15m", "rate(1 hour)", drStores,
			`(?s)RTO shorter than the estimated restore time.*restoring the pair in runbook order takes about 31m10s`},
		{"rpo without unit", "15", "2h", "rate(1 hour)", drStores, `(?s)Invalid RPO.*"15" has no unit`},
		{"no secondary data path", "30m", "2h", "rate(1 hour)", `
  dns {
    zone_name          = "orders.example.com"
    record_name        = "api"
    primary_endpoint   = "a.orders.example.com"
    secondary_endpoint = "b.orders.example.com"
  }`, `(?s)No secondary data path.*has neither object_store nor kv_table`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: providerFactories,
				Steps: []resource.TestStep{{
					Config:      drConfig(endpoint, tc.rpo, tc.rto, tc.schedule, tc.pair),
					PlanOnly:    true,
					ExpectError: wrapped(tc.want),
				}},
			})
		})
	}
}
