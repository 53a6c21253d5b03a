# Active-passive: writes in us-east-1, replicas in us-west-2, and DNS that
# fails over when the primary's health check fails.
resource "meridian_region_pair" "checkout" {
  name             = "checkout"
  primary_region   = "us-east-1"
  secondary_region = "us-west-2"
  mode             = "active_passive"
  write_profile    = "write_heavy"

  object_store {
    bucket_prefix = "acme-checkout"
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
      path              = "/healthz"
      interval          = 10
      failure_threshold = 3
    }
  }

  tags = {
    service = "checkout"
  }
}

# Sharded active-active for a read-heavy service: objects replicate both ways.
resource "meridian_region_pair" "catalog" {
  name             = "catalog"
  primary_region   = "eu-west-1"
  secondary_region = "eu-central-1"
  mode             = "active_active_sharded"
  write_profile    = "read_heavy"

  object_store {
    bucket_prefix = "acme-catalog"
  }
}
