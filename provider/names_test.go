package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// Diagnostics name a resource by its type and its name attribute, quoted,
// never as a made-up address: terraform itself prints the real address
// (meridian_region_pair.web) and the line. An empty name is an error on name.
func TestAccRegionPair_namesInDiagnostics(t *testing.T) {
	endpoint := acceptance(t)
	pair := func(name string) string {
		return providerConfig(endpoint, "{}") + `
resource "meridian_region_pair" "web" {
  name             = "` + name + `"
  primary_region   = "us-east-1"
  secondary_region = "us-east-1"
  object_store { bucket_prefix = "acc-names" }
}`
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{
			{
				Config:      pair("storefront-web"),
				PlanOnly:    true,
				ExpectError: wrapped(`(?s)Primary and secondary region are the same.*with meridian_region_pair.web,.*meridian_region_pair "storefront-web": Both are "us-east-1"`),
			},
			{
				Config:      pair(""),
				PlanOnly:    true,
				ExpectError: wrapped(`(?s)Missing name.*with meridian_region_pair.web,.*name = "".*meridian_region_pair \(empty name\): name is empty`),
			},
		},
	})
}
