package blueprint

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// durationUnits are the units of every duration meridian reads: Go's and
// terraform's (ns to h) and the days and weeks capacity is planned in.
var durationUnits = map[string]time.Duration{
	"ns": time.Nanosecond, "us": time.Microsecond, "µs": time.Microsecond, "ms": time.Millisecond,
	"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour,
}

var (
	durationPattern   = regexp.MustCompile(`^(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h|d|w))+$`)
	durationComponent = regexp.MustCompile(`([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h|d|w)`)
)

// ParseDuration reads every duration meridian takes: a number and a unit
// ("90s", "15m", "1.5h", "1d", "4w") or several of them ("1h30m", "41m10s",
// "1d12h"), as Go and terraform write durations, so what meridian prints
// (FormatDuration, a runbook's estimate, a drill's measurement) reads back.
// A number without a unit is an error: RPO in minutes and RTO in hours is
// exactly the confusion to avoid.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("required, with a unit, e.g. \"15m\" or \"4h\"")
	}
	if !durationPattern.MatchString(s) {
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return 0, fmt.Errorf("%q has no unit; write it with one: s, m, h or d (e.g. \"%sm\" or \"%sh\")", s, s, s)
		}
		return 0, fmt.Errorf("%q is not a duration; write numbers with units: ms, s, m, h, d or w (e.g. \"15m\", \"1h30m\", \"1d\")", s)
	}
	var d time.Duration
	for _, c := range durationComponent.FindAllStringSubmatch(s, -1) {
		n, _ := strconv.ParseFloat(c[1], 64)
		d += time.Duration(n * float64(durationUnits[c[2]]))
	}
	return d, nil
}

// FormatDuration writes d as ParseDuration reads it, the way Go does without
// the zero units it appends: "1h30m", "41m10s", "2h", "1.5s".
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
