package provider

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

// The same inputs cost the same in meridian_capacity_plan (its attribute
// and its table) and in the reservation (its total and its split), to the
// cent, and the total is the sum of the split. At this demand the secondary
// reserves 9 m5.large in us-west-2: 730 h * 9 * 0.0595 = 390.915, which the
// table used to print as 390.91 and the split as 390.92.
func TestAccCapacity_sameMoneyEverywhere(t *testing.T) {
	endpoint := capacityEndpoint(t)
	var demand []float64
	for _, v := range capacityDemand() {
		demand = append(demand, 2.7*v)
	}
	c := capacityConfig{name: "acc-cap-money", image: ec2Cloud{endpoint}.image(t), horizon: "7d", types: `["m5.large", "m5.xlarge"]`, values: demand}
	var vals []string
	for _, v := range c.values {
		vals = append(vals, strconv.FormatFloat(v, 'f', 4, 64))
	}
	config := c.hcl(endpoint) + `
data "meridian_capacity_plan" "same" {
  primary_region    = "us-east-1"
  secondary_region  = "us-west-2"
  instance_types    = ["m5.large", "m5.xlarge"]
  horizon           = "7d"
  batch             = 0.25
  failover_coverage = 0.5
  demand {
    values = [` + strings.Join(vals, ", ") + `]
    start  = "2026-09-01T00:00:00Z"
  }
}
`
	cents := func(attrs map[string]string, key string) (int64, error) {
		v, err := strconv.ParseFloat(attrs[key], 64)
		if err != nil {
			return 0, fmt.Errorf("%s = %q: %v", key, attrs[key], err)
		}
		return int64(math.Round(v * 100)), nil
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{{
			Config: config,
			Check: func(s *terraform.State) error {
				res := s.RootModule().Resources[capAddr].Primary.Attributes
				plan := s.RootModule().Resources["data.meridian_capacity_plan.same"].Primary.Attributes
				total, err1 := cents(res, "estimated_monthly_cost")
				primary, err2 := cents(res, "split.0.monthly_cost")
				secondary, err3 := cents(res, "split.1.monthly_cost")
				planned, err4 := cents(plan, "estimated_monthly_cost")
				for _, err := range []error{err1, err2, err3, err4} {
					if err != nil {
						return err
					}
				}
				if secondary != 39092 {
					return fmt.Errorf("test data: the secondary costs %d cents, want 39092 (9 reserved)", secondary)
				}
				if total != primary+secondary || planned != total {
					return fmt.Errorf("reservation total %d = split %d + %d? capacity plan %d (cents)", total, primary, secondary, planned)
				}
				money := func(c int64) string { return fmt.Sprintf("%d.%02d", c/100, c%100) }
				for _, want := range []string{money(primary), money(secondary), money(total)} {
					if !strings.Contains(plan["table"], " "+want+" ") {
						return fmt.Errorf("the capacity plan's table lacks %s:\n%s", want, plan["table"])
					}
				}
				return nil
			},
		}},
	})
}
