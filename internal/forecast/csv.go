package forecast

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// ReadCSV reads a demand history: one row per observation, either
// "timestamp,value" (RFC 3339 timestamps at a fixed step, as CloudWatch
// exports give them) or "value" alone, in which case the series starts at
// the zero time and step is the caller's (who must then know the start).
// The first row is a header only when every cell of it is a name (starts
// with a letter): "1O0" is a mistyped number, not a header. Timestamps fix
// Start and Step, and a gap or a change of step is an error: a silently
// shifted season would put scheduled scaling at the wrong hour. Timestamps
// a calendar month apart (or several) are a step of months. Every error
// names the file's line.
func ReadCSV(r io.Reader, step time.Duration) (Series, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.Comment = '#'
	var (
		s     = Series{Step: step}
		times []time.Time
		lines []int // the file line of each value
	)
	for first := true; ; first = false {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Series{}, fmt.Errorf("demand csv: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 0 || (len(rec) == 1 && strings.TrimSpace(rec[0]) == "") {
			continue
		}
		if len(rec) > 2 {
			return Series{}, fmt.Errorf("demand csv line %d: %d columns; expected value or timestamp,value", line, len(rec))
		}
		if first && header(rec) {
			continue
		}
		raw := strings.TrimSpace(rec[len(rec)-1])
		v, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return Series{}, fmt.Errorf("demand csv line %d: value %q is not a number", line, raw)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Series{}, fmt.Errorf("demand csv line %d: value is %v", line, v)
		}
		if len(rec) == 2 {
			ts, err := time.Parse(time.RFC3339, strings.TrimSpace(rec[0]))
			if err != nil {
				return Series{}, fmt.Errorf("demand csv line %d: timestamp %q is not RFC 3339", line, rec[0])
			}
			if len(times) != len(s.Values) {
				return Series{}, fmt.Errorf("demand csv line %d: a timestamp, but earlier rows have none", line)
			}
			times = append(times, ts)
		} else if len(times) > 0 {
			return Series{}, fmt.Errorf("demand csv line %d: no timestamp, but earlier rows have one", line)
		}
		s.Values = append(s.Values, v)
		lines = append(lines, line)
	}
	if len(times) == 0 {
		return s, nil
	}
	s.Start = times[0]
	if len(times) == 1 {
		return s, nil
	}
	if months := monthsApart(times[0], times[1]); months > 0 {
		s.Months, s.Step = months, time.Duration(months)*730*time.Hour
		for i := 1; i < len(times); i++ {
			if want := times[0].AddDate(0, i*months, 0); !times[i].Equal(want) {
				return Series{}, fmt.Errorf("demand csv line %d: %s, but %d months after line %d is %s; fill gaps before forecasting", lines[i], times[i].Format(time.RFC3339), i*months, lines[0], want.Format(time.RFC3339))
			}
		}
		return s, nil
	}
	s.Step = times[1].Sub(times[0])
	if s.Step <= 0 {
		return Series{}, fmt.Errorf("demand csv line %d: timestamps must increase; %s is not after %s (line %d)", lines[1], times[1].Format(time.RFC3339), times[0].Format(time.RFC3339), lines[0])
	}
	for i := 2; i < len(times); i++ {
		if d := times[i].Sub(times[i-1]); d != s.Step {
			return Series{}, fmt.Errorf("demand csv line %d: %s apart from line %d, but the step is %s; fill gaps before forecasting", lines[i], d, lines[i-1], s.Step)
		}
	}
	return s, nil
}

// header is whether a first row names its columns: every cell starts with
// a letter and is not a number ("Inf" and "NaN" parse as numbers).
func header(rec []string) bool {
	for _, cell := range rec {
		cell = strings.TrimSpace(cell)
		if cell == "" || !unicode.IsLetter([]rune(cell)[0]) {
			return false
		}
		if _, err := strconv.ParseFloat(cell, 64); err == nil {
			return false
		}
	}
	return true
}

// monthsApart is how many calendar months b is after a, when it is a whole
// number of them to the second (and at least 28 days apart); 0 otherwise.
func monthsApart(a, b time.Time) int {
	if b.Sub(a) < 28*24*time.Hour {
		return 0
	}
	m := (b.Year()-a.Year())*12 + int(b.Month()) - int(a.Month())
	if m > 0 && a.AddDate(0, m, 0).Equal(b) {
		return m
	}
	return 0
}

// WritePoints writes the per-step forecast, each step's mean and interval,
// as CSV (time,mean,lower,upper,std_dev) that ReadCSV-style tools and
// spreadsheets read.
func WritePoints(w io.Writer, pts []Point) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"time", "mean", "lower", "upper", "std_dev"})
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
	for _, p := range pts {
		_ = cw.Write([]string{p.Time.UTC().Format(time.RFC3339), num(p.Mean), num(p.Lower), num(p.Upper), num(p.StdDev)})
	}
	cw.Flush()
	return cw.Error()
}
