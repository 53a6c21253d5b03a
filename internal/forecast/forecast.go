// Package forecast predicts demand from a history of it: trend, seasons,
// prediction intervals, and the percentiles of demand over a horizon that
// capacity is bought against. It is pure; the only input it reads is a CSV
// stream handed to it.
//
// No single model suits every history, so several compete and the history
// itself chooses by rolling-origin back-test (see backtest.go): ordinary
// least squares with a linear trend and one dummy per season slot (closed
// form, reproducible, preferred on a tie), and Holt-Winters exponential
// smoothing with a damped trend and additive or multiplicative seasonality
// (which follows a recent level and a season that grows with demand). The
// seasons are detected (season.go), single spikes are clipped and a level
// shift is refitted from (clean.go) before any model sees the history, and
// the intervals are calibrated on the back-test errors rather than assumed.
package forecast

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Series is demand observed at a fixed step. Start places index 0 in time,
// which is what turns seasonal terms into clock times for scheduled scaling.
type Series struct {
	Start time.Time
	Step  time.Duration
	// Months, when set, makes the step that many calendar months (a monthly
	// history is not a fixed duration apart); Step is then only its
	// average length.
	Months int
	Values []float64
}

// At is the time of step i (i may run past the history).
func (s Series) At(i int) time.Time {
	if s.Months > 0 {
		return s.Start.AddDate(0, i*s.Months, 0)
	}
	return s.Start.Add(time.Duration(i) * s.Step)
}

// Options say what to fit and how far to look ahead.
type Options struct {
	// Period is the length of the seasonal cycle in steps (24 for a daily
	// cycle of hourly data, 168 for a weekly one); 1 means no seasonality
	// and 0 finds the seasons in the history (see Seasons).
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
	// Sigma is the residual standard deviation (clipped outliers excluded).
	Sigma  float64
	Points []Point

	// Model names the model chosen by back-test, and Why says why.
	Model string
	Why   string
	// Seasons are the cycles found in the history (or the one given),
	// in steps; Period is the one the chosen model uses.
	Seasons []int
	// BacktestMASE and BacktestMAPE are the chosen model's errors over the
	// rolling-origin back-test (MASE against the seasonal naive forecast;
	// MAPE in percent); Candidates are every model tried.
	BacktestMASE float64
	BacktestMAPE float64
	Candidates   []Candidate
	// EmpiricalCoverage is how often the calibrated intervals held the
	// back-test's held-out values (to compare with Coverage, the nominal).
	EmpiricalCoverage float64
	// Outliers were clipped before fitting; Shift is the level shift the
	// history was refitted from, if any.
	Outliers []Outlier
	Shift    *Shift
	// Break is the change of the trend's slope the history was refitted
	// from, if any (a history has a shift or a break, not both).
	Break *Break
	// Step is the history's step, to state a break's growth per day.
	step time.Duration
}

// Candidate is one model's rolling-origin back-test result.
type Candidate struct {
	Model string  `json:"model"`
	MASE  float64 `json:"mase"`
	MAPE  float64 `json:"mape"`
}

// Findings are what a person reviewing the plan should know about the
// history: the level shift and the outliers, in words.
func (f Forecast) Findings() []string {
	var out []string
	if f.Shift != nil {
		dir := "up"
		if f.Shift.Delta < 0 {
			dir = "down"
		}
		out = append(out, fmt.Sprintf("demand stepped %s %.3g on %s; the forecast is refitted from there", dir, math.Abs(f.Shift.Delta), f.Shift.Time.UTC().Format("2006-01-02 15:04")))
	}
	if b := f.Break; b != nil {
		perDay := 1.0 // per step, when the step is unknown
		if f.step > 0 {
			perDay = 24 * float64(time.Hour) / float64(f.step)
		}
		out = append(out, fmt.Sprintf("demand growth changed from %+.3g/day to %+.3g/day on %s; the forecast is refitted from there", b.Before*perDay, b.After*perDay, b.Time.UTC().Format("2006-01-02 15:04")))
	}
	for _, o := range f.Outliers {
		out = append(out, fmt.Sprintf("outlier %.4g at %s clipped to %.4g", o.Value, o.Time.UTC().Format("2006-01-02 15:04"), o.Clipped))
	}
	return out
}

