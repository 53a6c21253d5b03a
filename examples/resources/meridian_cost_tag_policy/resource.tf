# Every primitive of the region pair below must carry cost-centre and
# service; untaggable primitive types are exempted with the reason written down.
resource "meridian_cost_tag_policy" "finance" {
  name          = "finance"
  required_tags = ["cost-centre", "service"]
  key_case      = "kebab-case"

  allowed_values = {
    cost-centre = { pattern = "^cc-[0-9]{4}$" }
    service     = { values = ["checkout", "billing"] }
  }

  default_tags = {
    owner = "finops"
  }

  exemptions = {
    aws_s3_bucket_replication  = "part of its bucket, which is tagged"
    aws_iam_role_policy        = "part of its role, which is tagged"
    aws_dynamodb_table_replica = "carries its table's tags"
    aws_route53_record         = "Route 53 records cannot carry tags"
  }

  # Also an AWS Organizations tag policy, attached to the root.
  enforce_in_cloud {
    target_id = "r-abcd"
  }
}

resource "meridian_region_pair" "checkout" {
  name             = "checkout"
  primary_region   = "us-east-1"
  secondary_region = "us-west-2"
  cost_tag_policy  = meridian_cost_tag_policy.finance.policy

  object_store {
    bucket_prefix = "acme-checkout"
  }

  tags = {
    cost-centre = "cc-1234"
    service     = "checkout"
  }
}
