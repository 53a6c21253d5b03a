package blueprint

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/forecast"
)

// Capacity is capacity planned from a demand forecast: reservations for the
// steady-state baseline, on-demand for the burst, spot for batch, and
// reservations in the failover region too, because a failover region without
// reserved capacity fails on the day it is needed.
type Capacity struct {
	Name            string `json:"name,omitempty"`
	PrimaryRegion   string `json:"primary_region,omitempty"`
	SecondaryRegion string `json:"secondary_region,omitempty"`
	// InstanceTypes are in order of preference; the first is reserved.
	InstanceTypes []string `json:"instance_types,omitempty"`
	ImageID       string   `json:"image_id,omitempty"`
	// Unit is what the demand counts: "instances" or "vcpu".
	Unit   string `json:"unit,omitempty"`
	Demand Demand `json:"demand"`
	// Horizon and ReviewInterval are durations such as "30d", "4w" or "720h".
	Horizon            string  `json:"horizon,omitempty"`
	BaselinePercentile float64 `json:"baseline_percentile,omitempty"`
	PeakPercentile     float64 `json:"peak_percentile,omitempty"`
	// Interval is the coverage of the forecast's prediction intervals
	// (0.95: demand stays inside 95% of the time); the group's maximum is
	// bought from its upper bound.
	Interval float64 `json:"interval,omitempty"`
	// Batch is the share of demand that tolerates interruption and runs on spot.
	Batch float64 `json:"batch,omitempty"`
	// FailoverCoverage is the share of the primary's reservation also reserved in the secondary.
	FailoverCoverage *float64 `json:"failover_coverage,omitempty"`
	// RTO is the recovery time objective the failover region must meet
	// (e.g. a dr_policy's rto); it sets how much of the capacity there must
	// be reserved rather than hoped for.
	RTO               string            `json:"rto,omitempty"`
	ReviewInterval    string            `json:"review_interval,omitempty"`
	TargetUtilization float64           `json:"target_utilization,omitempty"`
	Tags              map[string]string `json:"tags,omitempty"`
	// Kubernetes, when set, enforces the split in both regions' clusters too.
	Kubernetes *CapacityKubernetes `json:"kubernetes,omitempty"`
	// Zones are the availability zones, by region, where the reservations
	// and groups go. Nobody writes them: the provider and the CLI choose
	// them at plan time from the cloud (the aws package's CapacityZone).
	Zones map[string]string `json:"zones,omitempty"`
}

// Demand is the history the forecast is made from.
type Demand struct {
	Values []float64 `json:"values,omitempty"`
	// Step is the time between values ("1h", or calendar months: "1mo");
	// Season the length of the cycle ("24h", "168h"), or "auto" to find
	// the cycles in the history.
	Step   string `json:"step,omitempty"`
	Season string `json:"season,omitempty"`
	// Start is when the first value was observed (RFC 3339); it puts the
	// seasonal peaks at their clock times.
	Start string `json:"start,omitempty"`
}

// Units of demand.
const (
	UnitInstances = "instances"
	UnitVCPU      = "vcpu"
)

// Defaults of a capacity reservation.
const (
	DefaultHorizon            = "30d"
	DefaultReviewInterval     = "30d"
	DefaultBaselinePercentile = 50
	DefaultPeakPercentile     = 95
	DefaultFailoverCoverage   = 1.0
	DefaultTargetUtilization  = 60
	DefaultDemandStep         = "1h"
	// DefaultDemandSeason finds the seasons in the history (a day and a
	// week for hourly data, a year for monthly data).
	DefaultDemandSeason = "auto"
	// DefaultIntervalCoverage is the coverage of the forecast's prediction intervals.
	DefaultIntervalCoverage = 0.95
	// Headroom is added above the interval's upper bound for the group's
	// maximum: the bound is itself an estimate.
	Headroom = 0.10
	// InstancePlatform is what reservations are made for.
	InstancePlatform = "Linux/UNIX"
)

