package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// Tags from variables and locals that pass through another resource are
// unknown at plan time (terraform_data's output is known only after apply).
// The plan must accept them, and apply must check and tag with the values.
func TestAccUnknownTagValues(t *testing.T) {
	endpoint := acceptance(t)
	c := cloud{endpoint}
	config := providerConfig(endpoint, "{}") + `
variable "team" {
  default = "payments"
}

resource "terraform_data" "team" {
  input = var.team
}

locals {
  service = terraform_data.team.output
}

resource "meridian_cost_tag_policy" "vars" {
  name          = "vars"
  required_tags = [terraform_data.team.output == "payments" ? "team" : "unknown"]
  default_tags  = { owner = terraform_data.team.output }
  exemptions = {
    aws_s3_bucket_replication  = "part of its bucket, which is tagged"
    aws_iam_role_policy        = "part of its role, which is tagged"
    aws_dynamodb_table_replica = "carries its table's tags"
    aws_route53_record         = "Route 53 records cannot carry tags"
  }
}

resource "meridian_region_pair" "vars" {
  name             = "varstags"
  primary_region   = "us-east-1"
  secondary_region = "us-west-2"
  cost_tag_policy  = meridian_cost_tag_policy.vars.policy

  object_store {
    bucket_prefix = "acc-varstags"
    force_destroy = true
  }
  kv_table {
    hash_key = "id"
  }
  dns {
    zone_name          = "varstags.example.com"
    record_name        = "api"
    primary_endpoint   = "primary.varstags.example.com"
    secondary_endpoint = "secondary.varstags.example.com"
  }
  tags = { team = var.team, service = local.service, build = terraform_data.team.output }
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		CheckDestroy:             c.checkGone("varstags", "us-east-1", "us-west-2"),
		Steps: []resource.TestStep{{
			Config: config,
			Check: resource.ComposeAggregateTestCheckFunc(
				c.checkEveryObjectTagged("varstags", map[string]string{
					"team": "payments", "service": "payments", "build": "payments", "owner": "payments",
				}),
				resource.TestCheckResourceAttr("meridian_region_pair.vars", "tags.service", "payments"),
			),
		}},
	})
}
