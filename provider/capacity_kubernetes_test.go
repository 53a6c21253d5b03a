package provider

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// The kubernetes block is checked at plan time: it needs a cluster for both
// regions in the provider's kubernetes block, and a namespace name. The
// objects themselves are tested against real clusters in test/ (make e2e).
func TestAccCapacityReservation_kubernetesPlanRules(t *testing.T) {
	endpoint := capacityEndpoint(t)
	base := capacityConfig{name: "acc-cap-k8s", image: ec2Cloud{endpoint}.image(t), horizon: "7d", types: `["m5.large"]`, values: capacityDemand()}
	noCluster := base
	noCluster.extra = `kubernetes { namespace = "web" }`
	badNamespace := base
	badNamespace.extra = `kubernetes { namespace = "Web_Jobs" }`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{
			{
				Config:      noCluster.hcl(endpoint),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)No cluster for the region.*no\s+cluster\s+with\s+region\s+=\s+"us-east-1"`),
			},
			{
				Config:      badNamespace.hcl(endpoint),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Invalid namespace.*"Web_Jobs"\s+is\s+not\s+a\s+Kubernetes\s+namespace`),
			},
		},
	})
}
