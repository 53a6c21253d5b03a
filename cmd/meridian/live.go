package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
)

// liveDisplay returns the live tree if --progress asks for it, or if it is
// auto, stdout is a terminal and --json is not set; nil for plain lines.
func (p *project) liveDisplay(cmd *cobra.Command) (*liveDisplay, error) {
	mode := p.f.progress
	switch mode {
	case "", "auto", "tree", "plain":
	default:
		return nil, usageError{fmt.Errorf("--progress %q: expected auto, tree or plain", mode)}
	}
	if p.f.json || mode == "plain" {
		return nil, nil
	}
	fd, tty := -1, false
	if file, ok := p.out.(*os.File); ok {
		fd = int(file.Fd())
		tty = term.IsTerminal(fd)
	}
	if mode != "tree" && (!tty || os.Getenv("TERM") == "dumb") {
		return nil, nil
	}
	size := func() (int, int) {
		if tty {
			if w, h, err := term.GetSize(fd); err == nil && w > 0 && h > 0 {
				return w, h
			}
		}
		return 80, 24
	}
	return &liveDisplay{out: p.out, size: size,
		tree: newProgressTree(cmd.Name()+" stack "+p.name, time.Time{}, p.groupOf)}, nil
}

// liveDisplay redraws the progress tree in place, 10 times a second, from
// the first event until stop, with the cursor hidden meanwhile.
type liveDisplay struct {
	mu    sync.Mutex
	out   io.Writer
	size  func() (width, height int)
	tree  *progressTree
	state int // liveIdle, liveRunning or liveStopped
	// widths are the lengths of the frame's lines on the screen, to know
	// how many rows to go up if the terminal became narrower.
	widths     []int
	quit, done chan struct{}
}

const (
	liveIdle = iota
	liveRunning
	liveStopped
	hideCursor = "\x1b[?25l"
	showCursor = "\x1b[?25h"
)

// live holds the displays running, for stopLive.
var live struct {
	sync.Mutex
	running map[*liveDisplay]bool
}

// A command that ends without stopping its display (an error before the
// summary) still leaves the terminal clean.
func init() { cobra.OnFinalize(stopLive) }

func stopLive() {
	live.Lock()
	var all []*liveDisplay
	for l := range live.running {
		all = append(all, l)
	}
	live.Unlock()
	for _, l := range all {
		l.stop(false)
	}
}

// plan shows the steps of the plan as waiting until they start.
func (l *liveDisplay) plan(steps []engine.Step) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tree.Plan(steps)
}

func (l *liveDisplay) event(ev engine.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state == liveStopped {
		return
	}
	now := time.Now()
	if l.state == liveIdle {
		l.state, l.tree.start = liveRunning, now
		l.quit, l.done = make(chan struct{}), make(chan struct{})
		live.Lock()
		if live.running == nil {
			live.running = map[*liveDisplay]bool{}
		}
		live.running[l] = true
		live.Unlock()
		io.WriteString(l.out, hideCursor)
		go l.loop()
	}
	l.tree.Event(ev, now)
}

func (l *liveDisplay) loop() {
	defer close(l.done)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	l.mu.Lock()
	l.draw(time.Now())
	l.mu.Unlock()
	for {
		select {
		case <-l.quit:
			return
		case <-tick.C:
			l.mu.Lock()
			l.draw(time.Now())
			l.mu.Unlock()
		}
	}
}

// erase moves the cursor to the first row of the frame on the screen.
func (l *liveDisplay) erase(width int) string {
	rows := 0
	for _, w := range l.widths {
		rows += max(1, (w+width-1)/max(width, 1))
	}
	l.widths = nil
	if rows == 0 {
		return "\r"
	}
	return fmt.Sprintf("\r\x1b[%dA", rows)
}

// paint replaces the frame on the screen with text, whose lines stay on
// the screen as the new frame unless keep is set (they scroll away).
func (l *liveDisplay) paint(text string, width int, keep bool) {
	var b strings.Builder
	b.WriteString(l.erase(width))
	for _, line := range strings.SplitAfter(text, "\n") {
		if line == "" {
			continue
		}
		b.WriteString(strings.TrimSuffix(line, "\n") + "\x1b[K\n")
		if !keep {
			l.widths = append(l.widths, runeLen(strings.TrimSuffix(line, "\n")))
		}
	}
	b.WriteString("\x1b[J")
	io.WriteString(l.out, b.String())
}

func (l *liveDisplay) draw(now time.Time) {
	w, h := l.size()
	l.paint(l.tree.Frame(now, w, h), w, false)
}

// above prints text above the frame.
func (l *liveDisplay) above(text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state != liveRunning {
		io.WriteString(l.out, text)
		return
	}
	w, _ := l.size()
	l.paint(text, w, true)
	l.draw(time.Now())
}

// stop ends the redraws and leaves the final frame and the cursor.
func (l *liveDisplay) stop(ok bool) {
	l.mu.Lock()
	was := l.state
	l.state = liveStopped
	l.mu.Unlock()
	if was != liveRunning {
		return
	}
	close(l.quit)
	<-l.done
	live.Lock()
	delete(live.running, l)
	live.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	w, _ := l.size()
	l.paint(l.tree.Final(time.Now(), w, ok), w, true)
	io.WriteString(l.out, showCursor)
}
