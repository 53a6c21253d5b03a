package forecast

import (
	"errors"
	"fmt"
	"math"
)

// regression is ordinary least squares with one level per season slot and
// a linear trend: y_t = c_{t mod m} + b*(t - centre) + e_t. Its normal
// equations are a diagonal block (the slots) bordered by the trend, so they
// are solved by the Schur complement in O(n + m), however long the season.
type regression struct {
	m             int
	c             []float64
	slope, centre float64
	sigma         float64
	dof           int
	// d, u and schur are what the prediction variance needs: the slot
	// counts, their summed centred times, and the trend's Schur complement.
	d, u  []float64
	schur float64
}

func regressionName(m int) string { return fmt.Sprintf("regression (season %d)", m) }

func fitRegression(y []float64, m int) (regression, error) {
	n := len(y)
	r := regression{m: m, c: make([]float64, m), centre: float64(n-1) / 2, d: make([]float64, m), u: make([]float64, m)}
	sy := make([]float64, m)
	var suu, suy float64
	for t, v := range y {
		k, u := t%m, float64(t)-r.centre
		r.d[k]++
		r.u[k] += u
		sy[k] += v
		suu += u * u
		suy += u * v
	}
	r.schur = suu
	num := suy
	for k := range m {
		if r.d[k] == 0 {
			return r, errors.New("the history does not determine the trend and every seasonal step (a season slot is never observed)")
		}
		r.schur -= r.u[k] * r.u[k] / r.d[k]
		num -= r.u[k] * sy[k] / r.d[k]
	}
	if r.schur < 1e-9*suu || suu == 0 {
		return r, errors.New("the history does not determine the trend and every seasonal step (singular normal equations)")
	}
	r.slope = num / r.schur
	for k := range m {
		r.c[k] = (sy[k] - r.u[k]*r.slope) / r.d[k]
	}
	var rss float64
	for t, v := range y {
		e := v - r.predict(t)
		rss += e * e
	}
	r.dof = n - m - 1
	if r.dof > 0 {
		r.sigma = math.Sqrt(rss / float64(r.dof))
	}
	// Round-off of an exact fit (constant or noiseless input) is not noise.
	if r.sigma < 1e-9*(1+math.Abs(meanOf(y))) {
		r.sigma = 0
	}
	return r, nil
}

func (r regression) predict(t int) float64 {
	return r.c[t%r.m] + r.slope*(float64(t)-r.centre)
}

// predictSD is the predictive standard deviation at t: the noise and the
// uncertainty of the slot's level and of the trend, from the inverse of the
// bordered normal equations.
func (r regression) predictSD(t int) float64 {
	k, u := t%r.m, float64(t)-r.centre
	a := r.u[k] / r.d[k]
	leverage := 1/r.d[k] + (a*a-2*u*a+u*u)/r.schur
	return r.sigma * math.Sqrt(1+leverage)
}

func (r regression) level(t int) float64 { return meanOf(r.c) + r.slope*(float64(t)-r.centre) }

func (r regression) seasonal() []float64 {
	mean, out := meanOf(r.c), make([]float64, r.m)
	for k := range r.m {
		out[k] = r.c[k] - mean
	}
	return out
}

// model is one candidate: a kind of model at one seasonal period.
type model struct {
	// "regression", "log-regression", or Holt-Winters: "additive",
	// "multiplicative" (on logs) or "factor" (seasonal factors on demand)
	kind   string
	period int
}

func (c model) name() string {
	if c.kind == "regression" {
		return regressionName(c.period)
	}
	if c.period == 1 {
		return "holt-winters damped trend (no season)"
	}
	if c.kind == "multiplicative" {
		return fmt.Sprintf("holt-winters multiplicative damped, on logs (season %d)", c.period)
	}
	if c.kind == "factor" {
		return fmt.Sprintf("holt-winters multiplicative damped (season %d)", c.period)
	}
	if c.kind == "log-regression" {
		return fmt.Sprintf("regression on logs: growth rate and multiplicative season (season %d)", c.period)
	}
	return fmt.Sprintf("holt-winters %s damped (season %d)", c.kind, c.period)
}

// fitted is a candidate fitted to one history.
type fitted struct {
	level, slope, sigma float64
	seasonal            []float64
	forecast            func(h int) []float64
	params              *hwParams
}

