package provider

import (
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

func capacityPlanConfig(endpoint, chart string, values []float64) string {
	var vals []string
	for _, v := range values {
		vals = append(vals, strconv.FormatFloat(v, 'f', 4, 64))
	}
	return providerConfig(endpoint, "{}") + fmt.Sprintf(`
data "meridian_capacity_plan" "web" {
  primary_region    = "us-east-1"
  secondary_region  = "us-west-2"
  instance_types    = ["m5.large", "m5.xlarge"]
  horizon           = "7d"
  batch             = 0.25
  failover_coverage = 0.5
  chart_file        = %q

  demand {
    values = [%s]
    start  = "2026-09-01T00:00:00Z"
  }
}
`, chart, strings.Join(vals, ", "))
}

func TestAccCapacityPlan_tableAndChart(t *testing.T) {
	endpoint := acceptance(t)
	chart := filepath.Join(t.TempDir(), "capacity.svg")
	want := capacityConfig{name: "plan", image: "not-deployed", horizon: "7d", values: capacityDemand()}.expectedPlan(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{
			{
				Config:      capacityPlanConfig(endpoint, chart, capacityDemand()[:40]),
				ExpectError: regexp.MustCompile(`(?s)Too little demand history.*40 points`),
			},
			{
				Config: capacityPlanConfig(endpoint, chart, capacityDemand()),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("data.meridian_capacity_plan.web", "reserved", strconv.Itoa(want.Primary.Reserved)),
					resource.TestCheckResourceAttr("data.meridian_capacity_plan.web", "estimated_monthly_cost", strconv.FormatFloat(round(want.MonthlyCost, 2), 'f', -1, 64)),
					resource.TestMatchResourceAttr("data.meridian_capacity_plan.web", "table", regexp.MustCompile(`(?s)us-east-1\s+primary\s+`+strconv.Itoa(want.Primary.Reserved)+`\s.*us-west-2\s+secondary\s+`+strconv.Itoa(want.Secondary.Reserved)+`\s.*prices of 2026-11-01`)),
					func(*terraform.State) error {
						b, err := os.ReadFile(chart)
						if err != nil {
							return err
						}
						var doc struct {
							Polylines []struct{} `xml:"polyline"`
						}
						if err := xml.Unmarshal(b, &doc); err != nil || len(doc.Polylines) != 2 {
							return fmt.Errorf("chart file is not the SVG with history and forecast: %v, %d polylines", err, len(doc.Polylines))
						}
						return nil
					},
				),
			},
		},
	})
}
