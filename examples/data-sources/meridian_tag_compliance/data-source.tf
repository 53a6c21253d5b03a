# Every resource in the account that breaks the policy, including those
# meridian did not create.
data "meridian_tag_compliance" "audit" {
  policy  = meridian_cost_tag_policy.finance.policy
  regions = ["us-east-1", "us-west-2"]
}

output "untagged" {
  value = [for v in data.meridian_tag_compliance.audit.violations : "${v.arn}: ${join("; ", v.problems)}"]
}
