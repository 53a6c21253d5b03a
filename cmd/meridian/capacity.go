package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/forecast"
	"github.com/meridianhq/terraform-provider-meridian/internal/stack"
)

// capacityFlags are the knobs of meridian_capacity_reservation, by their
// attribute names; a flag that is set wins over the stack's block.
type capacityFlags struct {
	demand, chart, points                            string
	primary, secondary, unit, horizon, rto, review   string
	step, season, start, priceTable, imageID, name   string
	instanceTypes                                    []string
	baseline, peak, batch, coverage, targetUtilisate float64
	interval                                         float64
}

func capacityCmd(f *flags) *cobra.Command {
	cf := &capacityFlags{}
	c := &cobra.Command{
		Use:   "capacity [LABEL]",
		Short: "Plan capacity from a demand history: reserved / on-demand / spot per region, and the cost",
		Long: `Forecast demand from its history and print what meridian_capacity_reservation
would reserve: per region (the failover region too) the reserved baseline, the
on-demand burst and the spot share at peak, and the monthly cost against all
on-demand. Nothing is reserved and no cloud API is called.

The reservation comes from the stack's meridian_capacity_reservation blocks
(all of them, or the one whose label is given), and the flags override their
arguments. Without such a block, the flags alone describe it:

  meridian capacity --demand demand.csv --primary-region us-east-1 \
    --secondary-region us-west-2 --instance-types m5.large

--demand takes a CSV history as the resource's csv_file does: timestamp,value
rows (RFC 3339, step apart, or calendar months apart with --step 1mo) or
value rows, which need --start. --chart FILE.svg draws the history, the
forecast with its interval, the reserved baseline, the peak and the
capacity at the group's maximum. --forecast FILE.csv (or .json) writes the
forecast of every step with its interval.

The review names the model the back-test chose and why, its back-test error
(MASE, MAPE), how often the interval held the held-out values against the
nominal coverage (--interval), the level shift and outliers found, and the
expected hours over the group's maximum per month.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCapacity(cmd, f, cf, args)
		},
	}
	fl := c.Flags()
	fl.StringVar(&cf.demand, "demand", "", "demand history: a CSV file (timestamp,value or value rows); replaces the block's demand history")
	fl.StringVar(&cf.chart, "chart", "", "write the SVG chart of history, forecast and reserved baseline to this file")
	fl.StringVar(&cf.points, "forecast", "", "write the per-step forecast with its interval to this file: CSV, or JSON when it ends in .json")
	fl.Float64Var(&cf.interval, "interval", 0, "interval: coverage of the forecast's prediction interval, which the group's maximum is bought from (default 0.95)")
	fl.StringVar(&cf.name, "name", "", "name (when no stack block is used; default \"plan\")")
	fl.StringVar(&cf.primary, "primary-region", "", "primary_region: the region that serves the demand")
	fl.StringVar(&cf.secondary, "secondary-region", "", "secondary_region: the failover region")
	fl.StringSliceVar(&cf.instanceTypes, "instance-types", nil, "instance_types, in order of preference (the first is reserved)")
	fl.StringVar(&cf.imageID, "image-id", "", "image_id (not needed to plan)")
	fl.StringVar(&cf.unit, "unit", "", "unit: instances (default) or vcpu")
	fl.StringVar(&cf.horizon, "horizon", "", "horizon: how far ahead to forecast, e.g. 30d (default 30d)")
	fl.Float64Var(&cf.baseline, "baseline-percentile", 0, "baseline_percentile (default 50)")
	fl.Float64Var(&cf.peak, "peak-percentile", 0, "peak_percentile (default 95)")
	fl.Float64Var(&cf.batch, "batch", 0, "batch: share of demand on spot, 0 to below 1 (default 0)")
	fl.Float64Var(&cf.coverage, "failover-coverage", 0, "failover_coverage: share of the primary's reservation also reserved in the secondary (default 1)")
	fl.StringVar(&cf.rto, "rto", "", "rto of the failover, e.g. 30m: sets the least failover_coverage")
	fl.StringVar(&cf.review, "review-interval", "", "review_interval (default 30d)")
	fl.Float64Var(&cf.targetUtilisate, "target-utilization", 0, "target_utilization, percent CPU (default 60)")
	fl.StringVar(&cf.step, "step", "", "demand.step: time between values, or calendar months such as 1mo (default 1h; a timestamped CSV must agree)")
	fl.StringVar(&cf.season, "season", "", "demand.season: auto (default: found in the history), or a cycle such as 24h or 168h")
	fl.StringVar(&cf.start, "start", "", "demand.start: when the first value was observed (RFC 3339); a timestamped CSV sets it")
	fl.StringVar(&cf.priceTable, "price-table", "", "price_table: a JSON price table that replaces the shipped one")
	return f.with(c, withJSON)
}

func runCapacity(cmd *cobra.Command, f *flags, cf *capacityFlags, args []string) error {
	st, err := f.loadStack(false)
	if err != nil {
		return err
	}
	fl := cmd.Flags()
	var selected []stack.CapacityReservation
	switch {
	case len(args) == 1:
		for _, c := range st.CapacityReservations {
			if c.Label == args[0] || c.Address() == args[0] {
				selected = append(selected, c)
			}
		}
		if len(selected) == 0 {
			return fmt.Errorf("no %s %q in the stack (%s)", stack.CapacityReservationType, args[0], capacityLabels(st))
		}
	case len(st.CapacityReservations) > 0:
		selected = st.CapacityReservations
	default:
		// No block: the flags are the whole reservation, as the
		// meridian_capacity_plan data source takes them.
		if cf.demand == "" || cf.primary == "" || cf.secondary == "" || len(cf.instanceTypes) == 0 {
			return fmt.Errorf("the stack in %s has no %s block: pass --demand FILE.csv, --primary-region, --secondary-region and --instance-types", f.dir, stack.CapacityReservationType)
		}
		name := cf.name
		if name == "" {
			name = "plan"
		}
		selected = []stack.CapacityReservation{{Label: name, Blueprint: blueprint.Capacity{Name: name, ImageID: "not-deployed"}}}
	}
	if (cf.chart != "" || cf.points != "") && len(selected) > 1 {
		return fmt.Errorf("--chart draws one reservation, and the stack has %d (%s): name one, e.g. meridian capacity %s --chart %s", len(selected), capacityLabels(st), selected[0].Label, cf.chart)
	}
	out := cmd.OutOrStdout()
	for i, c := range selected {
		c = cf.apply(fl.Changed, c)
		bp, plan, diags := c.Plan()
		if diags.HasErrors() {
			return fmt.Errorf("cannot plan %s:\n%s", c.Address(), strings.TrimRight(stack.FormatDiagnostics(diags), "\n"))
		}
		bp = bp.WithDefaults()
		if cf.chart != "" {
			if err := writeChart(cf.chart, bp, plan); err != nil {
				return err
			}
		}
		if cf.points != "" {
			if err := writePoints(cf.points, plan.Forecast.Points); err != nil {
				return err
			}
		}
		if f.json {
			if err := writeJSONLine(out, capacityJSON(c.Address(), bp, plan, cf.chart)); err != nil {
				return err
			}
			continue
		}
		if i > 0 {
			fmt.Fprintln(out)
		}
		printCapacity(out, c.Address(), bp, plan)
		if cf.chart != "" {
			fmt.Fprintf(out, "chart: %s\n", cf.chart)
		}
		if cf.points != "" {
			fmt.Fprintf(out, "forecast: %s\n", cf.points)
		}
	}
	if f.json {
		return writeJSONLine(out, map[string]any{"event": "summary", "operation": "capacity", "reservations": len(selected), "ok": true})
	}
	return nil
}

func capacityLabels(st *stack.Stack) string {
	var labels []string
	for _, c := range st.CapacityReservations {
		labels = append(labels, c.Label)
	}
	if len(labels) == 0 {
		return "it has none"
	}
	return "it has " + strings.Join(labels, ", ")
}

// apply sets the knobs given on the command line.
func (cf *capacityFlags) apply(changed func(string) bool, c stack.CapacityReservation) stack.CapacityReservation {
	bp := &c.Blueprint
	str := func(flag string, into *string, v string) {
		if changed(flag) {
			*into = v
		}
	}
	num := func(flag string, into *float64, v float64) {
		if changed(flag) {
			*into = v
		}
	}
	str("primary-region", &bp.PrimaryRegion, cf.primary)
	str("secondary-region", &bp.SecondaryRegion, cf.secondary)
	str("image-id", &bp.ImageID, cf.imageID)
	str("unit", &bp.Unit, cf.unit)
	str("horizon", &bp.Horizon, cf.horizon)
	str("rto", &bp.RTO, cf.rto)
	str("review-interval", &bp.ReviewInterval, cf.review)
	str("step", &bp.Demand.Step, cf.step)
	str("season", &bp.Demand.Season, cf.season)
	str("start", &bp.Demand.Start, cf.start)
	num("baseline-percentile", &bp.BaselinePercentile, cf.baseline)
	num("peak-percentile", &bp.PeakPercentile, cf.peak)
	num("batch", &bp.Batch, cf.batch)
	num("target-utilization", &bp.TargetUtilization, cf.targetUtilisate)
	num("interval", &bp.Interval, cf.interval)
	if changed("failover-coverage") {
		v := cf.coverage
		bp.FailoverCoverage = &v
	}
	if changed("instance-types") {
		bp.InstanceTypes = cf.instanceTypes
	}
	if changed("price-table") {
		c.PriceTable = absPath(cf.priceTable)
	}
	if changed("demand") {
		c.CSVFile, c.CloudWatch, bp.Demand.Values = absPath(cf.demand), nil, nil
	}
	return c
}

// absPath makes a path given on the command line absolute against the
// working directory (paths in the stack are relative to the stack's).
func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

func printCapacity(out io.Writer, address string, c blueprint.Capacity, p blueprint.CapacityPlan) {
	fmt.Fprintf(out, "%s (%s): %d values of demand in %s every %s, forecast %s ahead; %s reserved in zone a\n\n",
		address, c.Name, len(p.History.Values), c.Unit, c.Demand.Step, c.Horizon, c.InstanceTypes[0])
	fmt.Fprint(out, p.Table())
	if len(p.Scheduled) > 0 {
		var s []string
		for _, x := range p.Scheduled {
			s = append(s, fmt.Sprintf("%s at %02d:00 UTC min %d", x.Name, x.Hour, x.MinSize))
		}
		fmt.Fprintf(out, "scheduled scaling (%s): %s\n", p.Primary.Region, strings.Join(s, ", "))
	}
}

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}

// capacityJSON has the provider's attribute names and rounding.
func capacityJSON(address string, c blueprint.Capacity, p blueprint.CapacityPlan, chart string) map[string]any {
	var split []map[string]any
	for _, s := range []blueprint.RegionSplit{p.Primary, p.Secondary} {
		split = append(split, map[string]any{
			"region": s.Region, "role": s.Role, "reserved": s.Reserved, "on_demand_burst": s.OnDemandBurst, "spot_peak": s.SpotPeak,
			"min_size": s.MinSize, "max_size": s.MaxSize, "on_demand_percentage_above_base": s.OnDemandPercentageAboveBase,
			"monthly_cost": s.MonthlyCost.Float(), "all_on_demand_monthly_cost": s.AllOnDemand.Float(),
		})
	}
	sched := []map[string]any{}
	for _, s := range p.Scheduled {
		sched = append(sched, map[string]any{"name": s.Name, "hour_utc": s.Hour, "min_size": s.MinSize})
	}
	m := map[string]any{
		"event": "capacity_plan", "resource": address, "name": c.Name, "unit": c.Unit, "instance_types": c.InstanceTypes,
		"forecast": map[string]any{
			"baseline": round(p.Baseline, 3), "peak": round(p.Peak, 3), "mean": round(p.Mean, 3), "growth": round(p.Growth, 4),
			"interval_lower": round(p.IntervalLower, 3), "interval_upper": round(p.IntervalUpper, 3), "interval_coverage": p.Interval,
			"history_points": len(p.History.Values), "horizon_points": len(p.Forecast.Points),
			"model": p.Forecast.Model, "why": p.Forecast.Why, "seasons": p.Forecast.Seasons,
			"backtest_mase": round(p.Forecast.BacktestMASE, 4), "backtest_mape": round(p.Forecast.BacktestMAPE, 3),
			"empirical_coverage": round(p.Forecast.EmpiricalCoverage, 3), "findings": findings(p.Forecast),
			"max_sized_for": round(p.Top, 3), "headroom": p.Headroom, "hours_over_max": p.OverCapacity,
		},
		"split": split, "scheduled_scaling": sched,
		"estimated_monthly_cost": p.MonthlyCost.Float(), "all_on_demand_monthly_cost": p.AllOnDemand.Float(),
		"currency": p.Currency, "price_table_date": p.PriceDate,
		"right_sizing": map[string]any{
			"utilisation": round(p.Review.Utilisation, 3), "under_used_share": round(p.Review.UnderUsedShare, 3),
			"finding": p.Finding, "due": p.ReviewDue,
		},
	}
	if chart != "" {
		m["chart"] = chart
	}
	return m
}

// writeChart draws the chart as the meridian_capacity_plan data source does.
func writeChart(path string, c blueprint.Capacity, p blueprint.CapacityPlan) error {
	var svg strings.Builder
	err := forecast.WriteSVG(&svg, forecast.Chart{
		Title:   "demand (" + c.Unit + "): history, forecast and reserved baseline, " + c.PrimaryRegion,
		History: p.History, Forecast: p.Forecast,
		Reserved: float64(p.Primary.Reserved) * p.UnitsPerInst, Peak: p.Peak,
		Capacity: float64(p.Primary.MaxSize) * p.UnitsPerInst,
	})
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	if err := os.WriteFile(path, []byte(svg.String()), 0o644); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	return nil
}

// findings are never null in JSON, so a consumer can range over them.
func findings(f forecast.Forecast) []string {
	if out := f.Findings(); out != nil {
		return out
	}
	return []string{}
}

// writePoints writes the per-step forecast as CSV, or as a JSON array when
// the file's name ends in .json.
func writePoints(path string, pts []forecast.Point) error {
	var b strings.Builder
	if strings.HasSuffix(path, ".json") {
		j, err := json.MarshalIndent(pts, "", "  ")
		if err != nil {
			return fmt.Errorf("forecast: %w", err)
		}
		b.Write(j)
		b.WriteString("\n")
	} else if err := forecast.WritePoints(&b, pts); err != nil {
		return fmt.Errorf("forecast: %w", err)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("forecast: %w", err)
	}
	return nil
}

// writeJSONLine writes one JSON object on one line. The plan-time commands
// print no time, so that their output is the same for the same stack.
func writeJSONLine(out io.Writer, v any) error {
	if m, ok := v.(map[string]any); ok {
		if ev, _ := m["event"].(string); strings.HasSuffix(ev, "summary") {
			summarized.Store(true)
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, string(b))
	return err
}
