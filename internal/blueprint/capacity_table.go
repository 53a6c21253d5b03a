package blueprint

import (
	"fmt"
	"strings"
	"text/tabwriter"
)

// Table renders the split and the cost comparison as a plain-text table, for
// a person deciding whether to buy it.
func (p CapacityPlan) Table() string {
	var sb strings.Builder
	w := tabwriter.NewWriter(&sb, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "region\trole\treserved\ton-demand burst\tspot at peak\tmin\tmax\ton-demand % above base\tmonthly cost\tall on-demand\t")
	for _, s := range []RegionSplit{p.Primary, p.Secondary} {
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d%%\t%s\t%s\t\n", s.Region, s.Role, s.Reserved, s.OnDemandBurst, s.SpotPeak, s.MinSize, s.MaxSize, s.OnDemandPercentageAboveBase, s.MonthlyCost, s.AllOnDemand)
	}
	fmt.Fprintf(w, "total\t\t%d\t\t\t\t\t\t%s\t%s\t\n", p.Primary.Reserved+p.Secondary.Reserved, p.MonthlyCost, p.AllOnDemand)
	_ = w.Flush()
	saving := 0.0
	if p.AllOnDemand > 0 {
		saving = 100 * (1 - p.MonthlyCost.Float()/p.AllOnDemand.Float())
	}
	fmt.Fprintf(&sb, "\nforecast: baseline %.2f, peak %.2f, mean %.2f, growth %+.1f%% over the horizon (per instance: %g units)\n", p.Baseline, p.Peak, p.Mean, 100*p.Growth, p.UnitsPerInst)
	f := p.Forecast
	fmt.Fprintf(&sb, "model: %s, seasons %v steps\n", f.Model, f.Seasons)
	fmt.Fprintf(&sb, "  why: %s\n", f.Why)
	if f.BacktestMASE > 0 || f.BacktestMAPE > 0 {
		fmt.Fprintf(&sb, "  back-test: MASE %.3f, MAPE %.2f%%; %.0f%% interval held %.0f%% of held-out values\n", f.BacktestMASE, f.BacktestMAPE, 100*p.Interval, 100*f.EmpiricalCoverage)
	}
	for _, finding := range f.Findings() {
		fmt.Fprintf(&sb, "  finding: %s\n", finding)
	}
	fmt.Fprintf(&sb, "max sized for %.2f: the %.0f%% interval's upper bound %.2f plus %.0f%% headroom\n", p.Top, 100*p.Interval, p.IntervalUpper, 100*p.Headroom)
	for _, m := range p.OverCapacity {
		fmt.Fprintf(&sb, "  expected hours over max in %s: %.1f\n", m.Month, m.Hours)
	}
	fmt.Fprintf(&sb, "cost: %s %s a month against %s all on-demand (%.0f%% less), prices of %s\n", p.MonthlyCost, p.Currency, p.AllOnDemand, saving, p.PriceDate)
	fmt.Fprintf(&sb, "right-sizing: %s; next review %s\n", p.Finding, p.ReviewDue)
	return sb.String()
}
