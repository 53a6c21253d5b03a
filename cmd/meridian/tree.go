package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
)

// progressTree is the live display's model: engine events go in, frames
// (plain text, one line per row, no escape codes) come out. It keeps no
// clock of its own, so a test can replay events at chosen times and compare
// the frames; the redraw loop in run.go adds the terminal.
type progressTree struct {
	title string
	start time.Time
	// group names the stack resource a primitive belongs to and the
	// primitive's name within it.
	group  func(name string) (resource, short string)
	groups []*treeGroup
	index  map[string]*treeGroup
	steps  map[string]*treeStep
}

type treeGroup struct {
	name  string
	steps []*treeStep
}

type stepStatus int

const (
	stWaiting stepStatus = iota
	stRunning
	stRetrying
	stDone
	stFailed
)

type treeStep struct {
	name, short, typ, region string
	op                       engine.Op
	status                   stepStatus
	started                  time.Time
	elapsed                  time.Duration // once finished
	retries                  int
	err                      string // the last retry's or the failure's
	warnings                 []string
}

func newProgressTree(title string, start time.Time, group func(string) (string, string)) *progressTree {
	return &progressTree{title: title, start: start, group: group, index: map[string]*treeGroup{}, steps: map[string]*treeStep{}}
}

// step returns the step called name, adding it (waiting) if it is new.
func (t *progressTree) step(s engine.Step) *treeStep {
	if st, ok := t.steps[s.Name]; ok {
		return st
	}
	res, short := t.group(s.Name)
	g, ok := t.index[res]
	if !ok {
		g = &treeGroup{name: res}
		t.index[res] = g
		// Rows are sorted by address, so that a row stays where it is
		// whatever order the events come in.
		i, _ := slices.BinarySearchFunc(t.groups, res, func(g *treeGroup, name string) int { return strings.Compare(g.name, name) })
		t.groups = slices.Insert(t.groups, i, g)
	}
	st := &treeStep{name: s.Name, short: short, typ: s.Type, region: s.Region, op: s.Op}
	i, _ := slices.BinarySearchFunc(g.steps, short, func(s *treeStep, name string) int { return strings.Compare(s.short, name) })
	g.steps = slices.Insert(g.steps, i, st)
	t.steps[s.Name] = st
	return st
}

// Plan shows the steps to come as waiting, in the plan's order.
func (t *progressTree) Plan(steps []engine.Step) {
	for _, s := range steps {
		if s.Op != engine.OpSame {
			t.step(s)
		}
	}
}

// Event records what the engine reported at now.
func (t *progressTree) Event(ev engine.Event, now time.Time) {
	st := t.step(ev.Step)
	st.op = ev.Step.Op
	switch ev.Status {
	case "start":
		st.status, st.started = stRunning, now
	case "retry":
		if st.started.IsZero() {
			st.started = now
		}
		st.status = stRetrying
		st.retries++
		if ev.Err != nil {
			st.err = ev.Err.Error()
		}
	case "done", "failed":
		st.status, st.elapsed = stDone, ev.Elapsed
		if st.started.IsZero() {
			st.started = now.Add(-ev.Elapsed)
		}
		if ev.Status == "failed" {
			st.status = stFailed
			if ev.Err != nil {
				st.err = ev.Err.Error()
			}
		}
		st.warnings = append(st.warnings, ev.Warnings...)
	}
}

func (s *treeStep) finished() bool { return s.status == stDone || s.status == stFailed }
func (s *treeStep) active() bool   { return s.status == stRunning || s.status == stRetrying }

func (s *treeStep) elapsedAt(now time.Time) time.Duration {
	switch {
	case s.finished():
		return s.elapsed
	case s.active():
		return now.Sub(s.started)
	}
	return 0
}

var opVerb = map[engine.Op]string{engine.OpCreate: "creating", engine.OpUpdate: "updating", engine.OpReplace: "replacing", engine.OpDelete: "deleting"}

