package blueprint

import (
	"testing"
	"time"
)

// Compound durations, as Go and terraform write them, read everywhere.
func TestParseDurationCompound(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"1h30m": 90 * time.Minute, "41m10s": 41*time.Minute + 10*time.Second, "1d12h": 36 * time.Hour,
		"1w": 7 * 24 * time.Hour, "1h0m0s": time.Hour, "1m2.345s": time.Minute + 2345*time.Millisecond,
		"250ms": 250 * time.Millisecond, "1.5h": 90 * time.Minute, " 2h ": 2 * time.Hour,
	} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}

// What meridian prints, it reads back.
func TestFormatDurationRoundTrip(t *testing.T) {
	for d, want := range map[time.Duration]string{
		90 * time.Minute: "1h30m", 41*time.Minute + 10*time.Second: "41m10s", 2 * time.Hour: "2h",
		time.Hour + 30*time.Second: "1h0m30s", 1500 * time.Millisecond: "1.5s", 0: "0s", 45 * time.Minute: "45m",
	} {
		got := FormatDuration(d)
		if got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
		if back, err := ParseDuration(got); err != nil || back != d {
			t.Errorf("ParseDuration(FormatDuration(%v) = %q) = %v, %v", d, got, back, err)
		}
	}
}

// Every duration attribute of every blueprint takes the compound form.
func TestEveryDurationAttributeTakesCompoundDurations(t *testing.T) {
	p := drPolicy()
	p.RPO, p.RTO = "1h30m", "2h30m"
	p.Backup.Schedule = "rate(1 hour)"
	for _, pr := range p.Validate() {
		t.Errorf("dr policy with rpo %q, rto %q: %s", p.RPO, p.RTO, pr)
	}
	c := Capacity{
		Name: "web", PrimaryRegion: "us-east-1", SecondaryRegion: "us-west-2",
		InstanceTypes: []string{"m5.large"}, ImageID: "ami-12345678",
		Demand:  Demand{Values: make([]float64, 24*14), Start: "2026-09-01T00:00:00Z", Step: "1h0m", Season: "23h60m"},
		Horizon: "1w0d", ReviewInterval: "4w2d", RTO: "1h30m",
	}
	for i := range c.Demand.Values {
		c.Demand.Values[i] = 10
	}
	for _, pr := range c.WithDefaults().Validate(DefaultPrices()) {
		t.Errorf("capacity with compound durations: %s", pr)
	}
}