// fit fits the candidate to y. Holt-Winters reuses params when given, so a
// back-test fits the smoothing parameters once and then only runs the
// filter to each origin.
func (c model) fit(y []float64, params *hwParams) (fitted, error) {
	if c.kind == "regression" {
		r, err := fitRegression(y, c.period)
		if err != nil {
			return fitted{}, err
		}
		n := len(y)
		return fitted{level: r.level(n - 1), slope: r.slope, sigma: r.sigma, seasonal: r.seasonal(), forecast: func(h int) []float64 {
			out := make([]float64, h)
			for i := range out {
				out[i] = r.predict(n + i)
			}
			return out
		}}, nil
	}
	if c.kind == "multiplicative" {
		return fitLogHoltWinters(y, c.period, params)
	}
	if c.kind == "factor" {
		return fitHoltWinters(y, c.period, true, params)
	}
	if c.kind == "log-regression" {
		return fitLogRegression(y, c.period)
	}
	return fitHoltWinters(y, c.period, false, params)
}

// fitLogHoltWinters is the multiplicative season as Holt-Winters on the
// logarithm of demand: a season whose amplitude grows with the level is a
// constant one in logs, so the regression that starts the filter fits it
// over the whole history, and the smoothing weights need not chase a
// growing amplitude. The forecast is the exponential of the log forecast
// (the median, which is what MASE and the quantiles want).
func fitLogHoltWinters(y []float64, m int, params *hwParams) (fitted, error) {
	logs := make([]float64, len(y))
	for t, v := range y {
		if v <= 0 {
			return fitted{}, errors.New("a multiplicative season needs positive demand")
		}
		logs[t] = math.Log(v)
	}
	f, err := fitHoltWinters(logs, m, false, params)
	if err != nil {
		return f, err
	}
	f.level = math.Exp(f.level)
	for k := range f.seasonal {
		f.seasonal[k] = f.level * (math.Exp(f.seasonal[k]) - 1)
	}
	f.slope *= f.level
	inner := f.forecast
	f.forecast = func(h int) []float64 {
		out := inner(h)
		for i := range out {
			out[i] = math.Exp(out[i])
		}
		return out
	}
	f.sigma *= f.level // the log-scale sd, to first order in demand units
	return f, nil
}

// hwParams are the smoothing weights of level, trend and season, and the
// damping of the trend.
type hwParams struct {
	alpha, beta, gamma, phi float64
	// start, when set, is the initial state estimated with the weights
	// (the state just before the first step); otherwise the regression
	// on the history starts the filter.
	start *hwState
}

type hwState struct {
	l, b float64
	s    []float64 // by season slot t mod m
}

// hwStart initialises the state from a regression on the history: its
// level just before the first step, its slope, and its season (as factors
// for the multiplicative model).
func hwStart(y []float64, m int, mul bool) (hwState, error) {
	r, err := fitRegression(y, m)
	if err != nil {
		return hwState{}, err
	}
	st := hwState{l: r.level(-1), b: r.slope, s: r.seasonal()}
	if mul {
		mean := meanOf(y)
		if mean <= 0 {
			return hwState{}, errors.New("a multiplicative season needs positive demand")
		}
		for k := range st.s {
			st.s[k] = math.Max(0.05, 1+st.s[k]/mean)
		}
	}
	return st, nil
}

// hwRun filters y through the model and returns the end state and the sum
// of squared one-step errors (infinite when the level goes non-positive
// under a multiplicative season, which has no meaning).
func hwRun(y []float64, m int, mul bool, p hwParams, st hwState) (hwState, float64) {
	st.s = append([]float64(nil), st.s...)
	var sse float64
	for t, v := range y {
		k := t % m
		base := st.l + p.phi*st.b
		var l float64
		if mul {
			e := v - base*st.s[k]
			sse += e * e
			l = p.alpha*v/st.s[k] + (1-p.alpha)*base
			if l <= 0 {
				return st, math.Inf(1)
			}
			st.s[k] = p.gamma*v/l + (1-p.gamma)*st.s[k]
		} else {
			e := v - base - st.s[k]
			sse += e * e
			l = p.alpha*(v-st.s[k]) + (1-p.alpha)*base
			st.s[k] = p.gamma*(v-l) + (1-p.gamma)*st.s[k]
		}
		if m == 1 {
			st.s[k] = neutral(mul)
		}
		st.b = p.beta*(l-st.l) + (1-p.beta)*p.phi*st.b
		st.l = l
	}
	return st, sse
}