// WithDefaults returns c with every omitted optional value filled in.
func (c Capacity) WithDefaults() Capacity {
	if c.Unit == "" {
		c.Unit = UnitInstances
	}
	if c.Horizon == "" {
		c.Horizon = DefaultHorizon
	}
	if c.ReviewInterval == "" {
		c.ReviewInterval = DefaultReviewInterval
	}
	if c.BaselinePercentile == 0 {
		c.BaselinePercentile = DefaultBaselinePercentile
	}
	if c.PeakPercentile == 0 {
		c.PeakPercentile = DefaultPeakPercentile
	}
	if c.Interval == 0 {
		c.Interval = DefaultIntervalCoverage
	}
	if c.FailoverCoverage == nil {
		v := DefaultFailoverCoverage
		c.FailoverCoverage = &v
	}
	if c.TargetUtilization == 0 {
		c.TargetUtilization = DefaultTargetUtilization
	}
	if c.Demand.Step == "" {
		c.Demand.Step = DefaultDemandStep
	}
	if c.Demand.Season == "" {
		c.Demand.Season = DefaultDemandSeason
	}
	return c
}

// ParsePeriod reads a positive duration (see ParseDuration): the periods
// capacity is planned over ("30d", "4w", "720h", "1w3d").
func ParsePeriod(s string) (time.Duration, error) {
	d, err := ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration such as 30d, 4w or 720h", s)
	}
	return d, nil
}

// CoverageForRTO is the least share of the primary's reservation that the
// failover region must hold for a recovery time objective. Under an hour
// there is no time to find capacity during a regional event: all of it.
// Under four hours, half, and the rest is launched on-demand as the first
// wave of failovers settles. Longer RTOs leave it to the user.
func CoverageForRTO(rto time.Duration) float64 {
	switch {
	case rto < time.Hour:
		return 1
	case rto < 4*time.Hour:
		return 0.5
	}
	return 0
}

// PriceTable is what instance-hours cost per region and instance type.
type PriceTable struct {
	// Date is when the prices were taken; every cost estimate names it.
	Date          string                          `json:"date"`
	Currency      string                          `json:"currency"`
	Source        string                          `json:"source"`
	HoursPerMonth float64                         `json:"hours_per_month"`
	Prices        map[string]map[string]TypePrice `json:"prices"`
}

// TypePrice is one instance type in one region, per instance-hour.
type TypePrice struct {
	VCPUs    int     `json:"vcpus"`
	OnDemand float64 `json:"on_demand"`
	// Reserved is the effective rate of a reservation covered by a 1-year
	// commitment (a capacity reservation alone is billed at OnDemand).
	Reserved float64 `json:"reserved"`
	Spot     float64 `json:"spot"`
}

//go:embed prices/aws-ec2-2026-11-01.json
var defaultPrices []byte

// DefaultPrices is the price table shipped with meridian.
func DefaultPrices() PriceTable {
	p, err := ParsePrices(defaultPrices)
	if err != nil {
		panic(err)
	}
	return p
}

// ParsePrices reads a price table in the shipped table's JSON format.
func ParsePrices(b []byte) (PriceTable, error) {
	var p PriceTable
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("price table: %w", err)
	}
	if p.Date == "" {
		return p, errors.New("price table: date is required, so that every estimate says how old its prices are")
	}
	if p.HoursPerMonth == 0 {
		p.HoursPerMonth = 730
	}
	for region, types := range p.Prices {
		for typ, tp := range types {
			if tp.OnDemand <= 0 || tp.Reserved < 0 || tp.Spot < 0 || tp.VCPUs <= 0 {
				return p, fmt.Errorf("price table: %s in %s needs vcpus and a positive on_demand price", typ, region)
			}
		}
	}
	return p, nil
}

// CapacityPlan is what a forecast implies: the split in each region and what it costs.
type CapacityPlan struct {
	Forecast forecast.Forecast `json:"-"`
	History  forecast.Series   `json:"-"`
	Baseline float64           `json:"baseline"`
	Peak     float64           `json:"peak"`
	// Top is what the group's maximum is sized for: the highest upper
	// bound of the forecast's interval, plus Headroom.
	Top      float64 `json:"top"`
	Interval float64 `json:"interval"`
	Headroom float64 `json:"headroom"`
	// OverCapacity is the expected hours of demand above the group's
	// maximum, by calendar month of the horizon.
	OverCapacity  []MonthHours     `json:"over_capacity"`
	Mean          float64          `json:"mean"`
	Growth        float64          `json:"growth"`
	IntervalLower float64          `json:"interval_lower"`
	IntervalUpper float64          `json:"interval_upper"`
	UnitsPerInst  float64          `json:"units_per_instance"`
	Primary       RegionSplit      `json:"primary"`
	Secondary     RegionSplit      `json:"secondary"`
	PriceDate     string           `json:"price_date"`
	Currency      string           `json:"currency"`
	MonthlyCost   Money            `json:"monthly_cost"`
	AllOnDemand   Money            `json:"all_on_demand"`
	Review        forecast.Review  `json:"review"`
	Finding       string           `json:"finding"`
	ReviewDue     string           `json:"review_due"`
	Scheduled     []ScheduledScale `json:"scheduled"`
}

