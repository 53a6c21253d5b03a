package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
)

// The capacity reservation tests give the provider an endpoint that serves
// the CapacityReservation API moto lacks: the strict layer's with
// MERIDIAN_STRICT, else the testbed's EC2 capacity server in front of moto.
func capacityEndpoint(t *testing.T) string {
	t.Helper()
	acceptance(t)
	product, _, err := cloudbed.Capacity()
	if err != nil {
		t.Fatal(err)
	}
	return product
}

const capAddr = "meridian_capacity_reservation.test"

// capacityDemand is two weeks of hourly demand: 4 instances growing by 0.01
// an hour, ±1 over the day.
func capacityDemand() []float64 {
	var v []float64
	for t := range 24 * 14 {
		v = append(v, 4+0.01*float64(t)+math.Sin(2*math.Pi*(float64(t)+0.5)/24))
	}
	return v
}

type capacityConfig struct {
	name, image, horizon, types, extra string
	season                             string // demand.season; empty: the default
	values                             []float64
}

func (c capacityConfig) hcl(endpoint string) string {
	var vals []string
	for _, v := range c.values {
		vals = append(vals, strconv.FormatFloat(v, 'f', 4, 64))
	}
	season := ""
	if c.season != "" {
		season = fmt.Sprintf("season = %q", c.season)
	}
	return providerConfig(endpoint, `{ env = "acc" }`) + fmt.Sprintf(`
resource "meridian_capacity_reservation" "test" {
  name              = %q
  primary_region    = "us-east-1"
  secondary_region  = "us-west-2"
  instance_types    = %s
  image_id          = %q
  horizon           = %q
  batch             = 0.25
  failover_coverage = 0.5
  %s

  demand {
    values = [%s]
    start  = "2026-09-01T00:00:00Z"
    %s
  }

  tags = { team = "web" }
}
`, c.name, c.types, c.image, c.horizon, c.extra, strings.Join(vals, ", "), season)
}