// word is the status column; final is the after-run wording.
func (s *treeStep) word(final bool) string {
	switch s.status {
	case stWaiting:
		if final {
			return "not run"
		}
		return "waiting"
	case stRunning:
		if final {
			return "interrupted"
		}
		if v, ok := opVerb[s.op]; ok {
			return v
		}
		return "running"
	case stRetrying:
		if final {
			return "interrupted"
		}
		return "retrying"
	case stDone:
		return "done"
	}
	return "failed"
}

var statusMark = map[stepStatus]string{stWaiting: "·", stRunning: "•", stRetrying: "↻", stDone: "✓", stFailed: "✗"}

// note follows the elapsed time: why a step retries or failed.
func (s *treeStep) note() string {
	switch s.status {
	case stRetrying:
		return fmt.Sprintf("attempt %d: %s", s.retries+1, firstLine(s.err))
	case stFailed:
		return firstLine(s.err)
	}
	return ""
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

type counts struct{ total, waiting, active, done, failed int }

func countSteps(steps []*treeStep) counts {
	c := counts{total: len(steps)}
	for _, s := range steps {
		switch {
		case s.status == stWaiting:
			c.waiting++
		case s.active():
			c.active++
		case s.status == stDone:
			c.done++
		default:
			c.failed++
		}
	}
	return c
}

func (c counts) String() string {
	parts := []string{fmt.Sprintf("%d/%d done", c.done, c.total)}
	if c.active > 0 {
		parts = append(parts, fmt.Sprintf("%d running", c.active))
	}
	if c.failed > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", c.failed))
	}
	return strings.Join(parts, ", ")
}

func (g *treeGroup) status() stepStatus {
	c := countSteps(g.steps)
	switch {
	case c.failed > 0:
		return stFailed
	case c.active > 0:
		return stRunning
	case c.done == c.total:
		return stDone
	case c.done == 0:
		return stWaiting
	}
	return stRunning // between steps: some done, the rest waiting on them
}

// span is the group's elapsed time: from its first start to its last end,
// or to now while it runs.
func (g *treeGroup) span(now time.Time) time.Duration {
	var first, last time.Time
	running := false
	for _, s := range g.steps {
		if s.status == stWaiting {
			continue
		}
		if first.IsZero() || s.started.Before(first) {
			first = s.started
		}
		end := s.started.Add(s.elapsed)
		if !s.finished() {
			running = true
		} else if end.After(last) {
			last = end
		}
	}
	if first.IsZero() {
		return 0
	}
	if running || g.status() == stRunning {
		return now.Sub(first)
	}
	return last.Sub(first)
}

// row is one line of a frame before it is laid out in columns.
type row struct {
	indent, mark, name, typ, region, status, elapsed, note string
	// wide rows (a resource's) put typ across the type and region columns.
	wide bool
}

func (t *progressTree) groupRow(g *treeGroup, now time.Time, final bool) row {
	st := g.status()
	word := map[stepStatus]string{stWaiting: "waiting", stRunning: "running", stDone: "done", stFailed: "failed"}[st]
	if final && st == stRunning {
		word = "incomplete"
	}
	el := ""
	if st != stWaiting {
		el = fmtElapsed(g.span(now))
	}
	return row{mark: statusMark[st], name: g.name, typ: countSteps(g.steps).String(), wide: true, status: word, elapsed: el}
}

func (t *progressTree) stepRow(s *treeStep, last bool, now time.Time, final bool) row {
	indent := "  ├─ "
	if last {
		indent = "  └─ "
	}
	el := ""
	if s.status != stWaiting {
		el = fmtElapsed(s.elapsedAt(now))
	}
	return row{indent: indent, mark: statusMark[s.status], name: s.short, typ: s.typ, region: s.region, status: s.word(final), elapsed: el, note: s.note()}
}

// moreRow stands for children a frame leaves out.
func moreRow(hidden []*treeStep) row {
	c := countSteps(hidden)
	var parts []string
	if c.done > 0 {
		parts = append(parts, fmt.Sprintf("%d done", c.done))
	}
	if c.waiting > 0 {
		parts = append(parts, fmt.Sprintf("%d waiting", c.waiting))
	}
	return row{indent: "  └─ ", mark: "…", name: fmt.Sprintf("%d more", len(hidden)), typ: strings.Join(parts, ", "), wide: true}
}