func fitHoltWinters(y []float64, m int, mul bool, given *hwParams) (fitted, error) {
	// A start that is estimated below begins from the first two cycles
	// only: the regression over the whole history would hand the filter
	// the average season, leaving it nothing to learn a changing one from.
	estimate := given == nil && m > 1 && m <= maxEstimatedSeason && len(y) > 2*m+1
	first := y
	if estimate {
		first = y[:2*m+1]
	}
	st0, err := hwStart(first, m, mul)
	if err != nil {
		return fitted{}, err
	}
	if m == 1 {
		st0.s = []float64{neutral(mul)}
	}
	p := hwParams{alpha: 0.3, beta: 0.02, gamma: 0.1, phi: 0.97}
	if given != nil {
		p = *given
		if p.start != nil {
			st0 = *p.start
		}
	} else {
		// Least squares of the one-step errors over the weights, in
		// unconstrained coordinates: 0<alpha<1, 0<beta<1, 0<gamma<1-alpha,
		// 0.8<phi<0.995 (a damped trend never runs away over a long horizon).
		sig := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
		decode := func(x []float64) hwParams {
			a := 0.001 + 0.998*sig(x[0])
			return hwParams{alpha: a, beta: 0.5 * sig(x[1]), gamma: (1 - a) * sig(x[2]), phi: 0.8 + 0.195*sig(x[3])}
		}
		logit := func(v float64) float64 { return math.Log(v / (1 - v)) }
		sse := func(x []float64) float64 {
			_, sse := hwRun(y, m, mul, decode(x), st0)
			return sse
		}
		// Three starts (a nimble level, a steady one, a nimble season):
		// the error surface has more than one valley.
		best := math.Inf(1)
		for _, start := range [][]float64{{0.3, 0.04, 0.1 / 0.7, 0.9}, {0.1, 0.02, 0.05 / 0.9, 0.9}, {0.5, 0.1, 0.3 / 0.5, 0.5}} {
			x := nelderMead(sse, []float64{logit(start[0]), logit(start[1] / 0.5), logit(start[2]), logit(start[3])}, 200)
			if v := sse(x); v < best {
				best, p = v, decode(x)
			}
		}
		if estimate {
			st0, p = estimateState(y, m, mul, st0, p)
			p.start = &st0
		}
	}
	st, sse := hwRun(y, m, mul, p, st0)
	if math.IsInf(sse, 1) || math.IsNaN(sse) {
		return fitted{}, errors.New("holt-winters diverged")
	}
	f := fitted{level: st.l, sigma: math.Sqrt(sse / float64(len(y))), params: &p}
	f.seasonal = make([]float64, m)
	for k := range m {
		if mul {
			f.seasonal[k] = st.l * (st.s[k] - 1)
		} else {
			f.seasonal[k] = st.s[k]
		}
	}
	n := len(y)
	f.forecast = func(h int) []float64 {
		out := make([]float64, h)
		damp, pow := 0.0, 1.0
		for i := range out {
			pow *= p.phi
			damp += pow
			base := st.l + damp*st.b
			if k := (n + i) % m; mul {
				out[i] = base * st.s[k]
			} else {
				out[i] = base + st.s[k]
			}
		}
		return out
	}
	// Slope is the mean trend per step over a horizon of a season (or 24
	// steps): the damped trend flattens.
	span := max(m, 24)
	f.slope = st.b * (1 - math.Pow(p.phi, float64(span))) * p.phi / (1 - p.phi) / float64(span)
	return f, nil
}

// nelderMead minimises f from x0 with the downhill simplex in at most iter
// evaluations: a few smoothing weights need no gradient.
func nelderMead(f func([]float64) float64, x0 []float64, iter int) []float64 {
	return nelderMeadStep(f, x0, iter, 1)
}

// nelderMeadStep is nelderMead with the first simplex step sized by step.
func nelderMeadStep(f func([]float64) float64, x0 []float64, iter int, step float64) []float64 {
	d := len(x0)
	pts := make([][]float64, d+1)
	vals := make([]float64, d+1)
	for i := range pts {
		pts[i] = append([]float64(nil), x0...)
		if i > 0 {
			pts[i][i-1] += step
		}
		vals[i] = f(pts[i])
	}
	at := func(c []float64, x []float64, t float64) []float64 {
		out := make([]float64, d)
		for j := range out {
			out[j] = c[j] + t*(x[j]-c[j])
		}
		return out
	}
	for evals := d + 1; evals < iter; {
		// Order best to worst.
		for i := 1; i <= d; i++ {
			for j := i; j > 0 && vals[j] < vals[j-1]; j-- {
				vals[j], vals[j-1] = vals[j-1], vals[j]
				pts[j], pts[j-1] = pts[j-1], pts[j]
			}
		}
		c := make([]float64, d)
		for i := range d {
			for j := range c {
				c[j] += pts[i][j] / float64(d)
			}
		}
		r := at(c, pts[d], -1)
		fr := f(r)
		evals++
		switch {
		case fr < vals[0]:
			e := at(c, pts[d], -2)
			if fe := f(e); fe < fr {
				pts[d], vals[d] = e, fe
			} else {
				pts[d], vals[d] = r, fr
			}
			evals++
		case fr < vals[d-1]:
			pts[d], vals[d] = r, fr
		default:
			k := at(c, pts[d], 0.5)
			if fk := f(k); fk < vals[d] {
				pts[d], vals[d] = k, fk
			} else {
				for i := 1; i <= d; i++ {
					pts[i] = at(pts[0], pts[i], 0.5)
					vals[i] = f(pts[i])
				}
				evals += d
			}
			evals++
		}
	}
	best := 0
	for i := range vals {
		if vals[i] < vals[best] {
			best = i
		}
	}
	return pts[best]
}

