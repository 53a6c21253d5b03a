package compile

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// dailyCycle is two weeks of hourly demand, 40 ± 10 instances, crossing its
// middle at half past the hour so that the peak hours are unambiguous.
func dailyCycle(scale float64) []float64 {
	var v []float64
	for t := range 24 * 14 {
		v = append(v, scale*(40+10*math.Sin(2*math.Pi*(float64(t)+0.5)/24)))
	}
	return v
}

func half() *float64 { v := 0.5; return &v }

func capacityBlueprint() blueprint.Capacity {
	return blueprint.Capacity{
		Name: "web", PrimaryRegion: "us-east-1", SecondaryRegion: "us-west-2",
		InstanceTypes: []string{"m5.large", "m5.xlarge"}, ImageID: "ami-12345678",
		Demand: blueprint.Demand{Values: dailyCycle(1), Start: "2026-09-01T00:00:00Z"},
		Batch:  0.25, FailoverCoverage: half(), Horizon: "7d",
		Tags: map[string]string{"team": "web"},
	}
}

func capacityByName(g primitive.Graph) map[string]primitive.Primitive {
	out := map[string]primitive.Primitive{}
	for _, p := range g.Primitives {
		out[p.Name] = p
	}
	return out
}

func TestCapacitySplit(t *testing.T) {
	g, plan, err := Capacity(capacityBlueprint(), blueprint.DefaultPrices(), map[string]string{"env": "prod"})
	if err != nil {
		t.Fatal(err)
	}
	// Over a week the demand is a sine: its median is the highest value
	// below 40 (38.70), its 95th percentile the top of the cycle (49.91).
	// Three quarters is interactive: 29.02 -> 30 reserved. The maximum is
	// bought from the top of the 95% interval (49.91: the history is
	// noiseless) plus 10% headroom, 54.91: three quarters 41.18 -> 42 (12
	// on-demand burst), a quarter 13.73 -> 14 on spot.
	if math.Abs(plan.Baseline-38.695) > 0.01 || math.Abs(plan.Peak-49.914) > 0.01 {
		t.Errorf("baseline %.3f peak %.3f, want 38.695 and 49.914", plan.Baseline, plan.Peak)
	}
	want := blueprint.RegionSplit{Region: "us-east-1", Role: "primary", Reserved: 30, OnDemandBurst: 12, SpotPeak: 14, MinSize: 30, MaxSize: 56, OnDemandPercentageAboveBase: 46}
	got := plan.Primary
	got.MonthlyCost, got.AllOnDemand = 0, 0
	if got != want {
		t.Errorf("primary split\n got %+v\nwant %+v", got, want)
	}
	if s := plan.Secondary; s.Reserved != 15 || s.MinSize != 0 || s.MaxSize != 56 || s.OnDemandBurst != 27 || s.OnDemandPercentageAboveBase != 66 {
		t.Errorf("secondary split %+v, want 15 reserved (half of 30), min 0, max 56, 27 on-demand above base (66%%)", s)
	}
	if !(plan.MonthlyCost > 0 && plan.MonthlyCost < plan.AllOnDemand) || plan.PriceDate != "2026-11-01" {
		t.Errorf("cost %s vs all on-demand %s (prices of %s): the split must be cheaper", plan.MonthlyCost, plan.AllOnDemand, plan.PriceDate)
	}
	// 730 h * 15 * (0.0595 reserved vs 0.096 on-demand) in us-west-2.
	if plan.Secondary.MonthlyCost != blueprint.Cents(730*15*0.0595) || plan.Secondary.AllOnDemand != blueprint.Cents(730*15*0.096) {
		t.Errorf("secondary cost %s / %s", plan.Secondary.MonthlyCost, plan.Secondary.AllOnDemand)
	}
	// Demand rises through 40 at 00:30 and falls through it at 12:30.
	if len(plan.Scheduled) != 2 || plan.Scheduled[0] != (blueprint.ScheduledScale{Name: "peak", Hour: 0, MinSize: 38}) || plan.Scheduled[1] != (blueprint.ScheduledScale{Name: "off-peak", Hour: 12, MinSize: 30}) {
		t.Errorf("scheduled %+v", plan.Scheduled)
	}
	if plan.ReviewDue != "2026-10-15T00:00:00Z" {
		t.Errorf("review due %s, want the end of the history plus 30 days", plan.ReviewDue)
	}
	// The interactive history runs 22.5-37.5 around 30 reserved: used 92% on average.
	if plan.Finding != "ok: the reservation of 30 would have been 92% used over the history" {
		t.Errorf("finding %q", plan.Finding)
	}

	ps := capacityByName(g)
	if len(ps) != 7 {
		t.Fatalf("%d primitives, want 7: %v", len(ps), ps)
	}
	// The manifest holds no history, so that it fits a standard parameter (4 KB).
	m := ps[Manifest]
	value, _ := json.Marshal(m.Properties["value"])
	if m.Region != "us-east-1" || m.Properties["name"] != "/meridian/capacity_reservation/web" || len(value) > 4096 || strings.Contains(string(value), `"values"`) {
		t.Errorf("manifest in %s named %v, %d bytes: %s", m.Region, m.Properties["name"], len(value), value)
	}
	cr := ps["aws_ec2_capacity_reservation.primary"]
	if cr.Region != "us-east-1" || cr.Properties["instance_count"] != 30.0 || cr.Properties["availability_zone"] != "us-east-1a" || cr.Properties["instance_match_criteria"] != "targeted" {
		t.Errorf("primary reservation %+v", cr)
	}
	if cr.Tags["team"] != "web" || cr.Tags["env"] != "prod" || cr.Tags[TagResource] != "meridian_capacity_reservation.web" || cr.Tags[TagRegionRole] != "primary" {
		t.Errorf("reservation tags %v", cr.Tags)
	}
	if n := ps["aws_ec2_capacity_reservation.secondary"].Properties["instance_count"]; n != 15.0 {
		t.Errorf("secondary reservation count %v", n)
	}
	lt := ps["aws_launch_template.primary"]
	if lt.Properties["capacity_reservation_id"] != "${aws_ec2_capacity_reservation.primary.id}" {
		t.Errorf("launch template does not target the reservation: %v", lt.Properties)
	}
	asg := ps["aws_autoscaling_group.primary"].Properties
	if asg["on_demand_base_capacity"] != 30.0 || asg["on_demand_percentage_above_base_capacity"] != 46.0 || asg["max_size"] != 56.0 ||
		asg["launch_template_id"] != "${aws_launch_template.primary.id}" || len(asg["scheduled_actions"].([]any)) != 2 {
		t.Errorf("primary group %v", asg)
	}
	if sec := ps["aws_autoscaling_group.secondary"].Properties; len(sec["scheduled_actions"].([]any)) != 0 || sec["min_size"] != 0.0 {
		t.Errorf("secondary group %v", sec)
	}
	if err := g.Check(); err != nil {
		t.Error(err)
	}
}

