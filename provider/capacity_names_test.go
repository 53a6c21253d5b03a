package provider

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// A misspelt instance type stops the plan with the closest names, not with
// advice to price a type that does not exist.
func TestAccCapacityReservation_misspeltInstanceType(t *testing.T) {
	endpoint := acceptance(t)
	c := capacityConfig{name: "acc-cap-typo", image: "ami-12345678", horizon: "7d", types: `["m5.lrage"]`, values: capacityDemand()}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{{
			Config:      c.hcl(endpoint),
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`(?s)Unknown instance type.*"m5.lrage"\s+is\s+not\s+an\s+EC2\s+instance\s+type.*Did\s+you\s+mean\s+m5.large`),
		}},
	})
}

// A real type the price table lacks and no zone of the region offers (moto,
// as AWS, has no hpc6a.48xlarge in us-east-1) is reported as not offered at
// once, next to the missing price, so nobody writes a price for a type they
// cannot have.
func TestAccCapacityReservation_notOfferedBeforePrice(t *testing.T) {
	endpoint := capacityEndpoint(t)
	c := capacityConfig{name: "acc-cap-hpc", image: "ami-12345678", horizon: "7d", types: `["hpc6a.48xlarge"]`, values: capacityDemand()}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{{
			Config:      c.hcl(endpoint),
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(`(?s)Instance type not offered.*hpc6a.48xlarge\s+not\s+offered\s+in\s+any\s+available\s+zone\s+of\s+us-east-1`),
		}},
	})
}
