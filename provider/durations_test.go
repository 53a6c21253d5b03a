package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// A DR policy takes compound durations, and the estimated_rto one policy
// prints is an rto another accepts.
func TestAccDRPolicy_compoundDurations(t *testing.T) {
	endpoint := acceptance(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{{
			Config: drConfig(endpoint, "1h0m", "1h30m", "rate(1 hour)", drStores) + `
resource "meridian_dr_policy" "echo" {
  name        = "echo"
  region_pair = meridian_region_pair.dr.spec
  rpo         = "30m"
  rto         = meridian_dr_policy.orders.estimated_rto
  backup {
    schedule       = "rate(1 hour)"
    retention_days = 14
  }
}
`,
			PlanOnly:           true,
			ExpectNonEmptyPlan: true,
		}},
	})
}