// expansion says how much of a resource a frame shows.
type expansion int

const (
	collapsed expansion = iota // one summary line
	partial                    // its running and failed primitives
	expanded                   // every primitive
)

func (t *progressTree) groupRows(g *treeGroup, e expansion, now time.Time, final bool) []row {
	rows := []row{t.groupRow(g, now, final)}
	if e == collapsed {
		return rows
	}
	shown, hidden := g.steps, []*treeStep(nil)
	if e == partial {
		shown = nil
		for _, s := range g.steps {
			if s.active() || s.status == stFailed {
				shown = append(shown, s)
			} else {
				hidden = append(hidden, s)
			}
		}
	}
	for i, s := range shown {
		rows = append(rows, t.stepRow(s, i == len(shown)-1 && len(hidden) == 0, now, final))
	}
	if len(hidden) > 0 {
		rows = append(rows, moreRow(hidden))
	}
	return rows
}

// Frame is the live display at now for a terminal of width columns and
// height rows: it fits in height-1 rows (the cursor sits on the last), by
// collapsing resources to one line, finished ones first; 0 means no limit.
// Lines are cut to width-1 columns so that none wraps.
func (t *progressTree) Frame(now time.Time, width, height int) string {
	c := countSteps(t.allSteps())
	summary := c.String()
	if c.waiting > 0 {
		summary += fmt.Sprintf(", %d waiting", c.waiting)
	}
	// On a narrow terminal the counts are cut, not the elapsed time.
	header, el := t.title+": "+summary, fmtElapsed(now.Sub(t.start))
	if width > 1 && runeLen(header)+2+runeLen(el) > width-1 {
		header = cut(header, width-2-runeLen(el))
	}
	header += "  " + el
	// Levels, each collapsing more: expand all; collapse finished
	// resources without failures; every finished or waiting resource;
	// show only the running and failed primitives; one line a resource.
	levels := []func(*treeGroup) expansion{
		func(*treeGroup) expansion { return expanded },
		func(g *treeGroup) expansion {
			if g.status() == stDone {
				return collapsed
			}
			return expanded
		},
		func(g *treeGroup) expansion {
			if countSteps(g.steps).active == 0 {
				return collapsed
			}
			return expanded
		},
		func(g *treeGroup) expansion {
			if countSteps(g.steps).active == 0 {
				return collapsed
			}
			return partial
		},
		func(*treeGroup) expansion { return collapsed },
	}
	var rows []row
	for _, level := range levels {
		rows = rows[:0]
		for _, g := range t.groups {
			rows = append(rows, t.groupRows(g, level(g), now, false)...)
		}
		if height <= 0 || len(rows)+1 <= height-1 {
			break
		}
	}
	if height > 0 && len(rows)+1 > height-1 {
		// Still too tall: keep the resources at work, then the rest in order.
		keep := max(height-3, 0)
		var active, other []row
		for i, g := range t.groups {
			if countSteps(g.steps).active > 0 {
				active = append(active, rows[i])
			} else {
				other = append(other, rows[i])
			}
		}
		all := append(active, other...)
		rows = append(all[:keep:keep], row{mark: "…", name: fmt.Sprintf("%d more resources", len(all)-keep)})
	}
	return layout(header, rows, width)
}

