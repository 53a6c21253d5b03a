package forecast

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// minOrigins is the least number of held-out steps a back-test needs to
// say anything; with fewer the regression is used without one.
const minOrigins = 6

// maxOrigins bounds the refits of a back-test (each origin refits the
// regression and reruns the smoothing filter).
const maxOrigins = 24

// tieMargin is how much lower another model's back-test error must be for
// it to replace the regression (the plain one, on demand): within it the
// closed form wins, because the same history always gives it the same
// plan.
const tieMargin = 0.02

// combineTop is how many of the best back-tested models are averaged when
// neither the regression is best nor ties the best: on a short history the back-test's single
// winner is often the one that happened to fit the held-out years (a
// constant growth rate before a slump), and the mean of the few best
// forecasts errs less than any one of them chosen that way (the lesson of
// the M3 and M4 forecasting competitions).
const combineTop = 3

// selection is the back-test's verdict: the chosen candidate (or the
// models whose forecasts are averaged, best first, in combo), why, its
// errors, and the calibrated spread of its forecast errors by lead.
type selection struct {
	best       model
	combo      []model
	why        string
	mase, mape float64
	candidates []Candidate
	coverage   float64
	// sd(h) = scale * sqrt(a + b*h): the back-test's error variance grows
	// linearly with the lead, and scale calibrates the interval to the
	// nominal coverage.
	a, b, scale float64
}

func (s selection) spread(h int) float64 {
	return s.scale * math.Sqrt(math.Max(0, s.a+s.b*float64(h)))
}

// backtest is one candidate's errors, by origin and lead.
type backtest struct {
	errs [][]float64 // errs[i][h-1]: origin i, lead h
	pct  [][]float64 // absolute percentage errors where the actual is not zero
}

// runBacktest holds out y from each origin on, refits c on what comes
// before (Holt-Winters keeps the weights fitted at the first origin and
// reruns its filter) and forecasts up to lead steps ahead.
func runBacktest(c model, y []float64, origins []int, lead int) (backtest, error) {
	var bt backtest
	var params *hwParams
	for _, o := range origins {
		f, err := c.fit(y[:o], params)
		if err != nil {
			return bt, err
		}
		params = f.params
		h := min(lead, len(y)-o)
		pred := f.forecast(h)
		e, p := make([]float64, h), []float64{}
		for i := range h {
			e[i] = y[o+i] - math.Max(0, pred[i])
			if y[o+i] != 0 {
				p = append(p, math.Abs(e[i])/y[o+i])
			}
		}
		bt.errs, bt.pct = append(bt.errs, e), append(bt.pct, p)
	}
	return bt, nil
}