// Fit cleans the history (outliers, a level shift), finds its seasons
// unless o.Period names one, back-tests every candidate model on it, and
// forecasts o.Horizon steps after its last value with the model that
// back-tested best, with intervals calibrated on the back-test's errors.
func Fit(s Series, o Options) (Forecast, error) {
	if o.Period < 0 {
		return Forecast{}, fmt.Errorf("forecast: seasonal period must be 1 or more steps (or 0 to find it), got %d", o.Period)
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
	seasons := []int{o.Period}
	if o.Period == 0 {
		// A cycle can be seen only in two of it: a history too short to
		// show the shortest cycle of its step (two days of hourly data)
		// is refused rather than forecast as if it had none.
		if lags := seasonLags(s); len(lags) > 0 && n < NeededHistory(lags[0]) {
			return Forecast{}, &HistoryError{Have: n, Need: NeededHistory(lags[0]), Period: lags[0]}
		}
		seasons = Seasons(s)
	}
	if need := NeededHistory(seasons[0]); n < need {
		return Forecast{}, &HistoryError{Have: n, Need: need, Period: seasons[0]}
	}
	// Outliers and shifts are judged against the longest season seen at
	// least three times (two cycles leave each slot too few values).
	judge := seasons[0]
	for _, m := range seasons {
		if n >= 3*m {
			judge = m
		}
	}
	y, outliers, shift, brk := clean(s, judge)

	f := Forecast{Coverage: o.Coverage, Seasons: seasons, Outliers: outliers, Shift: shift, Break: brk, step: s.Step}
	sel, ok := selectModel(y, seasons, o.Horizon, o.Coverage)
	if !ok {
		// Too short to hold any of it out: the regression alone, with the
		// textbook intervals that include the fitted trend's uncertainty.
		r, err := fitRegression(y, seasons[0])
		if err != nil {
			return Forecast{}, fmt.Errorf("forecast: %w", err)
		}
		f.Model, f.Period = regressionName(seasons[0]), seasons[0]
		f.Why = "the history is too short to hold part of it out for a back-test, so the closed-form regression is used with its textbook intervals"
		f.Level, f.Slope, f.Seasonal, f.Sigma = r.level(n-1), r.slope, r.seasonal(), r.sigma
		z := studentT(0.5+o.Coverage/2, r.dof)
		for h := 1; h <= o.Horizon; h++ {
			mu, sd := r.predict(n-1+h), r.predictSD(n-1+h)
			f.Points = append(f.Points, Point{Time: s.At(n - 1 + h), Mean: math.Max(0, mu), StdDev: sd, Lower: math.Max(0, mu-z*sd), Upper: mu + z*sd})
		}
		return f, nil
	}
	m, err := sel.best.fit(y, nil)
	if err != nil {
		return Forecast{}, fmt.Errorf("forecast: %w", err)
	}
	f.Model, f.Period, f.Why = sel.best.name(), sel.best.period, sel.why
	f.BacktestMASE, f.BacktestMAPE, f.Candidates = sel.mase, sel.mape, sel.candidates
	f.EmpiricalCoverage = sel.coverage
	f.Level, f.Slope, f.Seasonal, f.Sigma = m.level, m.slope, m.seasonal, m.sigma
	means := m.forecast(o.Horizon)
	if len(sel.combo) > 1 {
		means = make([]float64, o.Horizon)
		var names []string
		for _, c := range sel.combo {
			cm, err := c.fit(y, nil)
			if err != nil {
				return Forecast{}, fmt.Errorf("forecast: %w", err)
			}
			for i, v := range cm.forecast(o.Horizon) {
				means[i] += v / float64(len(sel.combo))
			}
			names = append(names, c.name())
		}
		f.Model = "mean of " + strings.Join(names, ", ")
	}
	z := math.Sqrt2 * math.Erfinv(o.Coverage)
	for h := 1; h <= o.Horizon; h++ {
		mu := means[h-1]
		sd := sel.spread(h)
		f.Points = append(f.Points, Point{Time: s.At(n - 1 + h), Mean: math.Max(0, mu), StdDev: sd, Lower: math.Max(0, mu-z*sd), Upper: math.Max(0, mu+z*sd)})
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
