# A meridian stack with every kind of block the CLI reads, referring to each
# other as in terraform: a cost tag policy, a region pair that names it, the
# pair's DR policy and the capacity of its web tier. `meridian up` deploys
# them all; `meridian runbook`, `meridian capacity` and `meridian cost` plan
# from them without a cloud call:
#
#   meridian runbook            # the restore runbook (Markdown)
#   meridian capacity --chart capacity.svg
#   meridian cost               # every primitive against the tag policy
#   meridian cost --account --var aws_endpoint=http://127.0.0.1:PORT
variable "aws_endpoint" {
  description = "One URL for every AWS service: a moto server or LocalStack. Empty means real AWS."
  type        = string
  default     = ""
}

provider "meridian" {
  aws {
    endpoint                    = var.aws_endpoint
    access_key                  = "test"
    secret_key                  = "test"
    s3_use_path_style           = true
    skip_credentials_validation = true
    emulator                    = var.aws_endpoint != "" # an endpoint given here is moto or LocalStack
  }
  default_tags = { cost-centre = "cc-1234" }
  parallelism  = 10
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

  # Uncomment to make the policy an AWS Organizations tag policy too
  # (meridian up deploys it into the AWS Organization the target belongs to).
  # enforce_in_cloud {
  #   target_id = "r-abcd"
  # }
}

resource "meridian_region_pair" "checkout" {
  name             = "checkout"
  primary_region   = "us-east-1"
  secondary_region = "us-west-2"
  cost_tag_policy  = meridian_cost_tag_policy.finance.policy

  object_store {
    bucket_prefix = "meridian-platform-checkout"
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

# Four weeks would be better; demand.csv holds two weeks of hourly instance
# counts (timestamp,value rows, as CloudWatch exports them).
resource "meridian_capacity_reservation" "web" {
  name             = "checkout-web"
  primary_region   = "us-east-1"
  secondary_region = "us-west-2"
  instance_types   = ["m5.large", "m6i.large"]
  image_id         = "ami-0123456789abcdef0"

  demand {
    csv_file = "${path.module}/demand.csv"
    step     = "1h"
  }

  horizon             = "14d"
  baseline_percentile = 50
  peak_percentile     = 95
  batch               = 0.2
  rto                 = meridian_dr_policy.checkout.rto

  tags = { service = "checkout" }
}

output "runbook" {
  value = meridian_dr_policy.checkout.runbook_markdown
}
