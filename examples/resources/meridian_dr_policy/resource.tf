# The checkout pair may lose at most 15 minutes of data and be down at most
# an hour. Backups run hourly and are copied to us-west-2; continuous
# replication keeps the secondary within 15 minutes, so the plan is valid.
resource "meridian_dr_policy" "checkout" {
  name        = "checkout"
  region_pair = meridian_region_pair.checkout.spec
  rpo         = "15m"
  rto         = "1h"

  backup {
    schedule          = "rate(1 hour)"
    retention_days    = 35
    cross_region_copy = true
  }

  # Bring the orders table back before anything else.
  restore_order = ["aws_dynamodb_table.kv"]

  drill {
    schedule              = "monthly"
    max_deviation_percent = 20
  }
}

output "runbook" {
  value = meridian_dr_policy.checkout.runbook_markdown
}