// expectedPlan is what the blueprint implies for the configuration, from the
// same values that the HCL carries (rounded to 4 places).
func (c capacityConfig) expectedPlan(t *testing.T) blueprint.CapacityPlan {
	t.Helper()
	var vals []float64
	for _, v := range c.values {
		r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', 4, 64), 64)
		vals = append(vals, r)
	}
	fc := 0.5
	_, p, err := compile.Capacity(blueprint.Capacity{
		Name: c.name, PrimaryRegion: "us-east-1", SecondaryRegion: "us-west-2", InstanceTypes: []string{"m5.large", "m5.xlarge"},
		ImageID: c.image, Horizon: c.horizon, Batch: 0.25, FailoverCoverage: &fc,
		Demand: blueprint.Demand{Values: vals, Start: "2026-09-01T00:00:00Z"},
	}, blueprint.DefaultPrices(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// ec2Cloud reads EC2 (capacity reservations included) independently of the
// provider's drivers, from the endpoint the provider was given but without
// the strict layer's faults.
type ec2Cloud struct{ endpoint string }

func (c ec2Cloud) cfg(region string) aws.Config {
	endpoint := c.endpoint
	if cloudbed != nil && endpoint == cloudbed.Endpoint() {
		_, endpoint, _ = cloudbed.Capacity() // serves moto's EC2 too
	}
	return aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""), BaseEndpoint: aws.String(endpoint)}
}

func (c ec2Cloud) ec2(region string) *ec2.Client { return ec2.NewFromConfig(c.cfg(region)) }
func (c ec2Cloud) asg(region string) *autoscaling.Client {
	return autoscaling.NewFromConfig(c.cfg(region))
}

// image is an AMI that moto has in both regions.
func (c ec2Cloud) image(t *testing.T) string {
	t.Helper()
	seen := map[string]int{}
	for _, region := range []string{"us-east-1", "us-west-2"} {
		out, err := c.ec2(region).DescribeImages(context.Background(), &ec2.DescribeImagesInput{})
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range out.Images {
			seen[aws.ToString(im.ImageId)]++
		}
	}
	for id, n := range seen {
		if n == 2 {
			return id
		}
	}
	t.Fatal("moto has no AMI in both us-east-1 and us-west-2")
	return ""
}

func (c ec2Cloud) reservations(name, region string) ([]ec2types.CapacityReservation, error) {
	out, err := c.ec2(region).DescribeCapacityReservations(context.Background(), &ec2.DescribeCapacityReservationsInput{
		Filters: []ec2types.Filter{
			{Name: aws.String("tag:" + compile.TagResource), Values: []string{"meridian_capacity_reservation." + name}},
			{Name: aws.String("state"), Values: []string{"active"}},
		},
	})
	if err != nil {
		return nil, err
	}
	return out.CapacityReservations, nil
}

// checkCloud checks, in both regions, the reservation, the launch template
// that targets it and the group's numbers against the plan.
func (c ec2Cloud) checkCloud(name string, want blueprint.CapacityPlan, ids map[string]string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		for _, split := range []blueprint.RegionSplit{want.Primary, want.Secondary} {
			crs, err := c.reservations(name, split.Region)
			if err != nil {
				return err
			}
			if len(crs) != 1 {
				return fmt.Errorf("%s: %d active reservations, want 1", split.Region, len(crs))
			}
			cr := crs[0]
			id := aws.ToString(cr.CapacityReservationId)
			if n := aws.ToInt32(cr.TotalInstanceCount); int(n) != split.Reserved || cr.InstanceMatchCriteria != ec2types.InstanceMatchCriteriaTargeted ||
				aws.ToString(cr.InstanceType) != "m5.large" || aws.ToString(cr.AvailabilityZone) != split.Region+"a" {
				return fmt.Errorf("%s: reservation %s holds %d %s in %s (%s), want %d targeted m5.large", split.Region, id, n, aws.ToString(cr.InstanceType), aws.ToString(cr.AvailabilityZone), cr.InstanceMatchCriteria, split.Reserved)
			}
			tags := map[string]string{}
			for _, tg := range cr.Tags {
				tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
			}
			if tags["team"] != "web" || tags["env"] != "acc" || tags[compile.TagRegionRole] != split.Role {
				return fmt.Errorf("%s: reservation tags %v", split.Region, tags)
			}
			if prev, ok := ids[split.Region]; ok && prev != id {
				return fmt.Errorf("%s: reservation replaced (%s -> %s); a new forecast must modify it in place", split.Region, prev, id)
			}
			ids[split.Region] = id

			lts, err := c.ec2(split.Region).DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateName: aws.String("meridian-" + name), Versions: []string{"$Default"}})
			if err != nil {
				return fmt.Errorf("%s: launch template: %w", split.Region, err)
			}
			data := lts.LaunchTemplateVersions[0].LaunchTemplateData
			if s := data.CapacityReservationSpecification; s == nil || aws.ToString(s.CapacityReservationTarget.CapacityReservationId) != id {
				return fmt.Errorf("%s: launch template does not target reservation %s: %+v", split.Region, id, s)
			}

			groups, err := c.asg(split.Region).DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"meridian-" + name}})
			if err != nil || len(groups.AutoScalingGroups) != 1 {
				return fmt.Errorf("%s: group: %v", split.Region, err)
			}
			g := groups.AutoScalingGroups[0]
			dist := g.MixedInstancesPolicy.InstancesDistribution
			if int(aws.ToInt32(g.MinSize)) != split.MinSize || int(aws.ToInt32(g.MaxSize)) != split.MaxSize ||
				int(aws.ToInt32(dist.OnDemandBaseCapacity)) != split.Reserved || int(aws.ToInt32(dist.OnDemandPercentageAboveBaseCapacity)) != split.OnDemandPercentageAboveBase ||
				aws.ToString(dist.SpotAllocationStrategy) != "price-capacity-optimized" {
				return fmt.Errorf("%s: group min %d max %d base %d above %d%% (%s); want %+v", split.Region, aws.ToInt32(g.MinSize), aws.ToInt32(g.MaxSize),
					aws.ToInt32(dist.OnDemandBaseCapacity), aws.ToInt32(dist.OnDemandPercentageAboveBaseCapacity), aws.ToString(dist.SpotAllocationStrategy), split)
			}
			pols, err := c.asg(split.Region).DescribePolicies(ctx, &autoscaling.DescribePoliciesInput{AutoScalingGroupName: aws.String("meridian-" + name)})
			if err != nil || len(pols.ScalingPolicies) != 1 || aws.ToString(pols.ScalingPolicies[0].PolicyType) != "TargetTrackingScaling" {
				return fmt.Errorf("%s: target tracking policy: %v %+v", split.Region, err, pols)
			}
			actions, err := c.asg(split.Region).DescribeScheduledActions(ctx, &autoscaling.DescribeScheduledActionsInput{AutoScalingGroupName: aws.String("meridian-" + name)})
			if err != nil {
				return err
			}
			wantActions := 0
			if split.Role == "primary" {
				wantActions = len(want.Scheduled)
			}
			if len(actions.ScheduledUpdateGroupActions) != wantActions {
				return fmt.Errorf("%s: %d scheduled actions, want %d", split.Region, len(actions.ScheduledUpdateGroupActions), wantActions)
			}
		}
		return nil
	}
}

