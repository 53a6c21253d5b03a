# A meridian stack: the same blocks as the terraform provider's, deployed by
# `meridian up` without terraform. Point it at moto with
#   meridian --var aws_endpoint=http://127.0.0.1:PORT up
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
  parallelism = 10
}

resource "meridian_region_pair" "checkout" {
  name             = "checkout"
  primary_region   = "us-east-1"
  secondary_region = "us-west-2"
  write_profile    = "write_heavy"

  object_store {
    bucket_prefix = "meridian-stack-checkout"
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
  tags = {
    service = "checkout"
  }
}

resource "meridian_region_pair" "search" {
  name             = "search"
  primary_region   = "eu-west-1"
  secondary_region = "eu-central-1"
  kv_table {
    hash_key = "doc_id"
  }
  tags = {
    service = "search"
  }
}

output "checkout_fqdn" {
  value = meridian_region_pair.checkout.failover_fqdn
}
