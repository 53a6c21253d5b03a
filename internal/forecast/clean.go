package forecast

import (
	"math"
	"sort"
	"time"
)

// Outlier is one value far from what the rest of the history implies; it
// was clipped to Clipped (the fitted value) before any model saw it, so a
// single spike neither bends the forecast nor widens its intervals.
type Outlier struct {
	Index   int       `json:"index"`
	Time    time.Time `json:"time"`
	Value   float64   `json:"value"`
	Clipped float64   `json:"clipped"`
}

// Shift is a step in the level of demand. The history before it is moved
// by Delta, so every model fits the level demand has now while keeping the
// season learnt before the step.
type Shift struct {
	Index int       `json:"index"`
	Time  time.Time `json:"time"`
	Delta float64   `json:"delta"`
}

// Break is a change of the trend's slope: from Before to After per step.
// The history before it is tilted onto the new slope (meeting the old one
// at the break), so every model extrapolates the growth demand has now.
type Break struct {
	Index  int       `json:"index"`
	Time   time.Time `json:"time"`
	Before float64   `json:"before"`
	After  float64   `json:"after"`
}

// Thresholds, in robust standard deviations of the residuals (1.4826 MAD):
// a value further than outlierMADs from the fit is an outlier; a level
// shift must move demand by shiftMADs and its t statistic (corrected for
// autocorrelation) must reach shiftT, so noise and slow growth are not
// taken for a step.
const (
	outlierMADs = 5.0
	shiftMADs   = 1.5
	shiftT      = 6.0
)

// clean returns the history with one level shift or one trend break
// refitted from and outliers clipped, judged on the residuals of the
// regression at period m.
func clean(s Series, m int) ([]float64, []Outlier, *Shift, *Break) {
	y := append([]float64(nil), s.Values...)
	n := len(y)
	if n < NeededHistory(m) {
		m = 1
	}
	if n < NeededHistory(m) {
		return y, nil, nil, nil
	}
	r, err := fitRegression(y, m)
	if err != nil {
		return y, nil, nil, nil
	}
	res := residuals(y, r)
	sd := robustSD(res)
	if sd < 1e-9*(1+math.Abs(meanOf(y))) {
		return y, nil, nil, nil
	}
	var shift *Shift
	var shiftY []float64
	var shiftR regression
	var shiftSD float64
	if k, ok := findShift(res, sd, max(m, 12)); ok {
		// The step's size with the season and trend refitted around it
		// (the trend alone absorbs part of a step), then its significance
		// against the noise left once it is taken out, with the variance
		// inflated for that noise's lag-1 autocorrelation.
		var delta float64
		adj := append([]float64(nil), y...)
		var ra regression
		for range 10 {
			for t := range k {
				adj[t] = y[t] + delta
			}
			if ra, err = fitRegression(adj, m); err != nil {
				break
			}
			ares := residuals(adj, ra)
			delta += meanOf(ares[k:]) - meanOf(ares[:k])
		}
		noise := residuals(adj, ra)
		nsd := robustSD(noise)
		rho := math.Max(0, math.Min(0.95, acf(noise, 1)))
		tstat := math.Abs(delta) / (nsd * math.Sqrt(1/float64(k)+1/float64(n-k)) * math.Sqrt((1+rho)/(1-rho)))
		if err == nil && nsd > 0 && tstat >= shiftT && math.Abs(delta) >= shiftMADs*nsd {
			shift = &Shift{Index: k, Time: s.At(k), Delta: delta}
			shiftY, shiftR, shiftSD = append([]float64(nil), y...), ra, nsd
			for t := range k {
				shiftY[t] += delta
			}
		}
	}
	// A change of slope is judged the same way. A ramp also poses as a
	// step and a step as a sharp ramp: when both pass, the one that
	// leaves less noise is what happened.
	var brk *Break
	var breakY []float64
	var breakR regression
	var breakSD float64
	if k, ok := findBreak(res, sd, max(m, 12)); ok {
		// The slope's change with the season and trend refitted around
		// it, then its significance against the noise left, inflated for
		// that noise's autocorrelation as for a shift.
		var d float64
		adj := append([]float64(nil), y...)
		var ra regression
		for range 10 {
			for t := range k {
				adj[t] = y[t] + d*float64(t-k)
			}
			if ra, err = fitRegression(adj, m); err != nil {
				break
			}
			dd, _ := hinge(residuals(adj, ra), k)
			d += dd
		}
		noise := residuals(adj, ra)
		nsd := robustSD(noise)
		rho := math.Max(0, math.Min(0.95, acf(noise, 1)))
		_, unit := hinge(residuals(y, r), k)
		tstat := math.Abs(d) / (nsd * unit * math.Sqrt((1+rho)/(1-rho)))
		// The new slope must also have moved demand by the end of the
		// history as far as a level shift must.
		if err == nil && nsd > 0 && tstat >= shiftT && math.Abs(d)*float64(n-k) >= shiftMADs*nsd {
			brk = &Break{Index: k, Time: s.At(k), Before: ra.slope - d, After: ra.slope}
			breakY, breakR, breakSD = append([]float64(nil), y...), ra, nsd
			for t := range k {
				breakY[t] += d * float64(t-k)
			}
		}
	}
	switch {
	case shift != nil && (brk == nil || shiftSD <= breakSD):
		y, r, sd, brk = shiftY, shiftR, shiftSD, nil
	case brk != nil:
		y, r, sd, shift = breakY, breakR, breakSD, nil
	}
	// Single spikes only: at most one value in a hundred is an outlier;
	// more than that is how demand behaves, and belongs in the intervals.
	// They are taken one at a time, the largest first, refitting after
	// each: a spike lifts its own season slot and would otherwise hide
	// itself and flag its neighbours in the cycle.
	var idx []int
	flagged := map[int]bool{}
	work := append([]float64(nil), y...)
	for len(idx) < max(1, n/100) {
		worst, size := -1, outlierMADs*sd
		for t, e := range residuals(work, r) {
			if !flagged[t] && math.Abs(e) > size {
				worst, size = t, math.Abs(e)
			}
		}
		if worst < 0 {
			break
		}
		idx, flagged[worst] = append(idx, worst), true
		// Replacing a value by the fit moves the fit: iterate to the fixed
		// point where the flagged values no longer pull on their slots.
		for range 8 {
			for _, t := range idx {
				work[t] = r.predict(t)
			}
			next, err := fitRegression(work, m)
			if err != nil {
				break
			}
			r = next
		}
		sd = robustSD(residuals(work, r))
	}
	sort.Ints(idx)
	var outliers []Outlier
	for _, t := range idx {
		fit := math.Max(0, r.predict(t))
		outliers = append(outliers, Outlier{Index: t, Time: s.At(t), Value: s.Values[t], Clipped: fit})
		y[t] = fit
	}
	return y, outliers, shift, brk
}

