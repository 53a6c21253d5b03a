package forecast

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

var start = time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)

// synthetic is hourly demand with a known level, trend, daily cycle and noise.
func synthetic(n int, level, slope, amplitude, noise float64, seed uint64) Series {
	r := rand.New(rand.NewPCG(seed, 1))
	s := Series{Start: start, Step: time.Hour}
	for t := range n {
		v := level + slope*float64(t) + amplitude*math.Sin(2*math.Pi*float64(t)/24) + noise*r.NormFloat64()
		s.Values = append(s.Values, v)
	}
	return s
}

func TestRecoversTrendAndSeason(t *testing.T) {
	const (
		n, level, slope, amp, noise = 24 * 28, 100.0, 0.05, 20.0, 3.0
	)
	s := synthetic(n, level, slope, amp, noise, 7)
	f, err := Fit(s, Options{Period: 24, Horizon: 24 * 14, Coverage: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	// Tolerances: ~5 standard errors of each estimate at this noise level.
	if math.Abs(f.Slope-slope) > 0.005 {
		t.Errorf("slope %.4f, want %.4f ± 0.005", f.Slope, slope)
	}
	for k := range 24 {
		want := amp * math.Sin(2*math.Pi*float64(k)/24)
		if math.Abs(f.Seasonal[k]-want) > 2.5 {
			t.Errorf("seasonal[%d] = %.2f, want %.2f ± 2.5", k, f.Seasonal[k], want)
		}
	}
	if math.Abs(f.Sigma-noise) > 0.4 {
		t.Errorf("sigma %.2f, want %.2f ± 0.4", f.Sigma, noise)
	}
	wantLevel := level + slope*float64(n-1)
	if math.Abs(f.Level-wantLevel) > 1.5 {
		t.Errorf("level %.2f, want %.2f ± 1.5", f.Level, wantLevel)
	}
	wantGrowth := slope * float64(24*14) / wantLevel
	if math.Abs(f.Growth()-wantGrowth) > 0.02 {
		t.Errorf("growth %.3f, want %.3f ± 0.02", f.Growth(), wantGrowth)
	}
	if got := f.Points[0].Time; !got.Equal(start.Add(time.Duration(n) * time.Hour)) {
		t.Errorf("first forecast point at %s, want the step after the history", got)
	}

	// The intervals must hold on data the fit never saw, about as often as claimed.
	// Fresh noise: the same seed would replay the history's draws.
	r := rand.New(rand.NewPCG(99, 2))
	inside := 0
	for h, p := range f.Points {
		truth := level + slope*float64(n+h) + amp*math.Sin(2*math.Pi*float64(n+h)/24) + noise*r.NormFloat64()
		if truth >= p.Lower && truth <= p.Upper {
			inside++
		}
	}
	if cov := float64(inside) / float64(len(f.Points)); cov < 0.84 || cov > 0.96 {
		t.Errorf("90%% intervals held for %.1f%% of held-out points, want 84-96%%", 100*cov)
	}

	// Baseline and peak: the median and the 95th percentile of demand over
	// the horizon. Without noise the horizon's demand is level+trend+sine,
	// whose median is its mid level and whose 95th percentile is near the
	// top of the cycle.
	mid := level + slope*(float64(n)+float64(24*14)/2)
	if b := f.Quantile(0.5); math.Abs(b-mid) > 3 {
		t.Errorf("P50 over the horizon %.1f, want %.1f ± 3", b, mid)
	}
	if p := f.Quantile(0.95); p < mid+amp*0.9 || p > mid+amp+4*noise+slope*24*7 {
		t.Errorf("P95 over the horizon %.1f, want between %.1f and %.1f", p, mid+amp*0.9, mid+amp+4*noise+slope*24*7)
	}
	if f.Quantile(0.95) <= f.Quantile(0.5) {
		t.Error("P95 must exceed P50")
	}
}

func TestWeeklySeason(t *testing.T) {
	// Weekdays at 200, weekends at 80, daily data, flat.
	s := Series{Start: start, Step: 24 * time.Hour}
	for d := range 7 * 8 {
		v := 200.0
		if d%7 >= 5 {
			v = 80
		}
		s.Values = append(s.Values, v)
	}
	f, err := Fit(s, Options{Period: 7, Horizon: 14, Coverage: 0.8})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(f.Slope) > 1e-9 || f.Sigma != 0 {
		t.Errorf("slope %v sigma %v, want 0 and 0 for a noiseless flat series", f.Slope, f.Sigma)
	}
	for h, p := range f.Points {
		want := 200.0
		if (len(s.Values)+h)%7 >= 5 {
			want = 80
		}
		if math.Abs(p.Mean-want) > 1e-6 || p.Lower != p.Upper && math.Abs(p.Upper-p.Lower) > 1e-6 {
			t.Errorf("point %d: %+v, want exactly %v", h, p, want)
		}
	}
	if q := f.Quantile(0.5); math.Abs(q-200) > 1e-6 {
		t.Errorf("P50 %v, want 200 (10 of 14 days are weekdays)", q)
	}
	if q := f.Quantile(0.1); math.Abs(q-80) > 1e-6 {
		t.Errorf("P10 %v, want 80", q)
	}
}

func TestDegenerateInput(t *testing.T) {
	constant := make([]float64, 48)
	for i := range constant {
		constant[i] = 12
	}
	f, err := Fit(Series{Start: start, Step: time.Hour, Values: constant}, Options{Period: 24, Horizon: 24, Coverage: 0.9})
	if err != nil {
		t.Fatalf("constant series: %v", err)
	}
	if f.Sigma != 0 || math.Abs(f.Slope) > 1e-12 || math.Abs(f.Quantile(0.5)-12) > 1e-9 || math.Abs(f.Quantile(0.95)-12) > 1e-9 || math.Abs(f.Growth()) > 1e-12 {
		t.Errorf("constant series: sigma %v slope %v P50 %v P95 %v growth %v; want 0, 0, 12, 12, 0", f.Sigma, f.Slope, f.Quantile(0.5), f.Quantile(0.95), f.Growth())
	}

	for _, tc := range []struct {
		name   string
		values []float64
		period int
		want   string
	}{
		{"empty", nil, 24, "0 points, and a forecast with a seasonal period of 24 steps needs at least 48"},
		{"one point", []float64{5}, 24, "1 points, and a forecast with a seasonal period of 24 steps needs at least 48"},
		{"one point, no season", []float64{5}, 1, "1 points, and a forecast needs at least 12"},
		{"47 of 48", constant[:47], 24, "47 points, and a forecast with a seasonal period of 24 steps needs at least 48"},
		{"weekly needs two weeks", make([]float64, 200), 168, "needs at least 336"},
	} {
		_, err := Fit(Series{Step: time.Hour, Values: tc.values}, Options{Period: tc.period, Horizon: 24, Coverage: 0.9})
		var he *HistoryError
		if !errors.As(err, &he) || !errors.Is(err, ErrHistory) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want a HistoryError containing %q", tc.name, err, tc.want)
		}
	}

	nan := append([]float64(nil), constant...)
	nan[30] = math.NaN()
	if _, err := Fit(Series{Values: nan}, Options{Period: 24, Horizon: 1, Coverage: 0.9}); err == nil || !strings.Contains(err.Error(), "value 30 is NaN") {
		t.Errorf("NaN: error %v, want one naming value 30", err)
	}
	neg := append([]float64(nil), constant...)
	neg[3] = -1
	if _, err := Fit(Series{Values: neg}, Options{Period: 24, Horizon: 1, Coverage: 0.9}); err == nil || !strings.Contains(err.Error(), "value 3 is -1") {
		t.Errorf("negative: error %v, want one naming value 3", err)
	}
	for _, o := range []Options{{Period: -1, Horizon: 1, Coverage: 0.9}, {Period: 1, Horizon: 0, Coverage: 0.9}, {Period: 1, Horizon: 1, Coverage: 1}} {
		if _, err := Fit(Series{Values: constant}, o); err == nil {
			t.Errorf("options %+v: no error", o)
		}
	}
}

func TestReviewReservation(t *testing.T) {
	r := ReviewReservation([]float64{10, 5, 10, 15}, 10)
	if math.Abs(r.Utilisation-0.875) > 1e-12 || r.UnderUsedShare != 0.25 || r.UnusedPeak != 5 {
		t.Errorf("review %+v, want utilisation 0.875, under-used 0.25, unused peak 5", r)
	}
	if r := ReviewReservation([]float64{1}, 0); r.Utilisation != 1 {
		t.Errorf("no reservation: %+v, want utilisation 1", r)
	}
}

func TestProfile(t *testing.T) {
	f, err := Fit(synthetic(24*7, 50, 0, 10, 0, 1), Options{Period: 24, Horizon: 48, Coverage: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	hours, ok := f.Profile(time.Hour)
	if !ok {
		t.Fatal("no profile for hourly data")
	}
	if math.Abs(hours[6]-60) > 1e-6 || math.Abs(hours[18]-40) > 1e-6 {
		t.Errorf("profile at 06h %.2f and 18h %.2f, want 60 and 40", hours[6], hours[18])
	}
	if _, ok := f.Profile(24 * time.Hour); ok {
		t.Error("daily data has no hourly profile")
	}
}

func TestPercentile(t *testing.T) {
	if p := Percentile([]float64{4, 1, 3, 2}, 0.5); p != 2.5 {
		t.Errorf("median %v, want 2.5", p)
	}
	if p := Percentile(nil, 0.5); p != 0 {
		t.Errorf("empty %v, want 0", p)
	}
}

func TestReadCSV(t *testing.T) {
	s, err := ReadCSV(strings.NewReader("timestamp,value\n2026-09-01T00:00:00Z,10\n2026-09-01T01:00:00Z, 12.5\n# a comment\n2026-09-01T02:00:00Z,11\n"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Start.Equal(start) || s.Step != time.Hour || len(s.Values) != 3 || s.Values[1] != 12.5 {
		t.Errorf("series %+v", s)
	}
	s, err = ReadCSV(strings.NewReader("demand\n1\n2\n3\n"), 5*time.Minute)
	if err != nil || s.Step != 5*time.Minute || len(s.Values) != 3 {
		t.Errorf("values only: %+v, %v", s, err)
	}
	for _, tc := range []struct{ in, want string }{
		{"1\nx\n", "line 2: value \"x\" is not a number"},
		{"2026-09-01T00:00:00Z,1\n2026-09-01T01:00:00Z,1\n2026-09-01T03:00:00Z,1\n", "line 3: 2h0m0s apart from line 2"},
		{"yesterday,1\n", "not RFC 3339"},
		{"1,2,3\n", "3 columns"},
		{"1\nNaN\n", "NaN"},
	} {
		if _, err := ReadCSV(strings.NewReader(tc.in), time.Hour); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.in, err, tc.want)
		}
	}
}

func BenchmarkFitWeeklyHourly(b *testing.B) {
	s := synthetic(24*7*8, 100, 0.01, 20, 3, 3)
	for b.Loop() {
		if _, err := Fit(s, Options{Period: 168, Horizon: 24 * 30, Coverage: 0.9}); err != nil {
			b.Fatal(err)
		}
	}
}
