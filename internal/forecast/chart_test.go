package forecast

import (
	"encoding/xml"
	"math"
	"strings"
	"testing"
)

type svgDoc struct {
	Polylines []struct {
		Class  string `xml:"class,attr"`
		Points string `xml:"points,attr"`
	} `xml:"polyline"`
	Polygons []struct {
		Points string `xml:"points,attr"`
	} `xml:"polygon"`
	Lines []struct {
		Class string  `xml:"class,attr"`
		Y1    float64 `xml:"y1,attr"`
	} `xml:"line"`
	Texts []string `xml:"text"`
}

func TestWriteSVG(t *testing.T) {
	s := synthetic(24*7, 40, 0.02, 8, 1, 5)
	f, err := Fit(s, Options{Period: 24, Horizon: 48, Coverage: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := WriteSVG(&out, Chart{Title: "web <checkout> & co", History: s, Forecast: f, Reserved: 42, Peak: 55}); err != nil {
		t.Fatal(err)
	}
	var doc svgDoc
	if err := xml.Unmarshal([]byte(out.String()), &doc); err != nil {
		t.Fatalf("not well-formed SVG: %v\n%s", err, out.String())
	}
	count := map[string]int{}
	for _, p := range doc.Polylines {
		count[p.Class] = len(strings.Fields(p.Points))
	}
	if count["history"] != 24*7 || count["forecast"] != 48 {
		t.Errorf("polyline points %v, want 168 history and 48 forecast", count)
	}
	if len(doc.Polygons) != 1 || len(strings.Fields(doc.Polygons[0].Points)) != 96 {
		t.Errorf("interval band: %d polygons", len(doc.Polygons))
	}
	// The axis top is a round number above every value: 40+0.02*216+8+noise
	// stays under 60, so the top is 100 (1, 2, 5 x 10^k) and 42 sits at
	// 58% of the plot's height from the bottom.
	var reserved float64
	for _, l := range doc.Lines {
		if l.Class == "reserved" {
			reserved = l.Y1
		}
	}
	want := float64(padTop) + float64(chartHeight-padTop-padBottom)*(1-42.0/100)
	if math.Abs(reserved-want) > 0.1 {
		t.Errorf("reserved line at y=%.1f, want %.1f", reserved, want)
	}
	joined := strings.Join(doc.Texts, "|")
	for _, want := range []string{"web <checkout> & co", "reserved baseline 42", "peak 55", "90% interval", "2026-09-01 00:00", "forecast from 2026-09-08 00:00"} {
		if !strings.Contains(joined, want) {
			t.Errorf("chart text lacks %q: %s", want, joined)
		}
	}

	if err := WriteSVG(&out, Chart{}); err == nil {
		t.Error("an empty chart must be an error")
	}
	for v, want := range map[float64]float64{0: 1, 0.7: 1, 3: 5, 12: 20, 51: 100, 100: 100} {
		if got := niceCeil(v); got != want {
			t.Errorf("niceCeil(%v) = %v, want %v", v, got, want)
		}
	}
}

// The chart shows the interval band and the capacity the group can reach,
// and the per-step forecast is written with its intervals.
func TestChartCapacityAndPoints(t *testing.T) {
	s := synthetic(24*7, 40, 0.02, 8, 1, 5)
	f, err := Fit(s, Options{Period: 24, Horizon: 48, Coverage: 0.95})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := WriteSVG(&out, Chart{Title: "t", History: s, Forecast: f, Reserved: 42, Peak: 55, Capacity: 66}); err != nil {
		t.Fatal(err)
	}
	var doc svgDoc
	if err := xml.Unmarshal([]byte(out.String()), &doc); err != nil {
		t.Fatal(err)
	}
	var capacity float64
	for _, l := range doc.Lines {
		if l.Class == "capacity" {
			capacity = l.Y1
		}
	}
	want := float64(padTop) + float64(chartHeight-padTop-padBottom)*(1-66.0/100)
	if math.Abs(capacity-want) > 0.1 || !strings.Contains(strings.Join(doc.Texts, "|"), "capacity (max) 66") || !strings.Contains(strings.Join(doc.Texts, "|"), "95% interval") {
		t.Errorf("capacity line at y=%.1f (want %.1f), texts %v", capacity, want, doc.Texts)
	}
	var csvOut strings.Builder
	if err := WritePoints(&csvOut, f.Points); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(csvOut.String()), "\n")
	if len(lines) != 49 || lines[0] != "time,mean,lower,upper,std_dev" || !strings.HasPrefix(lines[1], "2026-09-08T00:00:00Z,") {
		t.Errorf("points csv: %d lines, %q", len(lines), lines[:2])
	}
}
