package forecast

import (
	"math"
	"time"
)

// minSeasonACF is the autocorrelation at a cycle's lag (of the history
// less its linear trend) from which the cycle counts as found; the
// back-test then decides whether modelling it pays.
const minSeasonACF = 0.3

// Seasons finds the seasonal cycles in the history, in steps, shortest
// first: a day and a week for sub-daily data, a week and a year for daily
// data, a year (52) for weekly and 12 for monthly data; each once the history holds
// two full cycles of it and its autocorrelation shows it. With none found
// it is [1] (no season).
func Seasons(s Series) []int {
	y := detrend(s.Values)
	// Spikes clipped first: one would swamp the variance the
	// autocorrelation is measured against.
	if sd := robustSD(y); sd > 0 {
		for t, v := range y {
			y[t] = math.Max(-outlierMADs*sd, math.Min(outlierMADs*sd, v))
		}
	}
	var found []int
	for _, m := range seasonLags(s) {
		if len(y) >= NeededHistory(m) && acf(y, m) >= minSeasonACF {
			found = append(found, m)
		}
	}
	if len(found) == 0 {
		return []int{1}
	}
	return found
}

// seasonLags are the cycles a history at this step may have, in steps,
// shortest first.
func seasonLags(s Series) []int {
	var lags []int
	if s.Months > 0 {
		if 12%s.Months == 0 && s.Months < 12 {
			lags = append(lags, 12/s.Months)
		}
	} else if s.Step > 0 {
		for _, cycle := range []time.Duration{24 * time.Hour, 7 * 24 * time.Hour, 365 * 24 * time.Hour} {
			if cycle%s.Step == 0 && cycle/s.Step >= 2 {
				lags = append(lags, int(cycle/s.Step))
			}
		}
		if s.Step == 7*24*time.Hour {
			lags = append(lags, 52) // a year is 52.18 weeks; 52 is the weekly convention
		}
	}
	return lags
}

// detrend is y less its least-squares line.
func detrend(y []float64) []float64 {
	n := float64(len(y))
	var st, sy, stt, sty float64
	for t, v := range y {
		x := float64(t)
		st, sy, stt, sty = st+x, sy+v, stt+x*x, sty+x*v
	}
	b := 0.0
	if den := n*stt - st*st; den != 0 {
		b = (n*sty - st*sy) / den
	}
	a := (sy - b*st) / n
	out := make([]float64, len(y))
	for t, v := range y {
		out[t] = v - a - b*float64(t)
	}
	return out
}

// acf is the sample autocorrelation of y at lag k.
func acf(y []float64, k int) float64 {
	mean := meanOf(y)
	var num, den float64
	for t, v := range y {
		den += (v - mean) * (v - mean)
		if t >= k {
			num += (v - mean) * (y[t-k] - mean)
		}
	}
	if den == 0 {
		return 0
	}
	return num / den
}
