# A service in two regions: its objects and table replicated from the
# primary region to the secondary, and the same workload running in each
# region's Kubernetes cluster (full replicas in the primary, standby
# replicas in the secondary), tagged for cost attribution.
terraform {
  required_providers {
    meridian = {
      source = "meridianhq/meridian"
    }
  }
}

variable "name" {
  description = "Service name: names the pair, its namespace, table and buckets."
  type        = string
}

variable "primary_region" {
  description = "Region that serves traffic and runs the full replicas."
  type        = string
  default     = "us-east-1"
}

variable "secondary_region" {
  description = "Region that receives the replicated objects and table, and runs the standby replicas."
  type        = string
  default     = "us-west-2"
}

variable "image" {
  description = "Container image of the service."
  type        = string
}

variable "replicas" {
  description = "Replicas of the workload in the primary region's cluster (the secondary runs 1)."
  type        = number
  default     = 2
}

variable "tags" {
  description = "Tags on every object of the pair, merged over the provider's default_tags."
  type        = map(string)
  default     = {}
}

resource "meridian_region_pair" "this" {
  name             = var.name
  primary_region   = var.primary_region
  secondary_region = var.secondary_region
  mode             = "active_passive"

  object_store {
    bucket_prefix = "${var.name}-objects"
    force_destroy = true
  }

  kv_table {
    hash_key = "id"
  }

  workload {
    image            = var.image
    replicas         = var.replicas
    standby_replicas = 1
    ports            = [8080]
    env = {
      LOG_LEVEL = "info"
    }
    volume {
      size = "1Gi"
    }
  }

  tags = var.tags
}

output "spec" {
  value = meridian_region_pair.this.spec
}

output "primitives" {
  value = meridian_region_pair.this.primitives
}
