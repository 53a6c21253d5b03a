// Package forecast predicts demand from a history of it: a trend, one
// seasonal cycle, prediction intervals, and the percentiles of demand over a
// horizon that capacity is bought against. It is pure; the only input it
// reads is a CSV stream handed to it.
//
// The model is ordinary least squares with a linear trend and one dummy per
// step of the season (y_t = c_{t mod m} + b*t + e_t), not Holt-Winters,
// because capacity is bought for months from a plan a person must be able to
// check: least squares has a closed form (no smoothing parameters to fit, so
// the same history always gives the same plan), its slope is the growth rate
// as written, its seasonal terms are the daily or weekly profile that
// scheduled scaling needs, and its prediction intervals come from textbook
// formulas that include the uncertainty of the fitted trend. What it gives up
// is adapting to a recent level shift; the right-sizing review is where such
// a shift shows up.
package forecast

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

// Series is demand observed at a fixed step. Start places index 0 in time,
// which is what turns seasonal terms into clock times for scheduled scaling.
type Series struct {
	Start  time.Time
	Step   time.Duration
	Values []float64
}

// Options say what to fit and how far to look ahead.
type Options struct {
	// Period is the length of the seasonal cycle in steps (24 for a daily
	// cycle of hourly data, 168 for a weekly one); 1 means no seasonality.
	Period int
	// Horizon is how many steps to forecast.
	Horizon int
	// Coverage is the probability the prediction intervals hold (e.g. 0.9).
	Coverage float64
}

// minResidualDOF is the least number of observations beyond the parameters:
// below it the residual variance, and so every interval, is a guess.
const minResidualDOF = 10

// NeededHistory is how many observations a fit with this period needs: two
// full cycles (so that trend and season can be told apart, each seasonal
// step being seen at two different times) and minResidualDOF beyond the
// period+1 parameters.
func NeededHistory(period int) int {
	return max(2*period, period+1+minResidualDOF)
}

// ErrHistory is wrapped by every error about the history itself.
var ErrHistory = errors.New("unusable demand history")

// HistoryError says that a history is too short, and how long it must be.
type HistoryError struct {
	Have, Need, Period int
}

func (e *HistoryError) Error() string {
	if e.Period > 1 {
		return fmt.Sprintf("%v: %d points, and a forecast with a seasonal period of %d steps needs at least %d (two full cycles and %d more than the %d fitted parameters)",
			ErrHistory, e.Have, e.Period, e.Need, minResidualDOF, e.Period+1)
	}
	return fmt.Sprintf("%v: %d points, and a forecast needs at least %d (%d more than the 2 fitted parameters)", ErrHistory, e.Have, e.Need, minResidualDOF)
}

func (e *HistoryError) Unwrap() error { return ErrHistory }

// Point is the forecast at one future step.
type Point struct {
	Time time.Time `json:"time"`
	// Mean is the expected demand; Lower and Upper bound it with the
	// forecast's coverage; StdDev is the predictive standard deviation.
	Mean   float64 `json:"mean"`
	Lower  float64 `json:"lower"`
	Upper  float64 `json:"upper"`
	StdDev float64 `json:"std_dev"`
}

// Forecast is a fitted model and its prediction over the horizon.
type Forecast struct {
	Period   int
	Coverage float64
	// Slope is the trend per step; Level is the deseasonalised demand at the
	// last observed step.
	Slope float64
	Level float64
	// Seasonal[k] is what step k of the cycle adds to the level; the terms sum to zero.
	Seasonal []float64
	// Sigma is the residual standard deviation.
	Sigma  float64
	Points []Point
}

