package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
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

// Every list and map attribute of every resource takes an element that is
// unknown at plan time: the conversion marks the attribute unknown (its
// rules run at apply) instead of failing.
func TestUnknownElementsConvert(t *testing.T) {
	ctx := context.Background()
	unknownMap := types.MapValueMust(types.StringType, map[string]attr.Value{"team": types.StringUnknown()})
	unknownList := types.ListValueMust(types.StringType, []attr.Value{types.StringValue("cost-centre"), types.StringUnknown()})

	pair := modelOf(blueprint.RegionPair{Name: "known", PrimaryRegion: "us-east-1", SecondaryRegion: "us-west-2",
		Workload: &blueprint.Workload{Image: "nginx", Ports: []int{80}, Env: map[string]string{"A": "b"}}})
	pair.Tags = unknownMap
	pair.Workload.Env = unknownMap
	pair.Workload.Ports = types.ListValueMust(types.Int64Type, []attr.Value{types.Int64Unknown()})
	_, unknown, diags := pair.blueprint(ctx)
	if diags.HasError() || !unknown["tags"] || !unknown["workload.env"] || !unknown["workload.ports"] {
		t.Errorf("region pair: unknown %v, diags %v", unknown, diags)
	}

	capacity := capacityModel{Name: types.StringValue("web"), Tags: unknownMap, InstanceTypes: unknownList,
		Demand: &demandModel{Values: types.ListValueMust(types.Float64Type, []attr.Value{types.Float64Unknown()})}}
	_, _, unknown, _, diags = capacity.blueprint(ctx, nil)
	if diags.HasError() || !unknown["tags"] || !unknown["instance_types"] || !unknown["demand.values"] {
		t.Errorf("capacity: unknown %v, diags %v", unknown, diags)
	}

	policy := costTagPolicyModel{Name: types.StringValue("p"), KeyCase: types.StringValue("any"), RequiredTags: unknownList,
		DefaultTags: unknownMap, Exemptions: types.MapNull(types.StringType), AllowedValues: types.MapNull(types.ObjectType{})}
	if _, known, diags := policy.blueprint(ctx); known || diags.HasError() {
		t.Errorf("cost tag policy: known %v, diags %v", known, diags)
	}

	dr := drPolicyModel{Name: types.StringValue("dr"), RegionPair: types.StringValue("{}"), RPO: types.StringValue("15m"), RTO: types.StringValue("1h"),
		Tags: unknownMap, RestoreOrder: unknownList}
	if _, known, diags := dr.blueprint(ctx); known || diags.HasError() {
		t.Errorf("dr policy: known %v, diags %v", known, diags)
	}
}
