# Every kind of block a stack declares, referring to each other as in terraform.
variable "aws_endpoint" {
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
  default_tags = { cost-centre = "cc-1234" }
}

resource "meridian_cost_tag_policy" "finance" {
  name          = "finance"
  required_tags = ["cost-centre", "service"]
  key_case      = "kebab-case"

  allowed_values = {
    cost-centre = { pattern = "^cc-[0-9]{4}$" }
    service     = { values = ["checkout", "search"] }
  }

  default_tags = { owner = "finops" }

  exemptions = {
    aws_s3_bucket_replication  = "part of its bucket, which is tagged"
    aws_iam_role_policy        = "part of its role, which is tagged"
    aws_dynamodb_table_replica = "carries its table's tags"
    aws_route53_record         = "Route 53 records cannot carry tags"
    aws_backup_selection       = "part of its plan, which is tagged"
  }

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
    force_destroy = true
  }
  kv_table {
    hash_key = "order_id"
  }
  tags = { service = "checkout" }
}

resource "meridian_dr_policy" "checkout" {
  name          = "checkout"
  region_pair   = meridian_region_pair.checkout.spec
  rpo           = "15m"
  rto           = "1h"
  restore_order = ["aws_dynamodb_table.kv"]

  backup {
    schedule       = "rate(1 hour)"
    retention_days = 14
  }
  drill {
    schedule = "monthly"
  }
}

resource "meridian_capacity_reservation" "web" {
  name             = "checkout-web"
  primary_region   = "us-east-1"
  secondary_region = "us-west-2"
  instance_types   = ["m5.large", "m6i.large"]
  image_id         = "ami-0123456789abcdef0"

  demand {
    csv_file = "${path.module}/demand.csv"
    step     = "1h"
    season   = "24h"
  }

  horizon             = "14d"
  baseline_percentile = 50
  peak_percentile     = 95
  batch               = 0.2
  rto                 = meridian_dr_policy.checkout.rto
  interval            = 0.8

  tags = { service = "checkout" }
}

output "runbook" {
  value = meridian_dr_policy.checkout.runbook_markdown
}
