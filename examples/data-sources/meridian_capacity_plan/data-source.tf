# What four weeks of hourly demand imply, before anything is reserved.
data "meridian_capacity_plan" "web" {
  primary_region    = "us-east-1"
  secondary_region  = "us-west-2"
  instance_types    = ["m5.large", "m6i.large"]
  horizon           = "30d"
  batch             = 0.2
  failover_coverage = 0.5
  chart_file        = "${path.module}/capacity.svg"

  demand {
    csv_file = "${path.module}/demand.csv"
  }
}

output "capacity_table" {
  value = data.meridian_capacity_plan.web.table
}