// RegionSplit is the reserved / on-demand / spot split of one region, in instances.
type RegionSplit struct {
	Region string `json:"region"`
	Role   string `json:"role"`
	// Reserved instances are held by capacity reservations and are the
	// group's on-demand base.
	Reserved int `json:"reserved"`
	// OnDemandBurst and SpotPeak are the instances above the base at peak.
	OnDemandBurst int `json:"on_demand_burst"`
	SpotPeak      int `json:"spot_peak"`
	MinSize       int `json:"min_size"`
	MaxSize       int `json:"max_size"`
	// OnDemandPercentageAboveBase is the on-demand share of what runs above the base.
	OnDemandPercentageAboveBase int   `json:"on_demand_percentage_above_base"`
	MonthlyCost                 Money `json:"monthly_cost"`
	AllOnDemand                 Money `json:"all_on_demand"`
}

// ScheduledScale raises or lowers the group's minimum at an hour of the day (UTC).
type ScheduledScale struct {
	Name    string `json:"name"`
	Hour    int    `json:"hour"`
	MinSize int    `json:"min_size"`
}

// Validate returns every rule c breaks that needs no forecast; Plan checks the rest.
// It expects c.WithDefaults().
func (c Capacity) Validate(prices PriceTable) []Problem {
	var ps []Problem
	add := func(summary, detail string, paths ...string) {
		ps = append(ps, Problem{Paths: paths, Summary: summary, Detail: detail})
	}
	if c.Name == "" {
		add("Missing name", "name is empty; it names the launch templates and Auto Scaling groups, and the meridian:resource tag: 3-40 lowercase letters, digits and hyphens.", "name")
	} else if !namePattern.MatchString(c.Name) {
		add("Invalid name", fmt.Sprintf("%q must be 3-40 characters of lowercase letters, digits and hyphens: it names the launch templates and Auto Scaling groups.", c.Name), "name")
	}
	for _, r := range []struct{ path, region string }{{"primary_region", c.PrimaryRegion}, {"secondary_region", c.SecondaryRegion}} {
		if !KnownRegion(r.region) {
			add("Unknown region", fmt.Sprintf("%q is not an AWS region.", r.region), r.path)
		}
	}
	if c.PrimaryRegion == c.SecondaryRegion && c.PrimaryRegion != "" {
		add("Same region twice", "primary_region and secondary_region must differ: capacity reserved in the region that failed does not help.", "secondary_region")
	}
	if len(c.InstanceTypes) == 0 {
		add("No instance type", "instance_types needs at least one type; the first is the one reserved.", "instance_types")
	}
	seen := map[string]bool{}
	for _, t := range c.InstanceTypes {
		if seen[t] {
			add("Duplicate instance type", fmt.Sprintf("%s is listed twice in instance_types.", t), "instance_types")
		}
		seen[t] = true
		if !KnownInstanceType(t, prices) {
			// Before the price: a misspelt type needs its name mended, not a price.
			add("Unknown instance type", unknownInstanceType(t, prices), "instance_types")
			continue
		}
		for _, region := range []string{c.PrimaryRegion, c.SecondaryRegion} {
			if KnownRegion(region) {
				if _, ok := prices.Prices[region][t]; !ok {
					add("No price for instance type", fmt.Sprintf("the price table of %s has no price for %s in %s, so the split cannot be costed; add it with price_table.", prices.Date, t, region), "instance_types", "price_table")
				}
			}
		}
	}
	if c.ImageID == "" {
		add("Missing image", "image_id is the AMI the launch templates start instances from.", "image_id")
	}
	if c.Unit != UnitInstances && c.Unit != UnitVCPU {
		add("Invalid unit", fmt.Sprintf("%q: unit is %q or %q.", c.Unit, UnitInstances, UnitVCPU), "unit")
	}
	if !(c.BaselinePercentile > 0 && c.BaselinePercentile < 100) {
		add("Invalid percentile", fmt.Sprintf("baseline_percentile %v must be between 0 and 100.", c.BaselinePercentile), "baseline_percentile")
	}
	if !(c.PeakPercentile > 0 && c.PeakPercentile < 100) {
		add("Invalid percentile", fmt.Sprintf("peak_percentile %v must be between 0 and 100.", c.PeakPercentile), "peak_percentile")
	}
	if c.PeakPercentile <= c.BaselinePercentile {
		add("Peak below baseline", fmt.Sprintf("peak_percentile %v must be above baseline_percentile %v: the burst is what lies between them.", c.PeakPercentile, c.BaselinePercentile), "peak_percentile", "baseline_percentile")
	}
	if !(c.Batch >= 0 && c.Batch < 1) {
		add("Invalid batch share", fmt.Sprintf("batch %v must be at least 0 and below 1: it is the share of demand that can run on spot.", c.Batch), "batch")
	}
	if fc := *c.FailoverCoverage; !(fc >= 0 && fc <= 1) {
		add("Invalid failover coverage", fmt.Sprintf("failover_coverage %v must be between 0 and 1: the share of the primary's reservation also reserved in the secondary.", fc), "failover_coverage")
	}
	if c.RTO != "" {
		rto, err := ParsePeriod(c.RTO)
		if err != nil {
			add("Invalid RTO", err.Error(), "rto")
		} else if need := CoverageForRTO(rto); *c.FailoverCoverage < need {
			add("Failover coverage below what the RTO needs", fmt.Sprintf("failover_coverage %v reserves too little in %s for an RTO of %s: it needs at least %v. When %s fails, everyone who runs there fails over at once and on-demand capacity in the neighbouring regions runs short; only reserved capacity is sure to be there within the RTO.", *c.FailoverCoverage, c.SecondaryRegion, c.RTO, need, c.PrimaryRegion), "failover_coverage", "rto")
		}
	}
	if !(c.TargetUtilization > 0 && c.TargetUtilization <= 100) {
		add("Invalid target utilization", fmt.Sprintf("target_utilization %v must be between 0 and 100 (percent CPU).", c.TargetUtilization), "target_utilization")
	}
	if !(c.Interval > 0 && c.Interval < 1) {
		add("Invalid interval", fmt.Sprintf("interval %v must be between 0 and 1: the share of the time demand stays inside the forecast's prediction interval (e.g. 0.95).", c.Interval), "interval")
	}
	step, months, err := DemandStep(c.Demand.Step)
	if err != nil {
		add("Invalid step", err.Error(), "demand.step")
	}
	if c.Demand.Season != DefaultDemandSeason {
		if months > 0 {
			if season, _, err := DemandStep(c.Demand.Season); err != nil || season%step != 0 {
				add("Invalid season", fmt.Sprintf("%q: with a step of calendar months the season is \"auto\" or a number of months such as \"12mo\".", c.Demand.Season), "demand.season")
			}
		} else if season, err := ParsePeriod(c.Demand.Season); err != nil {
			add("Invalid season", err.Error()+` (or "auto" to find it in the history)`, "demand.season")
		} else if step > 0 && season%step != 0 {
			add("Season not a whole number of steps", fmt.Sprintf("season %s is not a multiple of step %s.", c.Demand.Season, c.Demand.Step), "demand.season")
		}
	}
	if h, err := ParsePeriod(c.Horizon); err != nil {
		add("Invalid horizon", err.Error(), "horizon")
	} else if step > 0 && h < step {
		add("Horizon shorter than a step", fmt.Sprintf("horizon %s is shorter than the demand's step %s.", c.Horizon, c.Demand.Step), "horizon")
	}
	if _, err := ParsePeriod(c.ReviewInterval); err != nil {
		add("Invalid review interval", err.Error(), "review_interval")
	}
	if c.Demand.Start != "" {
		if _, err := time.Parse(time.RFC3339, c.Demand.Start); err != nil {
			add("Invalid start", fmt.Sprintf("%q is not an RFC 3339 time such as 2026-09-01T00:00:00Z.", c.Demand.Start), "demand.start")
		}
	}
	for k := range c.Tags {
		if strings.HasPrefix(k, ReservedTagPrefix) {
			add("Reserved tag key", fmt.Sprintf("tag %q: keys starting with %q are set by meridian.", k, ReservedTagPrefix), "tags")
		}
	}
	ps = append(ps, c.Kubernetes.validate()...)
	return ps
}