func splitChecks(p blueprint.CapacityPlan) resource.TestCheckFunc {
	var checks []resource.TestCheckFunc
	for i, s := range []blueprint.RegionSplit{p.Primary, p.Secondary} {
		prefix := fmt.Sprintf("split.%d.", i)
		checks = append(checks,
			resource.TestCheckResourceAttr(capAddr, prefix+"region", s.Region),
			resource.TestCheckResourceAttr(capAddr, prefix+"reserved", strconv.Itoa(s.Reserved)),
			resource.TestCheckResourceAttr(capAddr, prefix+"max_size", strconv.Itoa(s.MaxSize)),
			resource.TestCheckResourceAttr(capAddr, prefix+"on_demand_percentage_above_base", strconv.Itoa(s.OnDemandPercentageAboveBase)),
		)
	}
	checks = append(checks,
		resource.TestCheckResourceAttr(capAddr, "price_table_date", "2026-11-01"),
		resource.TestCheckResourceAttr(capAddr, "forecast.history_points", "336"),
		resource.TestCheckResourceAttrSet(capAddr, "estimated_monthly_cost"),
		resource.TestCheckResourceAttrSet(capAddr, "right_sizing.finding"),
		resource.TestCheckResourceAttr(capAddr, "primitives.#", "7"),
	)
	return resource.ComposeAggregateTestCheckFunc(checks...)
}

