# Prove the checkout pair's DR policy on the local testbed (make clusters):
# the primary cluster is destroyed and restored, and RTO and RPO are
# measured against the policy's targets. Change a trigger to drill again.
# testbed names a folder holding a `lifecycle` executable, run as
# `lifecycle destroy CONTEXT` and `lifecycle recreate CONTEXT`: make clusters
# writes one; your own script drills your own clusters.
resource "meridian_dr_drill" "checkout" {
  region_pair = meridian_region_pair.checkout.spec
  rpo         = meridian_dr_policy.checkout.rpo
  rto         = meridian_dr_policy.checkout.rto
  testbed     = "${path.root}/.testbed/clusters"

  triggers = {
    month = "2026-11"
  }

  depends_on = [meridian_region_pair.checkout, meridian_dr_policy.checkout]
}

output "drill" {
  value = "RTO ${meridian_dr_drill.checkout.measured_rto} (target ${meridian_dr_policy.checkout.rto}), RPO ${meridian_dr_drill.checkout.measured_rpo} (target ${meridian_dr_policy.checkout.rpo}), passed: ${meridian_dr_drill.checkout.passed}"
}
