# Capacity for the web tier of checkout, planned from four weeks of hourly
# demand (instances in use, exported from CloudWatch as timestamp,value rows).
resource "meridian_capacity_reservation" "web" {
  name             = "checkout-web"
  primary_region   = "us-east-1"
  secondary_region = "us-west-2"

  # The first type is reserved and launched first; the others give the
  # groups room when it is short.
  instance_types = ["m5.large", "m6i.large", "m5.xlarge"]
  image_id       = "ami-0123456789abcdef0"

  demand {
    csv_file = "${path.module}/demand.csv"
    step     = "1h"
    season   = "24h"
  }

  horizon             = "30d"
  baseline_percentile = 50    # reserved: the median demand over the horizon
  peak_percentile     = 95    # the groups can grow to the 95th percentile
  batch               = 0.2   # a fifth of the demand is batch work, on spot
  failover_coverage   = 1     # the secondary reserves as much as the primary
  rto                 = "30m" # which an RTO under 1h requires
  review_interval     = "30d"

  # The same split in each region's cluster (the provider's kubernetes
  # block maps us-east-1 and us-west-2 to clusters): PriorityClasses
  # checkout-web-reserved / -on-demand / -spot, and a ResourceQuota per
  # class in the namespace checkout, sized in vCPUs from the split.
  # Pods choose their tier with priorityClassName.
  kubernetes {
    namespace = "checkout"
  }

  tags = {
    cost-centre = "cc-1042"
    service     = "checkout"
  }
}

output "capacity_split" {
  value = meridian_capacity_reservation.web.split
}

output "monthly_cost_vs_all_on_demand" {
  value = "${meridian_capacity_reservation.web.estimated_monthly_cost} vs ${meridian_capacity_reservation.web.all_on_demand_monthly_cost} USD (prices of ${meridian_capacity_reservation.web.price_table_date})"
}
