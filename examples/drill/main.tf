# A DR drill on the local testbed (make demo runs it): the orders pair
# (objects, table, DNS failover and a workload in two clusters), its DR
# policy, and a drill that destroys the primary cluster (context region-a)
# for real and restores it, measuring RTO and RPO against the policy.
terraform {
  required_providers {
    meridian = {
      source = "meridianhq/meridian"
    }
  }
}

variable "aws_endpoint" {
  type = string
}

variable "kubeconfig" {
  type = string
}

variable "testbed" {
  description = "Folder whose lifecycle executable destroys and recreates a cluster (make clusters writes .testbed/clusters)."
  type        = string
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
  kubernetes {
    cluster {
      region     = "us-east-1"
      kubeconfig = var.kubeconfig
      context    = "region-a"
    }
    cluster {
      region     = "us-west-2"
      kubeconfig = var.kubeconfig
      context    = "region-b"
    }
  }
}

resource "meridian_region_pair" "orders" {
  name             = "orders"
  primary_region   = "us-east-1"
  secondary_region = "us-west-2"

  object_store {
    bucket_prefix = "orders-objects"
    force_destroy = true
  }
  kv_table {
    hash_key = "order_id"
  }
  dns {
    zone_name          = "orders.example.com"
    record_name        = "api"
    primary_endpoint   = "api-use1.orders.example.com"
    secondary_endpoint = "api-usw2.orders.example.com"
  }
  workload {
    image    = "registry.example/orders:3.0"
    replicas = 2
    ports    = [8080]
    volume {
      size = "1Gi"
    }
  }
}

resource "meridian_dr_policy" "orders" {
  name        = "orders"
  region_pair = meridian_region_pair.orders.spec
  # Hourly backups copied to us-west-2: at worst an hour of writes is lost.
  rpo = "2h"
  rto = "1h"
}

resource "meridian_dr_drill" "orders" {
  region_pair = meridian_region_pair.orders.spec
  rpo         = meridian_dr_policy.orders.rpo
  rto         = meridian_dr_policy.orders.rto
  # Destroy and recreate the whole primary cluster (through the testbed's
  # lifecycle executable), at the worst point of the hourly backup cycle,
  # the hour run as 5 seconds.
  scope            = "cluster"
  testbed          = var.testbed
  outage_at        = "worst"
  time_compression = 720

  # The drill needs the pair to exist, not only its spec.
  depends_on = [meridian_region_pair.orders, meridian_dr_policy.orders]
}

output "drill" {
  value = {
    passed       = meridian_dr_drill.orders.passed
    identical    = meridian_dr_drill.orders.identical
    measured_rto = meridian_dr_drill.orders.measured_rto
    measured_rpo = meridian_dr_drill.orders.measured_rpo
    steps        = meridian_dr_drill.orders.steps
  }
}

# The whole report (recovery point used, writes lost, failover observed, ...)
# as JSON, and as a Markdown section for the architecture document.
output "drill_report" {
  value = meridian_dr_drill.orders.report
}

output "drill_markdown" {
  value = meridian_dr_drill.orders.markdown
}

output "policy_proven" {
  value = meridian_dr_policy.orders.proven
}

output "runbook" {
  value = meridian_dr_policy.orders.runbook_markdown
}

output "runbook_steps" {
  value = meridian_dr_policy.orders.runbook
}

output "targets" {
  value = { rpo = meridian_dr_policy.orders.rpo, rto = meridian_dr_policy.orders.rto, estimated_rto = meridian_dr_policy.orders.estimated_rto }
}