// Fit fits the model to s and forecasts o.Horizon steps after its last value.
func Fit(s Series, o Options) (Forecast, error) {
	m := o.Period
	if m < 1 {
		return Forecast{}, fmt.Errorf("forecast: seasonal period must be 1 or more steps, got %d", m)
	}
	if o.Horizon < 1 {
		return Forecast{}, fmt.Errorf("forecast: horizon must be 1 or more steps, got %d", o.Horizon)
	}
	if !(o.Coverage > 0 && o.Coverage < 1) {
		return Forecast{}, fmt.Errorf("forecast: interval coverage must be between 0 and 1, got %v", o.Coverage)
	}
	for i, v := range s.Values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Forecast{}, fmt.Errorf("%w: value %d is %v; remove or fill it before forecasting", ErrHistory, i, v)
		}
		if v < 0 {
			return Forecast{}, fmt.Errorf("%w: value %d is %v; demand cannot be negative", ErrHistory, i, v)
		}
	}
	n := len(s.Values)
	if need := NeededHistory(m); n < need {
		return Forecast{}, &HistoryError{Have: n, Need: need, Period: m}
	}

	// Parameters: c_0..c_{m-1} (one level per seasonal step) and b (slope
	// on a centred, scaled time, which keeps the normal equations well
	// conditioned). Every row of the design matrix has two non-zeros, so
	// X'X is accumulated directly in O(n) rather than as a dense product.
	p := m + 1
	centre, scale := float64(n-1)/2, float64(n)
	tt := func(t int) float64 { return (float64(t) - centre) / scale }
	xtx := make([][]float64, p)
	for i := range xtx {
		xtx[i] = make([]float64, p)
	}
	xty := make([]float64, p)
	for t, y := range s.Values {
		k, u := t%m, tt(t)
		xtx[k][k]++
		xtx[k][m] += u
		xtx[m][k] += u
		xtx[m][m] += u * u
		xty[k] += y
		xty[m] += u * y
	}
	inv, err := invert(xtx)
	if err != nil {
		return Forecast{}, fmt.Errorf("forecast: %w", err)
	}
	beta := make([]float64, p)
	for i := range p {
		for j := range p {
			beta[i] += inv[i][j] * xty[j]
		}
	}
	predict := func(t int) float64 { return beta[t%m] + beta[m]*tt(t) }
	var rss float64
	for t, y := range s.Values {
		r := y - predict(t)
		rss += r * r
	}
	sigma := math.Sqrt(rss / float64(n-p))
	// Round-off of an exact fit (constant or noiseless input) is not noise.
	if sigma < 1e-9*(1+math.Abs(meanOf(s.Values))) {
		sigma = 0
	}

	f := Forecast{Period: m, Coverage: o.Coverage, Slope: beta[m] / scale, Sigma: sigma, Seasonal: make([]float64, m)}
	mean := meanOf(beta[:m])
	for k := range m {
		f.Seasonal[k] = beta[k] - mean
	}
	f.Level = mean + beta[m]*tt(n-1)
	z := studentT(0.5+o.Coverage/2, n-p)
	for h := 1; h <= o.Horizon; h++ {
		t := n - 1 + h
		k, u := t%m, tt(t)
		leverage := inv[k][k] + 2*u*inv[k][m] + u*u*inv[m][m]
		sd := sigma * math.Sqrt(1+leverage)
		mu := predict(t)
		f.Points = append(f.Points, Point{
			Time: s.Start.Add(time.Duration(t) * s.Step),
			Mean: mu, StdDev: sd,
			Lower: math.Max(0, mu-z*sd), Upper: mu + z*sd,
		})
	}
	return f, nil
}

