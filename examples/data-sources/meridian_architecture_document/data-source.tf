# The architecture document of a region pair and its DR policy, with the
# report of the pair's latest drill; the diagrams are written beside it.
data "meridian_architecture_document" "platform" {
  name         = "platform"
  region_pairs = [meridian_region_pair.checkout.spec]

  dr_policies = [{
    name            = meridian_dr_policy.checkout.name
    region_pair     = meridian_region_pair.checkout.spec
    rpo             = meridian_dr_policy.checkout.rpo
    rto             = meridian_dr_policy.checkout.rto
    restore_order   = meridian_dr_policy.checkout.restore_order
    backup_schedule = meridian_dr_policy.checkout.backup.schedule
    retention_days  = meridian_dr_policy.checkout.backup.retention_days
    last_drill      = meridian_dr_policy.checkout.last_drill
  }]
}

resource "local_file" "architecture" {
  filename = "${path.module}/doc/architecture.md"
  content  = data.meridian_architecture_document.platform.markdown
}

resource "local_file" "diagrams" {
  for_each = data.meridian_architecture_document.platform.diagrams
  filename = "${path.module}/doc/${each.key}"
  content  = each.value
}

# A CI gate: fail the plan while any choice cannot be defended.
check "architecture_defended" {
  assert {
    condition     = data.meridian_architecture_document.platform.defended
    error_message = join("\n", data.meridian_architecture_document.platform.findings)
  }
}