func TestAccCapacityReservation_lifecycle(t *testing.T) {
	endpoint := capacityEndpoint(t)
	cloud := ec2Cloud{endpoint}
	base := capacityConfig{name: "acc-cap", image: cloud.image(t), horizon: "7d", types: `["m5.large", "m5.xlarge"]`, values: capacityDemand()}
	longer := base
	longer.horizon = "28d"
	p7, p28 := base.expectedPlan(t), longer.expectedPlan(t)
	if p28.Primary.Reserved <= p7.Primary.Reserved {
		t.Fatalf("test data: a longer horizon of growing demand must reserve more (%d vs %d)", p28.Primary.Reserved, p7.Primary.Reserved)
	}
	t.Logf("7d: primary %+v secondary %+v cost %s vs %s; 28d: primary %+v", p7.Primary, p7.Secondary, p7.MonthlyCost, p7.AllOnDemand, p28.Primary)

	// An instance type the price table knows but the zone does not offer.
	dir := t.TempDir()
	prices := blueprint.DefaultPrices()
	for _, region := range []string{"us-east-1", "us-west-2"} {
		prices.Prices[region]["x9.large"] = blueprint.TypePrice{VCPUs: 2, OnDemand: 0.1, Reserved: 0.06, Spot: 0.03}
	}
	priceFile := filepath.Join(dir, "prices.json")
	if err := writeJSON(priceFile, prices); err != nil {
		t.Fatal(err)
	}
	notOffered := base
	notOffered.types = `["m5.large", "x9.large"]`
	notOffered.extra = fmt.Sprintf("price_table = %q", priceFile)
	rtoTooShort := base
	rtoTooShort.extra = `rto = "45m"`
	short := base
	short.values = base.values[:30]
	// State written when the season's default was 24h, then the default
	// (auto): an update in place, not a replacement of the reservations.
	daily := longer
	daily.season = "24h"
	// The interval's coverage is an argument of the resource too.
	narrower := longer
	narrower.extra = "interval = 0.8"

	ids := map[string]string{}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		CheckDestroy: func(*terraform.State) error {
			for _, region := range []string{"us-east-1", "us-west-2"} {
				crs, err := cloud.reservations("acc-cap", region)
				if err != nil {
					return err
				}
				if len(crs) != 0 {
					return fmt.Errorf("%s: %d reservations still active after destroy", region, len(crs))
				}
				groups, err := cloud.asg(region).DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"meridian-acc-cap"}})
				if err != nil || len(groups.AutoScalingGroups) != 0 {
					return fmt.Errorf("%s: group left after destroy: %v", region, err)
				}
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				Config:      short.hcl(endpoint),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Too little demand history.*30 points.*needs at least 48`),
			},
			{
				Config:      rtoTooShort.hcl(endpoint),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Failover coverage below what the RTO needs.*needs at least 1`),
			},
			{
				Config:      notOffered.hcl(endpoint),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)Instance type not offered.*x9\.large\s+not\s+offered\s+in\s+any\s+available\s+zone\s+of\s+us-east-1`),
			},
			{
				Config: base.hcl(endpoint),
				Check:  resource.ComposeAggregateTestCheckFunc(splitChecks(p7), cloud.checkCloud("acc-cap", p7, ids)),
			},
			{
				Config:           base.hcl(endpoint),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				ResourceName:      capAddr,
				ImportState:       true,
				ImportStateId:     "us-east-1/acc-cap",
				ImportStateVerify: true,
				// The history and the plan computed from it are not in the cloud.
				ImportStateVerifyIgnore: []string{"demand", "forecast", "split", "scheduled_scaling", "estimated_monthly_cost", "all_on_demand_monthly_cost", "price_table_date", "right_sizing"},
			},
			{
				Config: longer.hcl(endpoint),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(capAddr, plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(splitChecks(p28), cloud.checkCloud("acc-cap", p28, ids),
					resource.TestCheckResourceAttr(capAddr, "interval", "0.95"), resource.TestCheckResourceAttr(capAddr, "forecast.interval_coverage", "0.95")),
			},
			{
				Config: daily.hcl(endpoint),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(capAddr, plancheck.ResourceActionUpdate),
				}},
				Check: resource.TestCheckResourceAttr(capAddr, "demand.season", "24h"),
			},
			{
				Config: longer.hcl(endpoint),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(capAddr, plancheck.ResourceActionUpdate),
				}},
				Check: resource.TestCheckResourceAttr(capAddr, "demand.season", "auto"),
			},
			{
				Config: narrower.hcl(endpoint),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(capAddr, plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(resource.TestCheckResourceAttr(capAddr, "interval", "0.8"),
					resource.TestCheckResourceAttr(capAddr, "forecast.interval_coverage", "0.8")),
			},
		},
	})
}

func writeJSON(file string, v blueprint.PriceTable) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(file, b, 0o600)
}