// Quantile is the level that demand stays at or below for a share q of the
// horizon, forecast uncertainty included: the q-quantile of the mixture of
// the predictive normals of every step. Quantile(0.5) is the median demand
// over the horizon (a baseline), Quantile(0.95) what it reaches 5% of the
// time (a peak).
func (f Forecast) Quantile(q float64) float64 {
	if len(f.Points) == 0 {
		return 0
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range f.Points {
		lo = math.Min(lo, p.Mean-8*p.StdDev)
		hi = math.Max(hi, p.Mean+8*p.StdDev)
	}
	cdf := func(x float64) float64 {
		var sum float64
		for _, p := range f.Points {
			switch {
			case p.StdDev > 0:
				sum += 0.5 * math.Erfc(-(x-p.Mean)/(p.StdDev*math.Sqrt2))
			case x >= p.Mean:
				sum++
			}
		}
		return sum / float64(len(f.Points))
	}
	for range 200 {
		mid := (lo + hi) / 2
		if cdf(mid) < q {
			lo = mid
		} else {
			hi = mid
		}
	}
	return math.Max(0, hi)
}

// Growth is the relative change of the deseasonalised level from the last
// observed step to the end of the horizon (0.1 is 10% more demand).
func (f Forecast) Growth() float64 {
	if f.Level == 0 {
		return 0
	}
	return f.Slope * float64(len(f.Points)) / f.Level
}

// Review says how well a reserved level would have been used over a history.
type Review struct {
	// Utilisation is the mean share of the reservation that demand used.
	Utilisation float64 `json:"utilisation"`
	// UnderUsedShare is the share of steps when demand was below the reservation.
	UnderUsedShare float64 `json:"under_used_share"`
	// UnusedPeak is the largest amount of the reservation left idle at one step.
	UnusedPeak float64 `json:"unused_peak"`
}

// ReviewReservation replays history against a reservation of reserved units.
func ReviewReservation(history []float64, reserved float64) Review {
	if reserved <= 0 || len(history) == 0 {
		return Review{Utilisation: 1}
	}
	var used, under float64
	var r Review
	for _, v := range history {
		used += math.Min(v, reserved)
		if v < reserved {
			under++
			r.UnusedPeak = math.Max(r.UnusedPeak, reserved-v)
		}
	}
	r.Utilisation = used / reserved / float64(len(history))
	r.UnderUsedShare = under / float64(len(history))
	return r
}

// Profile averages the forecast means by clock hour (UTC) over the horizon;
// scheduled scaling is set from it. ok is false when the step is coarser
// than an hour, so the day has no shape to schedule by.
func (f Forecast) Profile(step time.Duration) (hours [24]float64, ok bool) {
	if step <= 0 || step > time.Hour || len(f.Points) == 0 {
		return hours, false
	}
	var counts [24]int
	for _, p := range f.Points {
		h := p.Time.UTC().Hour()
		hours[h] += p.Mean
		counts[h]++
	}
	for h := range hours {
		if counts[h] == 0 {
			return hours, false
		}
		hours[h] /= float64(counts[h])
	}
	return hours, true
}

func meanOf(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// Percentile is the q-quantile of values by linear interpolation.
func Percentile(values []float64, q float64) float64 {
	if len(values) == 0 {
		return 0
	}
	s := append([]float64(nil), values...)
	sort.Float64s(s)
	pos := q * float64(len(s)-1)
	i := int(pos)
	if i >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[i] + (pos-float64(i))*(s[i+1]-s[i])
}

// invert is Gauss-Jordan elimination with partial pivoting.
func invert(a [][]float64) ([][]float64, error) {
	n := len(a)
	m := make([][]float64, n)
	for i := range a {
		m[i] = make([]float64, 2*n)
		copy(m[i], a[i])
		m[i][n+i] = 1
	}
	for col := range n {
		piv := col
		for r := col + 1; r < n; r++ {
			if math.Abs(m[r][col]) > math.Abs(m[piv][col]) {
				piv = r
			}
		}
		if math.Abs(m[piv][col]) < 1e-12 {
			return nil, errors.New("the history does not determine the trend and every seasonal step (singular normal equations)")
		}
		m[col], m[piv] = m[piv], m[col]
		d := m[col][col]
		for j := range m[col] {
			m[col][j] /= d
		}
		for r := range n {
			if r == col || m[r][col] == 0 {
				continue
			}
			f := m[r][col]
			for j := range m[r] {
				m[r][j] -= f * m[col][j]
			}
		}
	}
	out := make([][]float64, n)
	for i := range m {
		out[i] = m[i][n:]
	}
	return out, nil
}

// studentT approximates the p-quantile of Student's t with dof degrees of
// freedom by the Cornish-Fisher expansion around the normal quantile; it is
// within 1% of the exact value from 10 degrees of freedom on, which is the
// least that NeededHistory allows.
func studentT(p float64, dof int) float64 {
	z := math.Sqrt2 * math.Erfinv(2*p-1)
	v := float64(dof)
	z3, z5, z7 := z*z*z, math.Pow(z, 5), math.Pow(z, 7)
	return z + (z3+z)/(4*v) + (5*z5+16*z3+3*z)/(96*v*v) + (3*z7+19*z5+17*z3-15*z)/(384*v*v*v)
}