func residuals(y []float64, r regression) []float64 {
	out := make([]float64, len(y))
	for t, v := range y {
		out[t] = v - r.predict(t)
	}
	return out
}

// robustSD is 1.4826 times the median absolute deviation: the standard
// deviation of normal noise, unmoved by a few spikes.
func robustSD(v []float64) float64 {
	med := Percentile(v, 0.5)
	dev := make([]float64, len(v))
	for i, x := range v {
		dev[i] = math.Abs(x - med)
	}
	return 1.4826 * Percentile(dev, 0.5)
}

// findShift looks for the one step in the residuals that best splits them
// into two levels, and keeps it only if it is sharp: the mean of the w
// residuals after it must differ from the w before it by most of the step,
// which a smooth curve the trend line missed does not. Spikes are
// winsorised first so that one does not pose as a step.
func findShift(res []float64, sd float64, w int) (int, bool) {
	n := len(res)
	if n < 4*w {
		return 0, false
	}
	prefix := make([]float64, n+1)
	for t, e := range res {
		prefix[t+1] = prefix[t] + math.Max(-outlierMADs*sd, math.Min(outlierMADs*sd, e))
	}
	mean := func(a, b int) float64 { return (prefix[b] - prefix[a]) / float64(b-a) }
	bestK, bestT := 0, 0.0
	for k := w; k <= n-w; k++ {
		d := mean(k, n) - mean(0, k)
		if t := math.Abs(d) / math.Sqrt(1/float64(k)+1/float64(n-k)); t > bestT {
			bestK, bestT = k, t
		}
	}
	if bestK == 0 {
		return 0, false
	}
	contrast := func(k int) float64 { return mean(k, min(n, k+w)) - mean(max(0, k-w), k) }
	d := mean(bestK, n) - mean(0, bestK)
	if local := contrast(bestK); local*d <= 0 || math.Abs(local) < 0.7*math.Abs(d) {
		return 0, false
	}
	// Place the step where the local contrast is sharpest near the split.
	k := bestK
	for j := max(w, bestK-w); j <= min(n-w, bestK+w); j++ {
		if math.Abs(contrast(j)) > math.Abs(contrast(k)) {
			k = j
		}
	}
	return k, true
}

// hinge regresses res on a constant, the time and the hinge (t-k)+ and
// returns the hinge's coefficient (the change of slope at k) and its
// standard error per unit of noise.
func hinge(res []float64, k int) (d, unit float64) {
	n := float64(len(res))
	// The hinge with the constant and the time projected out of it.
	var st, stt, sh, sth float64
	for t := range res {
		x, h := float64(t), math.Max(0, float64(t-k))
		st, stt, sh, sth = st+x, stt+x*x, sh+h, sth+x*h
	}
	den := n*stt - st*st
	b := (n*sth - st*sh) / den
	a := (sh - b*st) / n
	var hh, hr float64
	for t, e := range res {
		h := math.Max(0, float64(t-k)) - a - b*float64(t)
		hh += h * h
		hr += h * e
	}
	if hh == 0 {
		return 0, math.Inf(1)
	}
	return hr / hh, 1 / math.Sqrt(hh)
}

// findBreak looks for the step at which a change of slope best explains
// the residuals, at least w steps from either end. Spikes are winsorised
// first, as for a shift.
func findBreak(res []float64, sd float64, w int) (int, bool) {
	n := len(res)
	if n < 4*w {
		return 0, false
	}
	clip := make([]float64, n)
	for t, e := range res {
		clip[t] = math.Max(-outlierMADs*sd, math.Min(outlierMADs*sd, e))
	}
	// A few hundred candidate steps are enough to place a break.
	stride := max(1, (n-2*w)/300)
	bestK, bestT := 0, 0.0
	for k := w; k <= n-w; k += stride {
		if d, unit := hinge(clip, k); math.Abs(d)/unit > bestT {
			bestK, bestT = k, math.Abs(d)/unit
		}
	}
	return bestK, bestK > 0
}
