package architecture_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/architecture"
)

// chromium finds headless Chromium: Debian's package installs it as
// chromium. A developer without it gets a skip; CI, where the README
// requires it, fails.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "headless Chromium is not on PATH: install Debian's package (apt-get install chromium) to render the architecture diagrams to PNG"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// Each diagram is rendered to PNG by a real browser, at its own size, and
// the picture holds a drawing: enough pixels that are neither the white
// background nor transparent.
func TestDiagramsRenderInChromium(t *testing.T) {
	bin := chromium(t)
	doc := architecture.Write(platform(t, true))
	dir := t.TempDir()
	for _, d := range doc.Diagrams {
		t.Run(d.File, func(t *testing.T) {
			var root struct {
				Width  string `xml:"width,attr"`
				Height string `xml:"height,attr"`
			}
			if err := xml.Unmarshal([]byte(d.SVG), &root); err != nil {
				t.Fatal(err)
			}
			w, _ := strconv.Atoi(root.Width)
			h, _ := strconv.Atoi(root.Height)
			if w == 0 || h == 0 {
				t.Fatalf("%s has no size: width %q height %q", d.File, root.Width, root.Height)
			}
			svg := filepath.Join(dir, d.File)
			if err := os.WriteFile(svg, []byte(d.SVG), 0o644); err != nil {
				t.Fatal(err)
			}
			out := svg + ".png"
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
				"--user-data-dir="+filepath.Join(dir, "profile-"+d.File), "--window-size="+fmt.Sprintf("%d,%d", w, h),
				"--screenshot="+out, "file://"+svg)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("chromium: %v\n%s", err, b)
			}
			f, err := os.Open(out)
			if err != nil {
				t.Fatalf("chromium wrote no screenshot: %v", err)
			}
			defer f.Close()
			img, err := png.Decode(f)
			if err != nil {
				t.Fatalf("the screenshot is not a PNG: %v", err)
			}
			b := img.Bounds()
			if b.Dx() != w || b.Dy() != h {
				t.Errorf("screenshot %dx%d, want the diagram's %dx%d", b.Dx(), b.Dy(), w, h)
			}
			drawn := 0
			for y := b.Min.Y; y < b.Max.Y; y++ {
				for x := b.Min.X; x < b.Max.X; x++ {
					r, g, bl, a := img.At(x, y).RGBA()
					if a > 0 && (r < 0xf000 || g < 0xf000 || bl < 0xf000) {
						drawn++
					}
				}
			}
			if share := float64(drawn) / float64(b.Dx()*b.Dy()); share < 0.01 {
				t.Errorf("%s rendered nearly blank: %.2f%% of its pixels drawn", d.File, 100*share)
			} else {
				t.Logf("%s: %dx%d, %.1f%% of the pixels drawn", d.File, w, h, 100*share)
			}
		})
	}
}
