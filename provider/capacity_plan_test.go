package provider

import (
	"context"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwschemas "github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
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
					resource.TestCheckResourceAttr("data.meridian_capacity_plan.web", "estimated_monthly_cost", strconv.FormatFloat(want.MonthlyCost.Float(), 'f', -1, 64)),
					resource.TestMatchResourceAttr("data.meridian_capacity_plan.web", "table", regexp.MustCompile(`(?s)us-east-1\s+primary\s+`+strconv.Itoa(want.Primary.Reserved)+`\s.*us-west-2\s+secondary\s+`+strconv.Itoa(want.Secondary.Reserved)+`\s.*prices of 2026-11-01`)),
					// The per-step forecast with its interval, and the model the back-test chose.
					resource.TestCheckResourceAttr("data.meridian_capacity_plan.web", "forecast.#", "168"),
					resource.TestCheckResourceAttr("data.meridian_capacity_plan.web", "forecast.0.time", "2026-09-15T00:00:00Z"),
					resource.TestMatchResourceAttr("data.meridian_capacity_plan.web", "model", regexp.MustCompile(`^(regression|holt-winters).*: .*(back-test|MASE)`)),
					resource.TestMatchResourceAttr("data.meridian_capacity_plan.web", "table", regexp.MustCompile(`95% interval held \d+% of held-out values`)),
					func(st *terraform.State) error {
						a := st.RootModule().Resources["data.meridian_capacity_plan.web"].Primary.Attributes
						for i := range 168 {
							lo, _ := strconv.ParseFloat(a[fmt.Sprintf("forecast.%d.lower", i)], 64)
							mu, _ := strconv.ParseFloat(a[fmt.Sprintf("forecast.%d.mean", i)], 64)
							hi, _ := strconv.ParseFloat(a[fmt.Sprintf("forecast.%d.upper", i)], 64)
							if !(lo <= mu && mu <= hi) {
								return fmt.Errorf("forecast step %d: mean %v outside [%v, %v]", i, mu, lo, hi)
							}
						}
						return nil
					},
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

func TestAccCapacityPlan_cloudWatch(t *testing.T) {
	endpoint := acceptance(t)
	ctx := context.Background()
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	values := capacityDemand()[:72]
	cw := cloudwatch.NewFromConfig(ec2Cloud{endpoint}.cfg("us-east-1"), func(o *cloudwatch.Options) {
		o.Protocol = awsquery.New(cwschemas.GraniteServiceVersion20100801)
	})
	for i := 0; i < len(values); i += 20 {
		var data []cwtypes.MetricDatum
		for j := i; j < min(i+20, len(values)); j++ {
			data = append(data, cwtypes.MetricDatum{
				MetricName: aws.String("InstancesInUse"), Value: aws.Float64(values[j]), Timestamp: aws.Time(start.Add(time.Duration(j) * time.Hour)),
				Dimensions: []cwtypes.Dimension{{Name: aws.String("Service"), Value: aws.String("acc-cw")}},
			})
		}
		if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Meridian/Acc"), MetricData: data}); err != nil {
			t.Fatal(err)
		}
	}
	fc := 0.5
	_, want, err := compile.Capacity(blueprint.Capacity{
		Name: "plan", PrimaryRegion: "us-east-1", SecondaryRegion: "us-west-2", InstanceTypes: []string{"m5.large"}, ImageID: "x",
		Horizon: "7d", Batch: 0.25, FailoverCoverage: &fc, Demand: blueprint.Demand{Values: values, Start: start.Format(time.RFC3339)},
	}, blueprint.DefaultPrices(), nil)
	if err != nil {
		t.Fatal(err)
	}
	config := func(end string) string {
		return providerConfig(endpoint, "{}") + fmt.Sprintf(`
data "meridian_capacity_plan" "cw" {
  primary_region    = "us-east-1"
  secondary_region  = "us-west-2"
  instance_types    = ["m5.large"]
  horizon           = "7d"
  batch             = 0.25
  failover_coverage = 0.5

  demand {
    cloudwatch {
      namespace   = "Meridian/Acc"
      metric_name = "InstancesInUse"
      dimensions  = { Service = "acc-cw" }
      start_time  = "2026-11-01T00:00:00Z"
      end_time    = %q
    }
  }
}
`, end)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{
			{
				// Three hours past the last datapoint: a gap, named.
				Config:      config("2026-11-04T03:00:00Z"),
				ExpectError: regexp.MustCompile(`(?s)no\s+Average\s+datapoint\s+for\s+3\s+of.*first\s+at\s+2026-11-04T00:00:00Z`),
			},
			{
				Config: config("2026-11-04T00:00:00Z"),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("data.meridian_capacity_plan.cw", "reserved", strconv.Itoa(want.Primary.Reserved)),
					resource.TestCheckResourceAttr("data.meridian_capacity_plan.cw", "estimated_monthly_cost", strconv.FormatFloat(want.MonthlyCost.Float(), 'f', -1, 64)),
				),
			},
		},
	})
}
