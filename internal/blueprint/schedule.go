package blueprint

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var ratePattern = regexp.MustCompile(`^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$`)

// ScheduleInterval is the longest gap between two runs of an AWS Backup
// schedule expression: "rate(N unit)", or "cron(min hour dom month dow year)"
// evaluated over four weeks, so that "cron(0 2 * * ? *)" gives 24h and
// "cron(0 2 ? * MON *)" gives a week.
func ScheduleInterval(expr string) (time.Duration, error) {
	expr = strings.TrimSpace(expr)
	if m := ratePattern.FindStringSubmatch(expr); m != nil {
		n, _ := strconv.Atoi(m[1])
		if n < 1 {
			return 0, fmt.Errorf("schedule %q: the rate must be at least 1", expr)
		}
		unit := map[byte]time.Duration{'m': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}[m[2][0]]
		return time.Duration(n) * unit, nil
	}
	if !strings.HasPrefix(expr, "cron(") || !strings.HasSuffix(expr, ")") {
		return 0, fmt.Errorf("schedule %q is not an AWS Backup expression: use \"rate(1 hour)\" or \"cron(0 * * * ? *)\"", expr)
	}
	f := strings.Fields(expr[5 : len(expr)-1])
	if len(f) != 6 {
		return 0, fmt.Errorf("schedule %q: cron takes six fields (minute hour day-of-month month day-of-week year)", expr)
	}
	minutes, err1 := cronField(f[0], 0, 59, nil)
	hours, err2 := cronField(f[1], 0, 23, nil)
	dom, err3 := cronField(f[2], 1, 31, nil)
	dow, err4 := cronField(f[4], 1, 7, map[string]int{"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7})
	for _, err := range []error{err1, err2, err3, err4} {
		if err != nil {
			return 0, fmt.Errorf("schedule %q: %v", expr, err)
		}
	}
	// Walk four weeks of minutes from a Sunday; months and years are taken as "every".
	start := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	var runs []time.Time
	for t := start; t.Before(start.Add(28 * 24 * time.Hour)); t = t.Add(time.Minute) {
		if minutes[t.Minute()] && hours[t.Hour()] && dom[t.Day()] && dow[int(t.Weekday())+1] {
			runs = append(runs, t)
		}
	}
	if len(runs) < 2 {
		return 0, fmt.Errorf("schedule %q runs less than twice in four weeks; meridian cannot check it against the RPO", expr)
	}
	var gap time.Duration
	for i := 1; i < len(runs); i++ {
		gap = max(gap, runs[i].Sub(runs[i-1]))
	}
	// The wrap-around from the last run back to the first, four weeks on.
	return max(gap, runs[0].Add(28*24*time.Hour).Sub(runs[len(runs)-1])), nil
}

// cronField expands one cron field into the set of values it matches.
func cronField(field string, lo, hi int, names map[string]int) (map[int]bool, error) {
	out := map[int]bool{}
	if field == "*" || field == "?" {
		for v := lo; v <= hi; v++ {
			out[v] = true
		}
		return out, nil
	}
	value := func(s string) (int, error) {
		if n, ok := names[strings.ToUpper(s)]; ok {
			return n, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < lo || n > hi {
			return 0, fmt.Errorf("%q is not a value between %d and %d", s, lo, hi)
		}
		return n, nil
	}
	for _, part := range strings.Split(field, ",") {
		step := 1
		if base, s, ok := strings.Cut(part, "/"); ok {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("step %q", s)
			}
			part, step = base, n
		}
		from, to := lo, hi
		switch a, b, isRange := strings.Cut(part, "-"); {
		case part == "*":
		case isRange:
			var err error
			if from, err = value(a); err != nil {
				return nil, err
			}
			if to, err = value(b); err != nil {
				return nil, err
			}
		default:
			v, err := value(part)
			if err != nil {
				return nil, err
			}
			from, to = v, v
			if step > 1 {
				to = hi
			}
		}
		for v := from; v <= to; v += step {
			out[v] = true
		}
	}
	return out, nil
}
