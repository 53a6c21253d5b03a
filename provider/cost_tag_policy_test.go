package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

// orgRoot makes the moto account an organization's management account, as a
// tag policy needs, and returns the root id.
func (c cloud) orgRoot(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	org := organizations.NewFromConfig(c.cfg("us-east-1"))
	_, err := org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll})
	var exists *orgtypes.AlreadyInOrganizationException
	if err != nil && !errors.As(err, &exists) {
		t.Fatalf("create organization: %v", err)
	}
	roots, err := org.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil || len(roots.Roots) == 0 {
		t.Fatalf("list roots: %v", err)
	}
	return aws.ToString(roots.Roots[0].Id)
}

// tagsOf reads the tags of each of the pair's taggable objects through its
// own service's API.
func (c cloud) tagsOf(name string) (map[string]map[string]string, error) {
	ctx := context.Background()
	out := map[string]map[string]string{}
	for _, region := range []string{"us-east-1", "us-west-2"} {
		bucket := "acc-" + name + "-" + region
		tags, err := c.bucketTags(bucket, region)
		if err != nil {
			return nil, fmt.Errorf("bucket %s: %w", bucket, err)
		}
		out["s3 "+bucket] = tags
	}
	ddb := dynamodb.NewFromConfig(c.cfg("us-east-1"))
	table, err := ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		return nil, err
	}
	tt, err := ddb.ListTagsOfResource(ctx, &dynamodb.ListTagsOfResourceInput{ResourceArn: table.Table.TableArn})
	if err != nil {
		return nil, err
	}
	out["dynamodb "+name] = map[string]string{}
	for _, t := range tt.Tags {
		out["dynamodb "+name][aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	role := "meridian-" + name + "-replication"
	rt, err := iam.NewFromConfig(c.cfg("us-east-1")).ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String(role)})
	if err != nil {
		return nil, fmt.Errorf("role %s: %w", role, err)
	}
	out["iam "+role] = map[string]string{}
	for _, t := range rt.Tags {
		out["iam "+role][aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	r53 := route53.NewFromConfig(c.cfg("us-east-1"))
	zones, err := r53.ListHostedZonesByName(ctx, &route53.ListHostedZonesByNameInput{DNSName: aws.String(name + ".example.com")})
	if err != nil || len(zones.HostedZones) == 0 {
		return nil, fmt.Errorf("zone: %v", err)
	}
	zoneID := strings.TrimPrefix(aws.ToString(zones.HostedZones[0].Id), "/hostedzone/")
	checks, err := r53.ListHealthChecks(ctx, &route53.ListHealthChecksInput{})
	if err != nil {
		return nil, err
	}
	r53Tags := func(typ r53types.TagResourceType, id string) error {
		res, err := r53.ListTagsForResource(ctx, &route53.ListTagsForResourceInput{ResourceType: typ, ResourceId: aws.String(id)})
		if err != nil {
			return err
		}
		key := fmt.Sprintf("route53 %s %s", typ, id)
		out[key] = map[string]string{}
		for _, t := range res.ResourceTagSet.Tags {
			out[key][aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		return nil
	}
	if err := r53Tags(r53types.TagResourceTypeHostedzone, zoneID); err != nil {
		return nil, err
	}
	for _, hc := range checks.HealthChecks {
		if aws.ToString(hc.HealthCheckConfig.FullyQualifiedDomainName) == "primary."+name+".example.com" {
			if err := r53Tags(r53types.TagResourceTypeHealthcheck, aws.ToString(hc.Id)); err != nil {
				return nil, err
			}
		}
	}
	pt, err := ssm.NewFromConfig(c.cfg("us-east-1")).ListTagsForResource(ctx, &ssm.ListTagsForResourceInput{
		ResourceType: ssmtypes.ResourceTypeForTaggingParameter, ResourceId: aws.String("/meridian/region_pair/" + name)})
	if err != nil {
		return nil, err
	}
	out["ssm manifest"] = map[string]string{}
	for _, t := range pt.TagList {
		out["ssm manifest"][aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return out, nil
}

// checkEveryObjectTagged checks want on every taggable object of the pair (7 of them).
func (c cloud) checkEveryObjectTagged(name string, want map[string]string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		all, err := c.tagsOf(name)
		if err != nil {
			return err
		}
		if len(all) != 7 {
			return fmt.Errorf("found %d taggable objects, want 7: %v", len(all), all)
		}
		for object, tags := range all {
			for k, v := range want {
				if tags[k] != v {
					return fmt.Errorf("%s: tag %s = %q, want %q (tags %v)", object, k, tags[k], v, tags)
				}
			}
		}
		return nil
	}
}

func taggedConfig(endpoint, root, defaultTags, pairTags, extra string) string {
	return providerConfig(endpoint, defaultTags) + fmt.Sprintf(`
resource "meridian_cost_tag_policy" "finance" {
  name          = "finance"
  required_tags = ["cost-centre", "service"]
  key_case      = "kebab-case"
  allowed_values = {
    cost-centre = { pattern = "^cc-[0-9]{4}$" }
    service     = { values = ["billing", "checkout"] }
  }
  default_tags = { owner = "finops" }
  exemptions = {
    aws_s3_bucket_replication  = "part of its bucket, which is tagged"
    aws_iam_role_policy        = "part of its role, which is tagged"
    aws_dynamodb_table_replica = "carries its table's tags"
    aws_route53_record         = "Route 53 records cannot carry tags"
  }
  enforce_in_cloud {
    target_id = %[1]q
  }
}

resource "meridian_region_pair" "test" {
  name             = "billing"
  primary_region   = "us-east-1"
  secondary_region = "us-west-2"
  cost_tag_policy  = meridian_cost_tag_policy.finance.policy

  object_store {
    bucket_prefix = "acc-billing"
    force_destroy = true
  }
  kv_table {
    hash_key = "invoice"
  }
  dns {
    zone_name          = "billing.example.com"
    record_name        = "api"
    primary_endpoint   = "primary.billing.example.com"
    secondary_endpoint = "secondary.billing.example.com"
  }
  tags = %[2]s
}
%[3]s`, root, pairTags, extra)
}

func TestAccCostTagPolicy(t *testing.T) {
	endpoint := acceptance(t)
	c := cloud{endpoint}
	root := c.orgRoot(t)
	audit := `
data "meridian_tag_compliance" "audit" {
  policy  = meridian_cost_tag_policy.finance.policy
  regions = ["us-east-1", "us-west-2"]
}
`
	var policyID string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		CheckDestroy:             c.checkGone("billing", "us-east-1", "us-west-2"),
		Steps: []resource.TestStep{
			{
				Config: taggedConfig(endpoint, root, `{ cost-centre = "cc-1234" }`, `{ service = "billing" }`, ""),
				Check: resource.ComposeAggregateTestCheckFunc(
					c.checkEveryObjectTagged("billing", map[string]string{
						"cost-centre": "cc-1234", "service": "billing", "owner": "finops",
						"meridian:resource": "meridian_region_pair.billing",
					}),
					resource.TestCheckResourceAttrSet("meridian_cost_tag_policy.finance", "policy"),
					func(s *terraform.State) error {
						ctx := context.Background()
						org := organizations.NewFromConfig(c.cfg("us-east-1"))
						rec := s.RootModule().Resources["meridian_cost_tag_policy.finance"].Primary.Attributes
						for i := 0; rec[fmt.Sprintf("primitives.%d.name", i)] != ""; i++ {
							if rec[fmt.Sprintf("primitives.%d.type", i)] == "aws_organizations_policy" {
								policyID = rec[fmt.Sprintf("primitives.%d.id", i)]
							}
						}
						p, err := org.DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: aws.String(policyID)})
						if err != nil {
							return fmt.Errorf("organizations policy %q: %w", policyID, err)
						}
						content := aws.ToString(p.Policy.Content)
						for _, want := range []string{`"cost-centre":{"tag_key":{"@@assign":"cost-centre"}}`, `"service":{"tag_key":{"@@assign":"service"},"tag_value":{"@@assign":["billing","checkout"]}}`} {
							if !strings.Contains(content, want) {
								return fmt.Errorf("policy content %s lacks %s", content, want)
							}
						}
						if p.Policy.PolicySummary.Type != orgtypes.PolicyTypeTagPolicy {
							return fmt.Errorf("policy type %s", p.Policy.PolicySummary.Type)
						}
						targets, err := org.ListTargetsForPolicy(ctx, &organizations.ListTargetsForPolicyInput{PolicyId: aws.String(policyID)})
						if err != nil || len(targets.Targets) != 1 || aws.ToString(targets.Targets[0].TargetId) != root {
							return fmt.Errorf("policy targets %+v (%v), want %s", targets, err, root)
						}
						return nil
					},
				),
			},
			{
				// default_tags change in place: no primitive is replaced.
				Config: taggedConfig(endpoint, root, `{ cost-centre = "cc-5678" }`, `{ service = "billing" }`, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				Check: c.checkEveryObjectTagged("billing", map[string]string{"cost-centre": "cc-5678", "service": "billing"}),
			},
			{
				Config:      taggedConfig(endpoint, root, `{ cost-centre = "cc-5678" }`, `{}`, ""),
				PlanOnly:    true,
				ExpectError: wrapped(`(?s)Error: Missing required tag.*meridian_region_pair "billing": required tag "service" is not set.*aws_s3_bucket.primary \(aws_s3_bucket\)`),
			},
			{
				Config:      taggedConfig(endpoint, root, `{ cost-centre = "cc-5678" }`, `{ service = "billing", CostCentre = "cc-5678" }`, ""),
				PlanOnly:    true,
				ExpectError: wrapped(`(?s)Error: Tag key conflict.*keys "CostCentre", "cost-centre" are the same key spelt differently`),
			},
			{
				PreConfig: func() {
					_, err := c.s3("us-east-1").CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("outside-untagged")})
					if err != nil {
						t.Fatalf("create a bucket outside meridian: %v", err)
					}
				},
				Config: taggedConfig(endpoint, root, `{ cost-centre = "cc-5678" }`, `{ service = "billing" }`, audit),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("data.meridian_tag_compliance.audit", "compliant", "false"),
					resource.TestCheckTypeSetElemNestedAttrs("data.meridian_tag_compliance.audit", "violations.*", map[string]string{
						"arn": "arn:aws:s3:::outside-untagged", "type": "s3:bucket", "region": "us-east-1",
					}),
					func(s *terraform.State) error {
						attrs := s.RootModule().Resources["data.meridian_tag_compliance.audit"].Primary.Attributes
						for k, v := range attrs {
							if strings.HasSuffix(k, ".arn") && strings.Contains(v, "acc-billing") {
								return fmt.Errorf("meridian's own bucket %s is reported as a violation", v)
							}
						}
						return nil
					},
				),
			},
		},
	})
}
