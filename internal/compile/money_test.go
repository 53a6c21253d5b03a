package compile

import (
	"fmt"
	"strings"
	"testing"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
)

// The capacity plan's table (meridian_capacity_plan's table, the CLI) and
// the figures in the split (the reservation's split, the attributes) are
// one money value each, rounded once: the same text everywhere, and a total
// that is the sum of its lines, for every input.
func TestCapacityMoneyIsOneFigure(t *testing.T) {
	prices := blueprint.DefaultPrices()
	for i := range 60 {
		c := capacityBlueprint()
		c.Demand.Values = dailyCycle(0.5 + 0.0437*float64(i))
		p, ps := c.WithDefaults().Plan(prices)
		if len(ps) > 0 {
			t.Fatalf("scale %d: %v", i, ps)
		}
		if p.MonthlyCost != p.Primary.MonthlyCost+p.Secondary.MonthlyCost || p.AllOnDemand != p.Primary.AllOnDemand+p.Secondary.AllOnDemand {
			t.Errorf("scale %d: total %s / %s is not the sum of %s + %s / %s + %s", i, p.MonthlyCost, p.AllOnDemand,
				p.Primary.MonthlyCost, p.Secondary.MonthlyCost, p.Primary.AllOnDemand, p.Secondary.AllOnDemand)
		}
		table := p.Table()
		for _, s := range []blueprint.RegionSplit{p.Primary, p.Secondary} {
			// The attribute carries Float(); printed with two decimals it is the table's text.
			attr := fmt.Sprintf("%.2f", s.MonthlyCost.Float())
			if attr != s.MonthlyCost.String() {
				t.Errorf("scale %d: attribute %s, table %s", i, attr, s.MonthlyCost)
			}
			line := lineOf(table, s.Region)
			if !strings.Contains(line, " "+s.MonthlyCost.String()+" ") || !strings.HasSuffix(strings.TrimSpace(line), s.AllOnDemand.String()) {
				t.Errorf("scale %d: table line %q lacks %s and %s", i, line, s.MonthlyCost, s.AllOnDemand)
			}
		}
		if total := lineOf(table, "total"); !strings.Contains(total, " "+p.MonthlyCost.String()+" ") {
			t.Errorf("scale %d: table total %q, want %s", i, total, p.MonthlyCost)
		}
	}
}

func lineOf(table, first string) string {
	for _, l := range strings.Split(table, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == first {
			return l
		}
	}
	return ""
}

func TestMoney(t *testing.T) {
	for in, want := range map[float64]string{390.915: "390.92", 390.914999: "390.91", 0.005: "0.01", -1.5: "-1.50", 0: "0.00", 1234.5: "1234.50"} {
		if got := blueprint.Cents(in).String(); got != want {
			t.Errorf("Cents(%v) = %s, want %s", in, got, want)
		}
	}
}