func TestCapacityVariants(t *testing.T) {
	// vCPU demand of m5.large (2 vCPU) instances gives the same split.
	v := capacityBlueprint()
	v.Unit, v.Demand.Values = blueprint.UnitVCPU, dailyCycle(2)
	_, plan, err := Capacity(v, blueprint.DefaultPrices(), nil)
	if err != nil || plan.Primary.Reserved != 30 || plan.Primary.MaxSize != 56 {
		t.Errorf("vcpu: %v %+v", err, plan.Primary)
	}

	// No demand: nothing to reserve, so no reservation and a template that targets none.
	z := capacityBlueprint()
	z.Demand.Values = make([]float64, 48)
	g, plan, err := Capacity(z, blueprint.DefaultPrices(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ps := capacityByName(g)
	if _, ok := ps["aws_ec2_capacity_reservation.primary"]; ok || plan.Primary.Reserved != 0 || ps["aws_launch_template.primary"].Properties["capacity_reservation_id"] != "" {
		t.Errorf("zero demand: %+v %v", plan.Primary, ps)
	}

	// A longer horizon changes the numbers, not the primitives.
	h := capacityBlueprint()
	h.Demand.Values = nil
	for t := range 24 * 14 {
		h.Demand.Values = append(h.Demand.Values, 40+0.05*float64(t)+10*math.Sin(2*math.Pi*(float64(t)+0.5)/24))
	}
	g7, p7, err := Capacity(h, blueprint.DefaultPrices(), nil)
	if err != nil {
		t.Fatal(err)
	}
	h.Horizon = "28d"
	g28, p28, err := Capacity(h, blueprint.DefaultPrices(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p28.Primary.Reserved <= p7.Primary.Reserved || p28.Growth <= p7.Growth {
		t.Errorf("growing demand over 28 days: reserved %d growth %.3f; over 7 days %d %.3f", p28.Primary.Reserved, p28.Growth, p7.Primary.Reserved, p7.Growth)
	}
	if len(g7.Primitives) != len(g28.Primitives) {
		t.Errorf("horizon changed the set of primitives")
	}
}

func TestCapacityProblems(t *testing.T) {
	// An RTO the coverage meets is no problem: 2h needs half, which is what the blueprint reserves.
	ok := capacityBlueprint()
	ok.RTO = "2h"
	if _, _, err := Capacity(ok, blueprint.DefaultPrices(), nil); err != nil {
		t.Errorf("rto 2h with coverage 0.5: %v", err)
	}
	for name, tc := range map[string]struct {
		edit      func(*blueprint.Capacity)
		path, msg string
	}{
		"too little history": {func(c *blueprint.Capacity) { c.Demand.Values = c.Demand.Values[:30] }, "demand", "30 points, and a forecast with a seasonal period of 24 steps needs at least 48"},
		"weekly season":      {func(c *blueprint.Capacity) { c.Demand.Season, c.Demand.Values = "168h", c.Demand.Values[:300] }, "demand", "needs at least 336 (two full cycles"},
		"NaN":                {func(c *blueprint.Capacity) { c.Demand.Values[5] = math.NaN() }, "demand", "value 5 is NaN"},
		"no price":           {func(c *blueprint.Capacity) { c.InstanceTypes = []string{"m5.24xlarge"} }, "instance_types", "no price for m5.24xlarge in us-east-1"},
		"unknown type":       {func(c *blueprint.Capacity) { c.InstanceTypes = []string{"z9.huge"} }, "instance_types", `"z9.huge" is not an EC2 instance type`},
		"peak below":         {func(c *blueprint.Capacity) { c.PeakPercentile = 40 }, "peak_percentile", "must be above baseline_percentile 50"},
		"same region":        {func(c *blueprint.Capacity) { c.SecondaryRegion = "us-east-1" }, "secondary_region", "must differ"},
		"batch":              {func(c *blueprint.Capacity) { c.Batch = 1 }, "batch", "below 1"},
		"coverage":           {func(c *blueprint.Capacity) { v := 1.5; c.FailoverCoverage = &v }, "failover_coverage", "between 0 and 1"},
		"horizon":            {func(c *blueprint.Capacity) { c.Horizon = "soon" }, "horizon", "not a positive duration"},
		"season vs step":     {func(c *blueprint.Capacity) { c.Demand.Season = "90m" }, "demand.season", "not a multiple of step"},
		"no image":           {func(c *blueprint.Capacity) { c.ImageID = "" }, "image_id", "AMI"},
		"rto of 30m":         {func(c *blueprint.Capacity) { c.RTO = "30m" }, "failover_coverage", "failover_coverage 0.5 reserves too little in us-west-2 for an RTO of 30m: it needs at least 1"},
		"rto of 2h":          {func(c *blueprint.Capacity) { c.RTO = "2h"; v := 0.25; c.FailoverCoverage = &v }, "failover_coverage", "needs at least 0.5"},
		"rto unparsable":     {func(c *blueprint.Capacity) { c.RTO = "fast" }, "rto", "not a positive duration"},
	} {
		c := capacityBlueprint()
		c.Demand.Values = dailyCycle(1)
		tc.edit(&c)
		_, _, err := Capacity(c, blueprint.DefaultPrices(), nil)
		p, ok := err.(blueprint.Problem)
		if !ok || p.Paths[0] != tc.path || !strings.Contains(p.Detail, tc.msg) {
			t.Errorf("%s: error %v, want a problem at %s containing %q", name, err, tc.path, tc.msg)
		}
	}
}

func TestCapacityTable(t *testing.T) {
	_, plan, err := Capacity(capacityBlueprint(), blueprint.DefaultPrices(), nil)
	if err != nil {
		t.Fatal(err)
	}
	table := plan.Table()
	lines := strings.Split(table, "\n")
	if !strings.Contains(lines[0], "reserved") || !strings.Contains(lines[1], "us-east-1") || !strings.Contains(lines[2], "us-west-2") || !strings.HasPrefix(strings.TrimSpace(lines[3]), "total") {
		t.Errorf("table:\n%s", table)
	}
	for _, want := range []string{"     30 ", "prices of 2026-11-01", "next review 2026-10-15T00:00:00Z", "% less)"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
}

// TestCapacityZones: reservations and groups go to the zones chosen at plan
// time, one per region, not to region+"a".
func TestCapacityZones(t *testing.T) {
	c := capacityBlueprint()
	c.Zones = map[string]string{c.PrimaryRegion: c.PrimaryRegion + "c", c.SecondaryRegion: c.SecondaryRegion + "b"}
	g, _, err := Capacity(c, blueprint.DefaultPrices(), nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, p := range g.Primitives {
		want := c.Zones[p.Region]
		switch p.Type {
		case primitive.EC2CapacityReservation:
			seen++
			if p.Properties["availability_zone"] != want {
				t.Errorf("%s: availability_zone %v, want %s", p.Name, p.Properties["availability_zone"], want)
			}
		case primitive.AutoScalingGroup:
			seen++
			if zs, _ := p.Properties["availability_zones"].([]any); len(zs) != 1 || zs[0] != want {
				t.Errorf("%s: availability_zones %v, want [%s]", p.Name, p.Properties["availability_zones"], want)
			}
		}
	}
	if seen < 3 {
		t.Fatalf("%d reservations and groups compiled, want at least 3", seen)
	}
}

// When growth is expected the group must reach the forecast's own mean at
// every step: the maximum comes from the interval's upper bound plus the
// headroom, never from a percentile of point forecasts (issue 21: the
// platform example's max of 34 stayed under a mean climbing to 34.5).
func TestCapacityMaxFromUpperBound(t *testing.T) {
	c := capacityBlueprint()
	c.Batch, c.Horizon = 0, "14d"
	c.Demand.Values = nil
	for i := range 24 * 14 {
		// Growth of 40% over the history, a daily cycle and some noise.
		c.Demand.Values = append(c.Demand.Values, 20+0.025*float64(i)+4*math.Sin(2*math.Pi*float64(i)/24)+0.5*math.Sin(float64(i)*1.7))
	}
	_, plan, err := Capacity(c, blueprint.DefaultPrices(), nil)
	if err != nil {
		t.Fatal(err)
	}
	top := 0.0
	for _, p := range plan.Forecast.Points {
		top = math.Max(top, p.Upper)
		if float64(plan.Primary.MaxSize) < p.Mean {
			t.Fatalf("max %d below the forecast mean %.2f at %s", plan.Primary.MaxSize, p.Mean, p.Time)
		}
	}
	if want := math.Ceil(top*(1+blueprint.Headroom) - 1e-9); float64(plan.Primary.MaxSize) != want || plan.Interval != 0.95 {
		t.Errorf("max %d at interval %v, want %v: the 95%% upper bound %.2f plus 10%% headroom", plan.Primary.MaxSize, plan.Interval, want, top)
	}
	if len(plan.OverCapacity) == 0 || plan.OverCapacity[0].Month != "2026-09" {
		t.Fatalf("hours over capacity %+v, want one row per calendar month from 2026-09", plan.OverCapacity)
	}
	var hours float64
	for _, m := range plan.OverCapacity {
		hours += m.Hours
	}
	if hours < 0 || hours > 0.05*14*24 {
		t.Errorf("expected %.1f hours over a max sized above the 95%% bound, want under 5%% of the horizon", hours)
	}
	table := plan.Table()
	for _, want := range []string{"model: ", "back-test: MASE", "95% interval held", "plus 10% headroom", "expected hours over max in 2026-09"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
}
