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
)

// ReadCSV reads a demand history: one row per observation, either
// "timestamp,value" (RFC 3339 timestamps at a fixed step, as CloudWatch
// exports give them) or "value" alone, in which case the series starts at
// the zero time and step is the caller's. A header row is recognised by a
// value that is not a number and skipped. Timestamps fix Start and Step, and
// a gap or a change of step is an error: a silently shifted season would put
// scheduled scaling at the wrong hour.
func ReadCSV(r io.Reader, step time.Duration) (Series, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.Comment = '#'
	var (
		s     = Series{Step: step}
		times []time.Time
	)
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Series{}, fmt.Errorf("demand csv: %w", err)
		}
		if len(rec) == 0 || (len(rec) == 1 && strings.TrimSpace(rec[0]) == "") {
			continue
		}
		if len(rec) > 2 {
			return Series{}, fmt.Errorf("demand csv line %d: %d columns; expected value or timestamp,value", line, len(rec))
		}
		raw := strings.TrimSpace(rec[len(rec)-1])
		v, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			if line == 1 && len(s.Values) == 0 {
				continue // header
			}
			return Series{}, fmt.Errorf("demand csv line %d: value %q is not a number", line, raw)
		}
		if math.IsNaN(v) {
			return Series{}, fmt.Errorf("demand csv line %d: value is NaN", line)
		}
		if len(rec) == 2 {
			ts, err := time.Parse(time.RFC3339, strings.TrimSpace(rec[0]))
			if err != nil {
				return Series{}, fmt.Errorf("demand csv line %d: timestamp %q is not RFC 3339", line, rec[0])
			}
			times = append(times, ts)
		} else if len(times) > 0 {
			return Series{}, fmt.Errorf("demand csv line %d: no timestamp, but earlier rows have one", line)
		}
		s.Values = append(s.Values, v)
	}
	if len(times) > 0 {
		if len(times) != len(s.Values) {
			return Series{}, errors.New("demand csv: the first rows have no timestamp, later ones do")
		}
		s.Start = times[0]
		if len(times) > 1 {
			s.Step = times[1].Sub(times[0])
			if s.Step <= 0 {
				return Series{}, fmt.Errorf("demand csv: timestamps must increase; row 2 (%s) is not after row 1 (%s)", times[1].Format(time.RFC3339), times[0].Format(time.RFC3339))
			}
		}
		for i := 2; i < len(times); i++ {
			if d := times[i].Sub(times[i-1]); d != s.Step {
				return Series{}, fmt.Errorf("demand csv: rows %d and %d are %s apart, but the step is %s; fill gaps before forecasting", i, i+1, d, s.Step)
			}
		}
	}
	return s, nil
}
