package main

// Section (e): meridian's forecaster beside statsmodels' Holt-Winters and
// ETS, by rolling-origin back-test on public series (airline passengers,
// monthly, multiplicative season; El Nino sea temperatures, monthly; Mauna
// Loa co2, weekly) and on a generated hourly series with daily and weekly
// seasons, a level shift, a spike and AR(1) noise. Every model is scored
// the same way here: MASE (mean absolute error over the held-out steps,
// divided by the in-sample error of the seasonal naive forecast before the
// origin, averaged over origins), MAPE, and how often the 80% and 95%
// intervals held the held-out values. Targets: meridian's MASE at or below
// the best Holt-Winters/ETS MASE on every series, and its coverage within 8
// points of nominal on the hourly series. A missed target fails make bench.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/forecast"
)

// benchSeries is one series and its back-test, as the Python side reads
// and writes it.
type benchSeries struct {
	Name    string    `json:"name"`
	Values  []float64 `json:"values"`
	Period  int       `json:"period"`
	Horizon int       `json:"horizon"`
	Origins []int     `json:"origins"`
	Start   string    `json:"start"`
	Step    string    `json:"step"` // "1h", "1w" or "1mo"
	Hourly  bool      `json:"hourly"`
	Models  map[string][]struct {
		Mean    []float64 `json:"mean"`
		Lower80 []float64 `json:"lower80"`
		Upper80 []float64 `json:"upper80"`
		Lower95 []float64 `json:"lower95"`
		Upper95 []float64 `json:"upper95"`
		Error   string    `json:"error"`
	} `json:"models"`
}

// score is one model's result on one series.
type score struct {
	mase, mape     float64
	cov80, cov95   float64 // NaN: the model gives no interval
	chosen, failed string
}

// statsmodelsPython is Debian's python3, which has python3-statsmodels
// (pyenv's python3 on PATH does not).
const statsmodelsPython = "/usr/bin/python3"

func ensureStatsmodels(w io.Writer) error {
	if exec.Command(statsmodelsPython, "-c", "import statsmodels").Run() == nil {
		return nil
	}
	fmt.Fprintln(w, "installing python3-statsmodels with apt-get")
	for _, args := range [][]string{{"update", "-qq"}, {"install", "-y", "-qq", "python3-statsmodels"}} {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get %s: %v\n%s", args[0], err, out)
		}
	}
	return exec.Command(statsmodelsPython, "-c", "import statsmodels").Run()
}

// hourlyBench is eight weeks of hourly demand: a daily cycle, a weekend
// dip, AR(1) noise, a step up of 15% ten days before the first origin and
// one spike of +600.
func hourlyBench() benchSeries {
	const weeks, h = 8, 168
	r := rand.New(rand.NewPCG(21, 21))
	n := weeks * 168
	origins := []int{n - 3*h, n - 2*h, n - h}
	shiftAt, spikeAt := origins[0]-240, n/3
	var v []float64
	ar := 0.0
	for i := range n {
		ar = 0.7*ar + 3*r.NormFloat64()
		x := 100 + 25*math.Sin(2*math.Pi*float64(i-8)/24) + ar
		if (i/24)%7 >= 5 {
			x -= 35
		}
		if i >= shiftAt {
			x += 15
		}
		if i == spikeAt {
			x += 600
		}
		v = append(v, math.Max(0, x))
	}
	return benchSeries{Name: "hourly generated (day+week, shift, spike, AR(1))", Values: v, Period: 168, Horizon: h, Origins: origins,
		Start: "2026-08-03T00:00:00Z", Step: "1h", Hourly: true}
}

func airlineBench() (benchSeries, error) {
	f, err := os.Open("bench/testdata/airpassengers.csv")
	if err != nil {
		return benchSeries{}, err
	}
	defer f.Close()
	s, err := forecast.ReadCSV(f, 0)
	if err != nil {
		return benchSeries{}, err
	}
	n := len(s.Values)
	return benchSeries{Name: "airline passengers monthly (Box-Jenkins)", Values: s.Values, Period: 12, Horizon: 12,
		Origins: []int{n - 36, n - 24, n - 12}, Start: s.Start.Format(time.RFC3339), Step: "1mo"}, nil
}

