# A region pair for a checkout service: versioned buckets replicated from
# us-east-1 to us-west-2, a DynamoDB table with its replica, and DNS that
# fails over when the primary's health check fails.
terraform {
  required_providers {
    meridian = {
      source  = "meridianhq/meridian"
      version = "0.1.0"
    }
  }
}

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
  default_tags = {
    cost-centre = "cc-1234"
    managed-by  = "meridian"
  }
}

resource "meridian_region_pair" "checkout" {
  name             = "checkout"
  primary_region   = "us-east-1"
  secondary_region = "us-west-2"
  mode             = "active_passive"
  write_profile    = "write_heavy"

  object_store {
    bucket_prefix = "meridian-quickstart-checkout"
    force_destroy = true
  }

  kv_table {
    hash_key = "order_id"
  }

  dns {
    zone_name          = "checkout.example.com"
    record_name        = "api"
    primary_endpoint   = "api-use1.checkout.example.com"
    secondary_endpoint = "api-usw2.checkout.example.com"

    health_check {
      protocol          = "HTTPS"
      port              = 443
      path              = "/healthz"
      interval          = 10
      failure_threshold = 3
    }
  }

  tags = {
    service = "checkout"
  }
}

output "failover_fqdn" {
  value = meridian_region_pair.checkout.failover_fqdn
}

output "primitives" {
  value = meridian_region_pair.checkout.primitives
}