// neutral is the season of a model without one: a factor of 1, or 0 added.
func neutral(mul bool) float64 {
	if mul {
		return 1
	}
	return 0
}

// fitLogRegression is the regression on the logarithm of demand: a
// constant growth rate and a season that scales with the level, the
// classic model of a series such as airline passengers.
func fitLogRegression(y []float64, m int) (fitted, error) {
	logs := make([]float64, len(y))
	for t, v := range y {
		if v <= 0 {
			return fitted{}, errors.New("a multiplicative season needs positive demand")
		}
		logs[t] = math.Log(v)
	}
	r, err := fitRegression(logs, m)
	if err != nil {
		return fitted{}, err
	}
	n := len(y)
	level := math.Exp(r.level(n - 1))
	f := fitted{level: level, slope: level * (math.Exp(r.slope) - 1), sigma: level * r.sigma, seasonal: r.seasonal()}
	for k := range f.seasonal {
		f.seasonal[k] = level * (math.Exp(f.seasonal[k]) - 1)
	}
	f.forecast = func(h int) []float64 {
		out := make([]float64, h)
		for i := range out {
			out[i] = math.Exp(r.predict(n + i))
		}
		return out
	}
	return f, nil
}

// maxEstimatedSeason is the longest season whose initial state is
// estimated with the weights: each slot is one more dimension of the
// search: a yearly season of weeks (52) already takes seconds per fit.
const maxEstimatedSeason = 24

// estimateState refines the starting level, trend and season together
// with the weights by least squares of the one-step errors. The regression
// start fits the season of the whole history, which leaves the filter no
// error to learn a changing season from (gamma falls to 0); estimated,
// the start is where the season was at the beginning, as statsmodels'
// "estimated" initialisation does.
func estimateState(y []float64, m int, mul bool, st0 hwState, p hwParams) (hwState, hwParams) {
	sig := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	logit := func(v float64) float64 { return math.Log(v / (1 - v)) }
	// The state is scaled by the level so that one simplex step moves
	// every coordinate by a comparable amount.
	scale := math.Max(math.Abs(st0.l), 1e-9)
	decode := func(x []float64) (hwState, hwParams) {
		a := 0.001 + 0.998*sig(x[0])
		q := hwParams{alpha: a, beta: 0.5 * sig(x[1]), gamma: (1 - a) * sig(x[2]), phi: 0.8 + 0.195*sig(x[3])}
		st := hwState{l: x[4] * scale, b: x[5] * scale / 100, s: make([]float64, m)}
		for k := range m {
			if mul {
				st.s[k] = math.Max(0.01, x[6+k])
			} else {
				st.s[k] = x[6+k] * scale
			}
		}
		return st, q
	}
	clamp := func(v float64) float64 { return math.Max(1e-6, math.Min(1-1e-6, v)) }
	x0 := []float64{logit(clamp((p.alpha - 0.001) / 0.998)), logit(clamp(p.beta / 0.5)), logit(clamp(p.gamma / (1 - p.alpha))), logit(clamp((p.phi - 0.8) / 0.195)), st0.l / scale, st0.b * 100 / scale}
	for k := range m {
		if mul {
			x0 = append(x0, st0.s[k])
		} else {
			x0 = append(x0, st0.s[k]/scale)
		}
	}
	sse := func(x []float64) float64 {
		st, q := decode(x)
		_, v := hwRun(y, m, mul, q, st)
		return v
	}
	x := nelderMeadStep(sse, x0, 200*len(x0), 0.1)
	if sse(x) >= sse(x0) {
		return st0, p
	}
	return decode(x)
}