// Final is the frame left on the screen after the run: finished resources
// on one line each, the others with the primitives that did not finish,
// then the warnings. ok drops the steps that were planned but not run
// because the run had no need of them.
func (t *progressTree) Final(now time.Time, width int, ok bool) string {
	c := countSteps(t.allSteps())
	parts := []string{fmt.Sprintf("%d done", c.done)}
	if c.failed > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", c.failed))
	}
	if c.active > 0 {
		parts = append(parts, fmt.Sprintf("%d interrupted", c.active))
	}
	if c.waiting > 0 && !ok {
		parts = append(parts, fmt.Sprintf("%d not run", c.waiting))
	}
	header := fmt.Sprintf("%s: %s in %s", t.title, strings.Join(parts, ", "), fmtElapsed(now.Sub(t.start)))
	var rows []row
	var warnings []string
	for _, g := range t.groups {
		steps := g.steps
		if ok {
			steps = nil
			for _, s := range g.steps {
				if s.status != stWaiting {
					steps = append(steps, s)
				}
			}
			if len(steps) == 0 {
				continue
			}
		}
		gg := &treeGroup{name: g.name, steps: steps}
		rows = append(rows, t.groupRow(gg, now, true))
		var open []*treeStep
		for _, s := range steps {
			if s.status != stDone {
				open = append(open, s)
			}
			for _, w := range s.warnings {
				warnings = append(warnings, fmt.Sprintf("warning: %s: %s", s.name, w))
			}
		}
		for i, s := range open {
			rows = append(rows, t.stepRow(s, i == len(open)-1, now, true))
		}
	}
	out := layout(header, rows, width)
	for _, w := range warnings {
		out += w + "\n"
	}
	return out
}

func (t *progressTree) allSteps() []*treeStep {
	var out []*treeStep
	for _, g := range t.groups {
		out = append(out, g.steps...)
	}
	return out
}

// layout aligns the rows in columns under the header, one line each. On a
// narrow terminal the type column goes first, then the region, so that the
// status and elapsed time stay in view; then lines are cut.
func layout(header string, rows []row, width int) string {
	var nameW, typW, regW, wideW, statW, elW int
	for _, r := range rows {
		nameW = max(nameW, runeLen(r.indent)+2+runeLen(r.name))
		if r.wide {
			wideW = max(wideW, runeLen(r.typ))
		} else {
			typW = max(typW, runeLen(r.typ))
			regW = max(regW, runeLen(r.region))
		}
		statW = max(statW, runeLen(r.status))
		elW = max(elW, runeLen(r.elapsed))
	}
	showTyp, showReg := true, true
	// cols is the width of the type and region columns, with their gaps.
	cols := func() int {
		switch {
		case showTyp:
			return max(typW+2+regW, wideW) + 2
		case showReg:
			return regW + 2
		}
		return 0
	}
	fits := func() bool { return width <= 1 || nameW+2+cols()+statW+2+elW <= width-1 }
	if !fits() {
		showTyp = false
	}
	if !fits() {
		showReg = false
	}
	typW = max(typW, wideW-2-regW)
	var b strings.Builder
	b.WriteString(cut(header, width) + "\n")
	for _, r := range rows {
		line := pad(r.indent+r.mark+" "+r.name, nameW) + "  "
		switch {
		case showTyp && r.wide:
			line += pad(r.typ, typW+2+regW) + "  "
		case showTyp:
			line += pad(r.typ, typW) + "  " + pad(r.region, regW) + "  "
		case showReg && r.wide:
			line += strings.Repeat(" ", regW+2)
		case showReg:
			line += pad(r.region, regW) + "  "
		}
		line += pad(r.status, statW) + "  " + strings.Repeat(" ", elW-runeLen(r.elapsed)) + r.elapsed
		line = strings.TrimRight(line, " ")
		// A note cut to a few letters says nothing: leave it out.
		if room := width - 1 - runeLen(line) - 2; r.note != "" && (width <= 1 || room >= min(runeLen(r.note), 12)) {
			line += "  " + r.note
		}
		b.WriteString(cut(line, width) + "\n")
	}
	return b.String()
}

func runeLen(s string) int { return utf8.RuneCountInString(s) }

func pad(s string, w int) string {
	if n := runeLen(s); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

// cut shortens s to fit in width-1 columns (a line as wide as the terminal
// wraps on some), ending it with "…"; width 0 means no limit.
func cut(s string, width int) string {
	if width <= 1 || runeLen(s) <= width-1 {
		return s
	}
	r := []rune(s)
	return string(r[:width-2]) + "…"
}

// fmtElapsed is 0.4s, 12.3s, 1m05s or 1h02m.
func fmtElapsed(d time.Duration) string {
	switch {
	case d < 0:
		d = 0
		fallthrough
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}