func sectionE(w io.Writer, only string) bool {
	if only != "" && only != "e" {
		return true
	}
	fmt.Fprintln(w, "\n(e) forecasting: meridian beside statsmodels Holt-Winters / ETS, rolling-origin back-tests (3 origins per series)")
	if err := ensureStatsmodels(w); err != nil {
		fmt.Fprintf(w, "FAIL: statsmodels is not available: %v\n", err)
		return false
	}
	air, err := airlineBench()
	if err != nil {
		fmt.Fprintf(w, "FAIL: %v\n", err)
		return false
	}
	in, _ := json.Marshal([]benchSeries{air, hourlyBench()})
	cmd := exec.Command(statsmodelsPython, "bench/forecast_statsmodels.py")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		fmt.Fprintf(w, "FAIL: statsmodels side: %v\n%s\n", err, stderr.String())
		return false
	}
	var res struct {
		Statsmodels string        `json:"statsmodels"`
		Series      []benchSeries `json:"series"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		fmt.Fprintf(w, "FAIL: statsmodels output: %v\n", err)
		return false
	}
	fmt.Fprintf(w, "statsmodels %s (Debian python3-statsmodels); targets: meridian MASE <= best HW/ETS MASE on every series, coverage within 8 points of nominal on hourly\n", res.Statsmodels)
	ok := true
	for _, s := range res.Series {
		ok = benchOne(w, s) && ok
	}
	return ok
}

func benchOne(w io.Writer, s benchSeries) bool {
	scores := map[string]score{}
	// meridian: the same origins, seasons found by itself.
	start, _ := time.Parse(time.RFC3339, s.Start)
	step, months := time.Hour, 0
	switch s.Step {
	case "1w":
		step = 7 * 24 * time.Hour
	case "1mo":
		step, months = 730*time.Hour, 1
	}
	var means, lo80, hi80, lo95, hi95 [][]float64
	var chosen []string
	t0 := time.Now()
	for _, o := range s.Origins {
		hist := forecast.Series{Start: start, Step: step, Months: months, Values: s.Values[:o]}
		var m, l8, h8, l9, h9 []float64
		for _, cov := range []float64{0.8, 0.95} {
			f, err := forecast.Fit(hist, forecast.Options{Horizon: s.Horizon, Coverage: cov})
			if err != nil {
				fmt.Fprintf(w, "%s: FAIL: meridian: %v\n", s.Name, err)
				return false
			}
			for _, p := range f.Points {
				if cov == 0.8 {
					m, l8, h8 = append(m, p.Mean), append(l8, p.Lower), append(h8, p.Upper)
				} else {
					l9, h9 = append(l9, p.Lower), append(h9, p.Upper)
				}
			}
			if cov == 0.95 {
				chosen = append(chosen, f.Model)
			}
		}
		means, lo80, hi80, lo95, hi95 = append(means, m), append(lo80, l8), append(hi80, h8), append(lo95, l9), append(hi95, h9)
	}
	elapsed := time.Since(t0)
	sc := scoreModel(s, means, lo80, hi80, lo95, hi95)
	sc.chosen = strings.Join(dedupe(chosen), "; ")
	scores["meridian"] = sc
	for name, runs := range s.Models {
		var ms, l8, h8, l9, h9 [][]float64
		failed := ""
		for _, r := range runs {
			if r.Error != "" {
				failed = r.Error
				break
			}
			ms, l8, h8, l9, h9 = append(ms, r.Mean), append(l8, r.Lower80), append(h8, r.Upper80), append(l9, r.Lower95), append(h9, r.Upper95)
		}
		if failed != "" {
			scores[name] = score{failed: failed}
			continue
		}
		scores[name] = scoreModel(s, ms, l8, h8, l9, h9)
	}
	best, bestName := math.Inf(1), ""
	var names []string
	for name, sc := range scores {
		names = append(names, name)
		if name != "meridian" && sc.failed == "" && sc.mase < best {
			best, bestName = sc.mase, name
		}
	}
	sort.Strings(names)
	fmt.Fprintf(w, "\n%s: %d values, season %d, %d steps ahead from origins %v\n", s.Name, len(s.Values), s.Period, s.Horizon, s.Origins)
	fmt.Fprintf(w, "  %-36s %7s %7s %7s %7s\n", "model", "MASE", "MAPE%", "cov80", "cov95")
	for _, name := range names {
		sc := scores[name]
		if sc.failed != "" {
			fmt.Fprintf(w, "  %-36s failed: %s\n", name, sc.failed)
			continue
		}
		fmt.Fprintf(w, "  %-36s %7.3f %7.2f %7s %7s\n", name, sc.mase, sc.mape, pct(sc.cov80), pct(sc.cov95))
	}
	mer := scores["meridian"]
	fmt.Fprintf(w, "  meridian chose: %s (%.2fs for %d fits)\n", mer.chosen, elapsed.Seconds(), 2*len(s.Origins))
	ok := true
	verdict := func(pass bool, format string, a ...any) {
		word := "PASS"
		if !pass {
			word, ok = "FAIL", false
		}
		fmt.Fprintf(w, "  %s: %s\n", word, fmt.Sprintf(format, a...))
	}
	verdict(mer.mase <= best, "meridian MASE %.3f against the best HW/ETS %.3f (%s)", mer.mase, best, bestName)
	if s.Hourly {
		verdict(math.Abs(mer.cov80-0.8) <= 0.08, "80%% interval held %.1f%% of held-out hours", 100*mer.cov80)
		verdict(math.Abs(mer.cov95-0.95) <= 0.08, "95%% interval held %.1f%% of held-out hours", 100*mer.cov95)
	}
	return ok
}

// scoreModel scores forecasts from every origin against the held-out values.
func scoreModel(s benchSeries, means, lo80, hi80, lo95, hi95 [][]float64) score {
	var sc score
	var in80, in95, withPI, nPct int
	for i, o := range s.Origins {
		// The seasonal naive forecast's in-sample error scales this origin.
		var scale float64
		for t := s.Period; t < o; t++ {
			scale += math.Abs(s.Values[t] - s.Values[t-s.Period])
		}
		scale /= float64(o - s.Period)
		var abs float64
		for h, mu := range means[i] {
			y := s.Values[o+h]
			abs += math.Abs(y - mu)
			if y != 0 {
				sc.mape += math.Abs(y-mu) / math.Abs(y)
				nPct++
			}
			if len(lo80[i]) > h && len(lo95[i]) > h {
				withPI++
				if y >= lo80[i][h] && y <= hi80[i][h] {
					in80++
				}
				if y >= lo95[i][h] && y <= hi95[i][h] {
					in95++
				}
			}
		}
		sc.mase += abs / float64(len(means[i])) / scale / float64(len(s.Origins))
	}
	sc.mape = 100 * sc.mape / float64(max(1, nPct))
	sc.cov80, sc.cov95 = math.NaN(), math.NaN()
	if withPI > 0 {
		sc.cov80, sc.cov95 = float64(in80)/float64(withPI), float64(in95)/float64(withPI)
	}
	return sc
}

func pct(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.1f", 100*v)
}

func dedupe(v []string) []string {
	var out []string
	for _, s := range v {
		if len(out) == 0 || out[len(out)-1] != s {
			out = append(out, s)
		}
	}
	return out
}