// selectModel back-tests every candidate over the same origins and keeps
// the one with the lowest mean absolute scaled error. ok is false when the
// history is too short to hold any of it out.
func selectModel(y []float64, seasons []int, horizon int, coverage float64) (selection, bool) {
	n := len(y)
	var cands []model
	positive := true
	for _, v := range y {
		positive = positive && v > 0
	}
	for _, m := range seasons {
		if NeededHistory(m) > n-minOrigins {
			continue // too long a season to fit and still hold some out
		}
		cands = append(cands, model{"regression", m}, model{"additive", m})
		if m > 1 && positive {
			cands = append(cands, model{"multiplicative", m}, model{"factor", m}, model{"log-regression", m})
		}
	}
	// The first origin leaves every candidate its needed history and holds
	// out at least a third of the history, or what the horizon asks if less.
	if len(cands) == 0 {
		return selection{}, false
	}
	first := n - max(n/3, minOrigins)
	m := 1
	for _, c := range cands {
		first, m = max(first, NeededHistory(c.period)), max(m, c.period)
	}
	lead := min(horizon, max(1, n/4), n-first)
	every := max(1, (n-first)/maxOrigins)
	var origins []int
	for o := first; o < n; o += every {
		origins = append(origins, o)
	}
	// MASE scales by the in-sample error of the naive seasonal forecast
	// (the value one longest season back) over the part before the origins.
	var scale float64
	for t := m; t < first; t++ {
		scale += math.Abs(y[t] - y[t-m])
	}
	scale /= float64(max(1, first-m))

	type result struct {
		c          model
		bt         backtest
		mase, mape float64
	}
	var results []result
	for _, c := range cands {
		bt, err := runBacktest(c, y, origins, lead)
		if err != nil {
			continue
		}
		var abs, pct float64
		var na, np int
		for i := range bt.errs {
			for _, e := range bt.errs[i] {
				abs += math.Abs(e)
				na++
			}
			for _, p := range bt.pct[i] {
				pct += p
				np++
			}
		}
		r := result{c: c, bt: bt, mase: abs / float64(max(1, na)), mape: 100 * pct / float64(max(1, np))}
		if scale > 0 {
			r.mase /= scale
		}
		results = append(results, r)
	}
	if len(results) == 0 {
		return selection{}, false
	}
	sort.SliceStable(results, func(i, j int) bool { return results[i].mase < results[j].mase })
	best := results[0]
	var reg *result
	for i := range results {
		if results[i].c.kind == "regression" && (reg == nil || results[i].mase < reg.mase) {
			reg = &results[i]
		}
	}
	why := fmt.Sprintf("lowest back-test MASE %.3f (MAPE %.2f%%) over %d origins %d steps ahead", best.mase, best.mape, len(origins), lead)
	var combo []model
	switch {
	case best.c.kind == "regression":
		// The closed-form regression alone when it back-tests best.
	case reg != nil && reg.mase <= best.mase*(1+tieMargin):
		why = fmt.Sprintf("back-test MASE %.3f, within %.0f%% of the best (%s, %.3f): the closed-form regression is kept on a tie", reg.mase, 100*tieMargin, best.c.name(), best.mase)
		best = *reg
	case len(results) >= combineTop:
		// The mean's own back-test errors are the means of its members'
		// (same origins and leads), so its intervals are calibrated on
		// what the mean would have done.
		var names []string
		mean := result{c: best.c, bt: backtest{}}
		for _, r := range results[:combineTop] {
			combo = append(combo, r.c)
			names = append(names, fmt.Sprintf("%s %.3f", r.c.name(), r.mase))
		}
		var abs, pct float64
		var na, np int
		for i, o := range origins {
			e := make([]float64, len(results[0].bt.errs[i]))
			var p []float64
			for j := range e {
				for _, r := range results[:combineTop] {
					e[j] += r.bt.errs[i][j] / float64(combineTop)
				}
				abs += math.Abs(e[j])
				na++
				if y[o+j] != 0 {
					p = append(p, math.Abs(e[j])/y[o+j])
					pct += math.Abs(e[j]) / y[o+j]
					np++
				}
			}
			mean.bt.errs, mean.bt.pct = append(mean.bt.errs, e), append(mean.bt.pct, p)
		}
		mean.mase, mean.mape = abs/float64(max(1, na)), 100*pct/float64(max(1, np))
		if scale > 0 {
			mean.mase /= scale
		}
		why = fmt.Sprintf("mean of the %d models with the lowest back-test MASE (%s): their mean back-tests at MASE %.3f (MAPE %.2f%%) over %d origins %d steps ahead", combineTop, strings.Join(names, ", "), mean.mase, mean.mape, len(origins), lead)
		best = mean
	}
	var others []string
	sel := selection{best: best.c, combo: combo, mase: best.mase, mape: best.mape}
	for _, r := range results {
		sel.candidates = append(sel.candidates, Candidate{Model: r.c.name(), MASE: r.mase, MAPE: r.mape})
		if r.c != best.c && !slices.Contains(combo, r.c) {
			others = append(others, fmt.Sprintf("%s %.3f", r.c.name(), r.mase))
		}
	}
	if len(others) > 0 {
		why += "; others: " + strings.Join(others, ", ")
	}
	sel.why = why
	sel.calibrate(best.bt, coverage)
	return sel, true
}

// calibrate fits the growth of the error variance with the lead, then
// scales it so that the intervals hold as often as claimed: the scale is
// fitted on the first half of the origins, the coverage reported is what
// it achieves on the second half (values it was not fitted on), and the
// forecast uses the scale fitted on all of them.
func (s *selection) calibrate(bt backtest, coverage float64) {
	// Mean squared error by lead, then least squares of it on the lead.
	var sw, sh, shh, sv, shv float64
	for h := 1; ; h++ {
		var sq float64
		var k int
		for _, e := range bt.errs {
			if h <= len(e) {
				sq += e[h-1] * e[h-1]
				k++
			}
		}
		if k == 0 {
			break
		}
		w, v, x := float64(k), sq/float64(k), float64(h)
		sw, sh, shh, sv, shv = sw+w, sh+w*x, shh+w*x*x, sv+w*v, shv+w*x*v
	}
	if den := sw*shh - sh*sh; den > 0 {
		s.b = (sw*shv - sh*sv) / den
	}
	if s.b < 0 {
		s.b = 0
	}
	s.a = (sv - s.b*sh) / sw
	if s.a < 0 {
		s.a, s.b = 0, sv/sh
	}
	z := math.Sqrt2 * math.Erfinv(coverage)
	ratios := func(errs [][]float64) []float64 {
		var r []float64
		for _, e := range errs {
			for h := range e {
				if sd := math.Sqrt(s.a + s.b*float64(h+1)); sd > 0 {
					r = append(r, math.Abs(e[h])/(z*sd))
				}
			}
		}
		return r
	}
	s.scale = 1
	all := ratios(bt.errs)
	if len(all) == 0 {
		s.coverage = 1
		return
	}
	half := len(bt.errs) / 2
	fit, check := ratios(bt.errs[:half]), ratios(bt.errs[half:])
	if len(fit) > 0 && len(check) > 0 {
		k := Percentile(fit, coverage)
		var in int
		for _, r := range check {
			if r <= k {
				in++
			}
		}
		s.coverage = float64(in) / float64(len(check))
	}
	s.scale = Percentile(all, coverage)
	if s.scale == 0 {
		s.scale = 1
	}
}
