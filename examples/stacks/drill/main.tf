# A stack that `meridian drill` proves (make demo runs it; the README's CLI
# section shows the commands): the orders pair with a workload in two local
# clusters, and its DR policy. The same blocks as examples/drill, which
# drills with terraform's meridian_dr_drill resource instead.
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
    # Kept in a Kubernetes Secret, never in clear in plans or state.
    env = { DB_PASSWORD = "change-me" }
    volume {
      size = "1Gi"
    }
  }
}

resource "meridian_dr_policy" "orders" {
  name        = "orders"
  region_pair = meridian_region_pair.orders.spec
  # Backups every hour, copied to us-west-2: at worst an hour of writes is
  # lost, within this RPO. A tighter RPO (say "15m") fails the drill.
  rpo = "2h"
  rto = "1h"
  backup {
    schedule = "rate(1 hour)"
  }
  drill {
    # Delete and restore the workload's namespace (the cluster stays), at the
    # worst point of the backup cycle, with the hour run as 5 seconds.
    scope            = "namespace"
    outage_at        = "worst"
    time_compression = 720
  }
}