// DemandStep reads a demand step: a duration, or a number of calendar
// months ("1mo", "3mo"), which is no fixed duration; step is then the
// average month (730h) times months.
func DemandStep(s string) (step time.Duration, months int, err error) {
	if n, ok := strings.CutSuffix(strings.TrimSpace(s), "mo"); ok {
		if k, err := strconv.Atoi(n); err == nil && k > 0 {
			return time.Duration(k) * 730 * time.Hour, k, nil
		}
		return 0, 0, fmt.Errorf("%q is not a number of calendar months such as 1mo", s)
	}
	d, err := ParsePeriod(s)
	return d, 0, err
}

// Plan forecasts demand and derives the split and its cost. It expects
// c.WithDefaults() that passes Validate.
func (c Capacity) Plan(prices PriceTable) (CapacityPlan, []Problem) {
	problem := func(summary, detail string, paths ...string) []Problem {
		return []Problem{{Paths: paths, Summary: summary, Detail: detail}}
	}
	step, months, _ := DemandStep(c.Demand.Step)
	horizon, _ := ParsePeriod(c.Horizon)
	review, _ := ParsePeriod(c.ReviewInterval)
	series := forecast.Series{Step: step, Months: months, Values: c.Demand.Values}
	if c.Demand.Start != "" {
		series.Start, _ = time.Parse(time.RFC3339, c.Demand.Start)
	}
	period := 0 // found in the history
	if c.Demand.Season != DefaultDemandSeason {
		season, _, _ := DemandStep(c.Demand.Season)
		period = int(season / step)
	}
	f, err := forecast.Fit(series, forecast.Options{Period: period, Horizon: max(1, int(horizon/step)), Coverage: c.Interval})
	var he *forecast.HistoryError
	switch {
	case errors.As(err, &he):
		return CapacityPlan{}, problem("Too little demand history", fmt.Sprintf("%v; at a step of %s that is %s of history. Provide more history or a shorter season; meridian never plans capacity from a default.", err, c.Demand.Step, time.Duration(he.Need)*step), "demand")
	case err != nil:
		return CapacityPlan{}, problem("Unusable demand history", err.Error(), "demand")
	}

	first := prices.Prices[c.PrimaryRegion][c.InstanceTypes[0]]
	perInstance := 1.0
	if c.Unit == UnitVCPU {
		perInstance = float64(first.VCPUs)
	}
	interactive := 1 - c.Batch
	inst := func(units float64) float64 { return units / perInstance }
	up := func(x float64) int { return int(math.Ceil(x - 1e-9)) }

	p := CapacityPlan{
		Forecast: f, History: series, UnitsPerInst: perInstance,
		Baseline: f.Quantile(c.BaselinePercentile / 100), Peak: f.Quantile(c.PeakPercentile / 100), Growth: f.Growth(),
		PriceDate: prices.Date, Currency: prices.Currency,
	}
	p.IntervalLower, p.IntervalUpper = math.Inf(1), 0
	for _, pt := range f.Points {
		p.Mean += pt.Mean / float64(len(f.Points))
		p.IntervalLower = math.Min(p.IntervalLower, pt.Lower)
		p.IntervalUpper = math.Max(p.IntervalUpper, pt.Upper)
	}

	// The group's maximum is bought from the top of the prediction
	// interval plus the headroom, never from a point forecast: at the
	// chosen coverage demand stays below it, and it is above the
	// forecast's own mean at every step (growth included).
	p.Top = p.IntervalUpper * (1 + Headroom)
	reserved := up(inst(interactive * p.Baseline))
	burst := max(0, up(inst(interactive*p.Top))-reserved)
	spot := up(inst(c.Batch * p.Top))
	pct := 100
	if burst+spot > 0 {
		pct = int(math.Round(100 * float64(burst) / float64(burst+spot)))
	}
	maxSize := max(1, reserved+burst+spot)
	hours := prices.HoursPerMonth
	p.Interval, p.Headroom = c.Interval, Headroom
	p.OverCapacity = hoursOverCapacity(f, series, float64(maxSize)*perInstance)

	// Expected instance-hours over the horizon: reservations are paid
	// whether used or not; on-demand and spot only when they run.
	var onDemandRun, spotRun, allRun float64
	for _, pt := range f.Points {
		d := inst(pt.Mean)
		onDemandRun += math.Max(0, interactive*d-float64(reserved)) / float64(len(f.Points))
		spotRun += c.Batch * d / float64(len(f.Points))
		allRun += d / float64(len(f.Points))
	}
	p.Primary = RegionSplit{
		Region: c.PrimaryRegion, Role: "primary", Reserved: reserved, OnDemandBurst: burst, SpotPeak: spot,
		MinSize: reserved, MaxSize: maxSize, OnDemandPercentageAboveBase: pct,
		MonthlyCost: Cents(hours * (float64(reserved)*first.Reserved + onDemandRun*first.OnDemand + spotRun*first.Spot)),
		AllOnDemand: Cents(hours * allRun * first.OnDemand),
	}
	// The secondary holds reservations for the share of the primary's
	// baseline that must start at once on failover, and scales out to the
	// primary's size; standing reservations cost the same on-demand or not.
	second := prices.Prices[c.SecondaryRegion][c.InstanceTypes[0]]
	secReserved := up(*c.FailoverCoverage * float64(reserved))
	p.Secondary = RegionSplit{
		Region: c.SecondaryRegion, Role: "secondary", Reserved: secReserved,
		OnDemandBurst: max(0, reserved+burst-secReserved), SpotPeak: spot,
		MinSize: 0, MaxSize: maxSize, OnDemandPercentageAboveBase: pct,
		MonthlyCost: Cents(hours * float64(secReserved) * second.Reserved),
		AllOnDemand: Cents(hours * float64(secReserved) * second.OnDemand),
	}
	if p.Secondary.OnDemandBurst+spot > 0 {
		p.Secondary.OnDemandPercentageAboveBase = int(math.Round(100 * float64(p.Secondary.OnDemandBurst) / float64(p.Secondary.OnDemandBurst+spot)))
	}
	p.MonthlyCost = p.Primary.MonthlyCost + p.Secondary.MonthlyCost
	p.AllOnDemand = p.Primary.AllOnDemand + p.Secondary.AllOnDemand

	// The right-sizing review replays the history against the reservation.
	var history []float64
	for _, v := range c.Demand.Values {
		history = append(history, inst(interactive*v))
	}
	p.Review = forecast.ReviewReservation(history, float64(reserved))
	switch {
	case reserved == 0:
		p.Finding = "nothing reserved: the baseline rounds to zero instances"
	case p.Review.Utilisation < 0.8:
		p.Finding = fmt.Sprintf("under-used: the reservation of %d would have been %.0f%% used over the history, idle at some point %.0f%% of the time; lower baseline_percentile or review the history", reserved, 100*p.Review.Utilisation, 100*p.Review.UnderUsedShare)
	default:
		p.Finding = fmt.Sprintf("ok: the reservation of %d would have been %.0f%% used over the history", reserved, 100*p.Review.Utilisation)
	}
	end := series.At(len(series.Values))
	p.ReviewDue = end.Add(review).UTC().Format(time.RFC3339)

	// Scheduled scaling: raise the minimum when the daily profile rises
	// through the middle of its range, lower it when it falls back, so that
	// the daily peak does not wait for target tracking to catch up.
	if hoursProfile, ok := f.Profile(step); ok {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range hoursProfile {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		if hi > 0 && (hi-lo)/hi >= 0.1 {
			mid := (lo + hi) / 2
			rise, fall := -1, -1
			for h := range 24 {
				prev := hoursProfile[(h+23)%24]
				if prev < mid && hoursProfile[h] >= mid && rise < 0 {
					rise = h
				}
				if prev >= mid && hoursProfile[h] < mid && fall < 0 {
					fall = h
				}
			}
			peakMin := min(maxSize, max(reserved, up(inst(interactive*hi))))
			if rise >= 0 && fall >= 0 && peakMin > reserved {
				p.Scheduled = []ScheduledScale{{Name: "peak", Hour: rise, MinSize: peakMin}, {Name: "off-peak", Hour: fall, MinSize: reserved}}
			}
		}
	}
	return p, nil
}

// MonthHours is a number of hours in one calendar month ("2026-10").
type MonthHours struct {
	Month string  `json:"month"`
	Hours float64 `json:"hours"`
}

// hoursOverCapacity is, per calendar month of the horizon, the expected
// hours when demand exceeds capacity: each step's probability of it under
// the step's predictive normal, times the step's length.
func hoursOverCapacity(f forecast.Forecast, s forecast.Series, capacity float64) []MonthHours {
	var out []MonthHours
	n := len(s.Values)
	for i, pt := range f.Points {
		var over float64
		switch {
		case pt.StdDev > 0:
			over = 0.5 * math.Erfc((capacity-pt.Mean)/(pt.StdDev*math.Sqrt2))
		case pt.Mean > capacity:
			over = 1
		}
		length := s.At(n + i).Sub(s.At(n + i - 1)).Hours()
		month := pt.Time.UTC().Format("2006-01")
		if len(out) == 0 || out[len(out)-1].Month != month {
			out = append(out, MonthHours{Month: month})
		}
		out[len(out)-1].Hours += over * length
	}
	return out
}
