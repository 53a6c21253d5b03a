terraform {
  required_providers {
    meridian = { source = "meridianhq/meridian" }
  }
}

variable "aws_endpoint" {
  type    = string
  default = ""
}

provider "meridian" {
  aws {
    endpoint          = var.aws_endpoint
    access_key        = "test"
    secret_key        = "test"
    s3_use_path_style = true
  }
  default_tags = { cost-centre = "cc-1234" }
  parallelism  = 20
}

resource "meridian_region_pair" "checkout" {
  name             = "checkout"
  primary_region   = "us-east-1"
  secondary_region = "us-west-2"
  write_profile    = "write_heavy"

  object_store {
    bucket_prefix = "acme-checkout"
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
      path     = "/healthz"
      interval = 10
    }
  }
  tags = { service = "checkout" }
}

resource "meridian_region_pair" "search" {
  name             = "search"
  primary_region   = "eu-west-1"
  secondary_region = "eu-central-1"
  kv_table {
    hash_key = "id"
  }
}

output "fqdn" {
  value = meridian_region_pair.checkout.failover_fqdn
}
