package forecast

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// Chart is what WriteSVG draws: the history, the forecast with its
// prediction interval, and the levels capacity was bought at.
type Chart struct {
	Title    string
	History  Series
	Forecast Forecast
	// Reserved, Peak and Capacity (what the group can reach at its
	// maximum) are drawn as horizontal lines, in the demand's unit; a zero
	// Capacity is not drawn.
	Reserved float64
	Peak     float64
	Capacity float64
}

// Chart geometry, in SVG user units.
const (
	chartWidth  = 960
	chartHeight = 400
	padLeft     = 60
	padRight    = 20
	padTop      = 40
	padBottom   = 50
)

// WriteSVG draws c as a self-contained SVG image, so that a plan can be
// reviewed in any browser without a plotting stack.
func WriteSVG(w io.Writer, c Chart) error {
	n, h := len(c.History.Values), len(c.Forecast.Points)
	if n+h == 0 {
		return fmt.Errorf("chart: nothing to draw")
	}
	top := math.Max(c.Reserved, math.Max(c.Peak, c.Capacity))
	for _, v := range c.History.Values {
		top = math.Max(top, v)
	}
	for _, p := range c.Forecast.Points {
		top = math.Max(top, p.Upper)
	}
	top = niceCeil(top * 1.05)
	plotW, plotH := float64(chartWidth-padLeft-padRight), float64(chartHeight-padTop-padBottom)
	x := func(i int) float64 { return padLeft + plotW*float64(i)/math.Max(1, float64(n+h-1)) }
	y := func(v float64) float64 { return padTop + plotH*(1-v/top) }

	b := bufio.NewWriter(w)
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", chartWidth, chartHeight, chartWidth, chartHeight)
	fmt.Fprintf(b, `<rect width="%d" height="%d" fill="white"/>`+"\n", chartWidth, chartHeight)
	fmt.Fprintf(b, `<text x="%d" y="24" font-size="16">%s</text>`+"\n", padLeft, escape(c.Title))

	// Axes and horizontal grid with five labelled ticks.
	for i := 0; i <= 5; i++ {
		v := top * float64(i) / 5
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e5e5e5"/>`+"\n", padLeft, chartWidth-padRight, y(v), y(v))
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", padLeft-6, y(v)+4, label(v))
	}
	fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="black"/>`+"\n", padLeft, chartWidth-padRight, y(0), y(0))
	if n > 0 {
		fmt.Fprintf(b, `<text x="%.1f" y="%d">%s</text>`+"\n", x(0), chartHeight-padBottom+18, escape(stamp(c.History.Start)))
	}
	if h > 0 {
		fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%.1f" stroke="#999" stroke-dasharray="2 3"/>`+"\n", x(n), x(n), padTop, y(0))
		fmt.Fprintf(b, `<text x="%.1f" y="%d">forecast from %s</text>`+"\n", x(n)+4, chartHeight-padBottom+18, escape(stamp(c.Forecast.Points[0].Time)))

		// The prediction interval as a band: upper edge forwards, lower edge back.
		var band []string
		for i, p := range c.Forecast.Points {
			band = append(band, fmt.Sprintf("%.1f,%.1f", x(n+i), y(p.Upper)))
		}
		for i := h - 1; i >= 0; i-- {
			band = append(band, fmt.Sprintf("%.1f,%.1f", x(n+i), y(c.Forecast.Points[i].Lower)))
		}
		fmt.Fprintf(b, `<polygon class="interval" points="%s" fill="#f5a623" fill-opacity="0.25" stroke="none"/>`+"\n", strings.Join(band, " "))
		var mean []string
		for i, p := range c.Forecast.Points {
			mean = append(mean, fmt.Sprintf("%.1f,%.1f", x(n+i), y(p.Mean)))
		}
		fmt.Fprintf(b, `<polyline class="forecast" points="%s" fill="none" stroke="#e07b00" stroke-width="1.5"/>`+"\n", strings.Join(mean, " "))
	}
	if n > 0 {
		var hist []string
		for i, v := range c.History.Values {
			hist = append(hist, fmt.Sprintf("%.1f,%.1f", x(i), y(v)))
		}
		fmt.Fprintf(b, `<polyline class="history" points="%s" fill="none" stroke="#1f5fbf" stroke-width="1.5"/>`+"\n", strings.Join(hist, " "))
	}
	fmt.Fprintf(b, `<line class="reserved" x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#2a9d3f" stroke-width="2" stroke-dasharray="8 4"/>`+"\n", padLeft, chartWidth-padRight, y(c.Reserved), y(c.Reserved))
	fmt.Fprintf(b, `<line class="peak" x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#c0392b" stroke-dasharray="2 4"/>`+"\n", padLeft, chartWidth-padRight, y(c.Peak), y(c.Peak))

	legend := []struct{ colour, text string }{
		{"#1f5fbf", "history"}, {"#e07b00", "forecast (mean)"}, {"#f5a623", fmt.Sprintf("%.0f%% interval", 100*c.Forecast.Coverage)},
		{"#2a9d3f", "reserved baseline " + label(c.Reserved)}, {"#c0392b", "peak " + label(c.Peak)},
	}
	if c.Capacity > 0 {
		fmt.Fprintf(b, `<line class="capacity" x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#6a1b9a" stroke-width="2"/>`+"\n", padLeft, chartWidth-padRight, y(c.Capacity), y(c.Capacity))
		legend = append(legend, struct{ colour, text string }{"#6a1b9a", "capacity (max) " + label(c.Capacity)})
	}
	for i, l := range legend {
		lx := padLeft + i*148
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n", lx, chartHeight-22, l.colour, lx+16, chartHeight-12, escape(l.text))
	}
	fmt.Fprintln(b, `</svg>`)
	return b.Flush()
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten, so the axis reads well.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func label(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") }

func escape(s string) string {
	var sb strings.Builder
	_ = xml.EscapeText(&sb, []byte(s))
	return sb.String()
}
