package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/stack"
	"github.com/meridianhq/terraform-provider-meridian/sdk"
)

// project is a stack directory and the stack selected in it.
type project struct {
	f     *flags
	st    *stack.Stack
	res   []resource
	ws    *sdk.Workspace
	name  string
	out   io.Writer
	start time.Time
	mu    sync.Mutex
	// live, if set, shows the steps as a tree redrawn in place.
	live *liveDisplay
}

func (f *flags) stateLocation() string {
	if f.state != "" {
		return f.state
	}
	return filepath.Join(f.dir, sdk.DefaultState)
}

func (f *flags) currentFile() string { return filepath.Join(f.dir, ".meridian", "current") }

// stackName is --stack, else the selected stack.
func (f *flags) stackName() (string, error) {
	if f.stack != "" {
		return f.stack, nil
	}
	b, err := os.ReadFile(f.currentFile())
	if errors.Is(err, os.ErrNotExist) {
		return "", errors.New("no stack selected: run `meridian stack init NAME` or pass --stack NAME")
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

func (f *flags) varMap() (map[string]string, error) {
	out := map[string]string{}
	for _, v := range f.vars {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--var %q: expected name=value", v)
		}
		out[k] = val
	}
	return out, nil
}

// loadStack parses the stack files; needStack=false tolerates their absence
// (stack commands on a local state need no files).
func (f *flags) loadStack(needStack bool) (*stack.Stack, error) {
	vars, err := f.varMap()
	if err != nil {
		return nil, err
	}
	st, diags := stack.LoadDir(f.dir, vars)
	if diags.HasErrors() {
		if !needStack && st == nil {
			return &stack.Stack{}, nil
		}
		return nil, fmt.Errorf("the stack has errors:\n%s", strings.TrimRight(stack.FormatDiagnostics(diags), "\n"))
	}
	return st, nil
}

func open(cmd *cobra.Command, f *flags, needStack bool) (*project, error) {
	name, err := f.stackName()
	if err != nil {
		return nil, err
	}
	st, err := f.loadStack(needStack || strings.HasPrefix(f.stateLocation(), "s3://"))
	if err != nil {
		return nil, err
	}
	p := &project{f: f, st: st, res: resources(st), name: name, out: cmd.OutOrStdout(), start: time.Now()}
	if p.live, err = p.liveDisplay(cmd); err != nil {
		return nil, err
	}
	parallel := f.parallel
	if parallel == 0 {
		parallel = st.Parallelism
	}
	p.ws, err = sdk.Open(cmd.Context(), sdk.Options{
		Stack: name, State: f.stateLocation(), AWS: st.AWS, Kubernetes: st.Kubernetes, DefaultTags: st.DefaultTags,
		Parallelism: parallel, OnEvent: p.progress,
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// checkNames fails when two of the stack's primitives claim one cloud name
// (two pairs with the same bucket_prefix, kv_table name or zone_name), at
// both declarations, before any cloud call: up would otherwise fail half
// way, or make two hosted zones of one name.
func (p *project) checkNames() error {
	if diags := p.st.CheckNames(); diags.HasErrors() {
		return fmt.Errorf("the stack has errors:\n%s", strings.TrimRight(stack.FormatDiagnostics(diags), "\n"))
	}
	return nil
}

// checkTags holds each resource to its cost tag policy before any cloud
// call, with what meridian cost reports: the violation at its file:line and
// the resource by its address. Keys spelt two ways without a policy are
// warnings.
func (p *project) checkTags() error {
	diags := p.st.CheckTags()
	if diags.HasErrors() {
		return fmt.Errorf("the stack breaks its cost tag policies:\n%s", strings.TrimRight(stack.FormatDiagnostics(diags), "\n"))
	}
	for _, d := range diags {
		p.warn([]string{strings.TrimSuffix(stack.FormatDiagnostics(hcl.Diagnostics{d}), "\n")})
	}
	return nil
}

// program declares every resource of the stack.
func (p *project) program(c *sdk.Context) error {
	res, diags := p.st.Resources()
	if diags.HasErrors() {
		return fmt.Errorf("the stack has errors:\n%s", strings.TrimRight(stack.FormatDiagnostics(diags), "\n"))
	}
	for _, rp := range res.RegionPairs {
		c.RegionPair(rp)
		if res.AllowDataLoss[stack.Prefix(stack.ResourceType, rp.Name)] {
			c.AllowDataLoss(rp.Name, "")
		}
	}
	for _, dr := range res.DRPolicies {
		c.DRPolicy(dr)
		if res.AllowDataLoss[stack.Prefix(stack.DRPolicyType, dr.Name)] {
			c.AllowDataLoss("", dr.Name)
		}
	}
	for _, tp := range res.TagPolicies {
		c.CostTagPolicy(tp)
	}
	for _, cr := range res.Capacities {
		c.CapacityReservation(cr.Spec, cr.Prices)
	}
	return nil
}

// resource is a stack resource as the graph and the user name it.
type resource struct{ address, prefix string }

// resources lists the stack's resources: their addresses and the prefixes
// of their primitives' names.
func resources(st *stack.Stack) []resource {
	var out []resource
	for _, rp := range st.RegionPairs {
		out = append(out, resource{rp.Address(), stack.Prefix(stack.ResourceType, rp.Blueprint.Name)})
	}
	for _, dr := range st.DRPolicies {
		out = append(out, resource{dr.Address(), stack.Prefix(stack.DRPolicyType, dr.Blueprint.Name)})
	}
	for _, tp := range st.CostTagPolicies {
		out = append(out, resource{tp.Address(), stack.Prefix(stack.CostTagPolicyType, tp.Blueprint.Name)})
	}
	for _, cr := range st.CapacityReservations {
		out = append(out, resource{cr.Address(), stack.Prefix(stack.CapacityReservationType, cr.Blueprint.Name)})
	}
	return out
}

// targets maps resource addresses to the prefixes the graph uses; other
// targets (a pair's name, pair/primitive) pass as they are.
func (p *project) targets() ([]string, error) {
	var out []string
	for _, t := range p.f.targets {
		if !strings.HasPrefix(t, "meridian_") {
			out = append(out, t)
			continue
		}
		found := false
		for _, r := range p.res {
			if r.address == t {
				out, found = append(out, r.prefix), true
			}
		}
		if !found {
			addresses := map[string]bool{}
			for _, r := range p.res {
				addresses[r.address] = true
			}
			msg := fmt.Sprintf("--target %s: no such resource in the stack", t)
			if closest := sdk.Closest(t, addresses); len(closest) > 0 {
				msg += "; closest: " + strings.Join(closest, ", ")
			}
			return nil, errors.New(msg)
		}
	}
	return out, nil
}

// summarized is set once a --json command has written its summary event,
// which carries its error: main writes an error event only if not.
var summarized atomic.Bool

// emit writes one JSON event per line.
func (p *project) emit(v map[string]any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	v["time"] = time.Now().UTC().Format(time.RFC3339Nano)
	if ev, _ := v["event"].(string); strings.HasSuffix(ev, "summary") {
		summarized.Store(true)
	}
	b, _ := json.Marshal(v)
	fmt.Fprintln(p.out, string(b))
}

func (p *project) printf(format string, args ...any) {
	if p.live != nil {
		p.live.above(fmt.Sprintf(format, args...))
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.out, format, args...)
}

// progress prints a line when a step starts and when it ends, with its
// elapsed time and the run's: plain lines read well in a log. On a terminal
// (or --progress=tree) the live display shows the steps instead.
func (p *project) progress(ev engine.Event) {
	if p.f.json {
		m := map[string]any{"event": "step", "status": ev.Status, "op": ev.Step.Op, "name": ev.Step.Name,
			"type": ev.Step.Type, "region": ev.Step.Region}
		if ev.Status != "start" {
			m["elapsed_ms"] = ev.Elapsed.Milliseconds()
		}
		if ev.Err != nil {
			m["error"] = ev.Err.Error()
		}
		if len(ev.Warnings) > 0 {
			m["warnings"] = ev.Warnings
		}
		p.emit(m)
		return
	}
	if ev.Status == "failed" && errors.Is(ev.Err, context.Canceled) {
		return // interrupted: main says so in one line, not one per step
	}
	if p.live != nil {
		p.live.event(ev)
		return
	}
	total := time.Since(p.start).Seconds()
	switch ev.Status {
	case "start":
		p.printf("[%7.2fs] %-7s %s ...\n", total, ev.Step.Op, ev.Step.Name)
	case "retry":
		p.printf("[%7.2fs] %-7s %s: retrying: %v\n", total, ev.Step.Op, ev.Step.Name, ev.Err)
	case "done":
		p.printf("[%7.2fs] %-7s %s done in %s\n", total, ev.Step.Op, ev.Step.Name, ev.Elapsed.Round(time.Millisecond))
		for _, w := range ev.Warnings {
			p.printf("           warning: %s: %s\n", ev.Step.Name, w)
		}
	case "failed":
		p.printf("[%7.2fs] %-7s %s FAILED after %s: %v\n", total, ev.Step.Op, ev.Step.Name, ev.Elapsed.Round(time.Millisecond), ev.Err)
	}
}

var opSymbol = map[engine.Op]string{engine.OpCreate: "+", engine.OpUpdate: "~", engine.OpReplace: "-/+", engine.OpDelete: "-"}

func value(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// planText is the plan as text, grouped by resource (sorted by address):
// a resource without changes is one line, and a resource with changes
// heads its steps with its counts. A value known only after apply reads
// "(known after apply)", and a JSON document (a policy, the SSM manifest)
// is shown by key, indented on create and as the keys that change on update.
func planText(pv sdk.Preview, group func(string) (string, string)) string {
	type res struct {
		steps  []sdk.StepDetail
		counts map[engine.Op]int
	}
	byRes := map[string]*res{}
	var names []string
	get := func(name string) *res {
		r, ok := byRes[name]
		if !ok {
			r = &res{counts: map[engine.Op]int{}}
			byRes[name] = r
			names = append(names, name)
		}
		return r
	}
	for _, s := range pv.Plan.Steps {
		g, _ := group(s.Name)
		get(g).counts[s.Op]++
	}
	for _, s := range pv.Steps {
		g, _ := group(s.Name)
		get(g).steps = append(get(g).steps, s)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		r := byRes[name]
		var parts []string
		for _, op := range []engine.Op{engine.OpCreate, engine.OpUpdate, engine.OpReplace, engine.OpDelete, engine.OpSame} {
			if n := r.counts[op]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, map[engine.Op]string{engine.OpCreate: "to create", engine.OpUpdate: "to update",
					engine.OpReplace: "to replace", engine.OpDelete: "to delete", engine.OpSame: "unchanged"}[op]))
			}
		}
		fmt.Fprintf(&b, "%s: %s\n", name, strings.Join(parts, ", "))
		sort.SliceStable(r.steps, func(i, j int) bool { return r.steps[i].Name < r.steps[j].Name })
		for _, s := range r.steps {
			_, short := group(s.Name)
			fmt.Fprintf(&b, "  %-3s %s (%s in %s)\n", opSymbol[s.Op], short, s.Type, s.Region)
			if s.IncludedBecause != "" {
				fmt.Fprintf(&b, "        included because %s\n", s.IncludedBecause)
			}
			if len(s.ReplaceBecause) > 0 {
				fmt.Fprintf(&b, "        replaced because %s cannot change in place\n", strings.Join(s.ReplaceBecause, ", "))
			}
			for _, d := range s.Diffs {
				if s.Op == engine.OpCreate {
					fmt.Fprintf(&b, "        %s = %s\n", d.Key, indent(shown(document(d.New)), "        "))
					continue
				}
				for _, c := range leafChanges(d.Key, document(asJSON(d.Old)), document(asJSON(d.New))) {
					fmt.Fprintf(&b, "        %s\n", c)
				}
			}
		}
	}
	return b.String()
}

// afterApply stands for a value that is known only once its dependency
// exists: the engine's ${...} placeholders.
const afterApply = "(known after apply)"

// document turns a string holding a JSON object (a policy, the SSM
// manifest) into the object, recursively, so that it is shown and diffed
// by key rather than as one long line.
func document(v any) any {
	switch x := v.(type) {
	case string:
		t := strings.TrimSpace(x)
		if strings.HasPrefix(t, "{") {
			var m map[string]any
			if json.Unmarshal([]byte(t), &m) == nil {
				return document(m)
			}
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = document(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = document(e)
		}
		return out
	}
	return v
}

// shown is a value as the preview prints it: placeholders as "(known
// after apply)", objects indented.
func shown(v any) string {
	switch x := v.(type) {
	case string:
		if strings.Contains(x, "${") {
			return afterApply
		}
		return fmt.Sprintf("%q", x)
	case map[string]any, []any:
		b, err := json.MarshalIndent(placeholders(x), "", "  ")
		if err != nil {
			return fmt.Sprint(x)
		}
		return strings.ReplaceAll(string(b), `"`+afterApply+`"`, afterApply)
	}
	return value(v)
}

// placeholders replaces every string with a ${...} in v by afterApply.
func placeholders(v any) any {
	switch x := v.(type) {
	case string:
		if strings.Contains(x, "${") {
			return afterApply
		}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = placeholders(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = placeholders(e)
		}
		return out
	}
	return v
}

func indent(s, prefix string) string { return strings.ReplaceAll(s, "\n", "\n"+prefix) }

// showPreview prints the plan: each resource's steps with their property changes, then the counts.
func (p *project) showPreview(pv sdk.Preview) {
	counts := map[string]int{}
	for _, op := range []engine.Op{engine.OpCreate, engine.OpUpdate, engine.OpReplace, engine.OpDelete, engine.OpSame} {
		counts[string(op)] = pv.Counts[op]
	}
	if p.f.json {
		for _, s := range pv.Steps {
			m := map[string]any{"event": "plan_step", "op": s.Op, "name": s.Name, "type": s.Type, "region": s.Region,
				"changes": s.Changes, "replace_because": s.ReplaceBecause, "diffs": s.Diffs}
			if s.IncludedBecause != "" {
				m["included_because"] = s.IncludedBecause
			}
			p.emit(m)
		}
		p.warn(pv.Warnings)
		// The plan event is the preview's summary: the last line.
		p.emit(map[string]any{"event": "plan", "stack": p.name, "counts": counts, "changes": len(pv.Plan.Changes())})
		return
	}
	if p.live != nil {
		p.live.plan(pv.Plan.Changes())
	}
	p.printf("%s", planText(pv, p.groupOf))
	p.printf("stack %s: %d to create, %d to update, %d to replace, %d to delete, %d unchanged\n",
		p.name, counts["create"], counts["update"], counts["replace"], counts["delete"], counts["same"])
	p.warn(pv.Warnings)
}

func (p *project) warn(warnings []string) {
	for _, w := range warnings {
		if p.f.json {
			p.emit(map[string]any{"event": "warning", "message": w})
		} else {
			p.printf("warning: %s\n", w)
		}
	}
}

// confirm asks on the terminal unless --yes; without a terminal it refuses.
func (p *project) confirm(cmd *cobra.Command, question string) error {
	if p.f.yes {
		return nil
	}
	return ask(cmd, question)
}

func ask(cmd *cobra.Command, question string) error {
	in := cmd.InOrStdin()
	if file, ok := in.(*os.File); ok {
		if _, err := unix.IoctlGetTermios(int(file.Fd()), unix.TCGETS); err != nil {
			return errors.New("not a terminal: pass --yes to go ahead without confirmation")
		}
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%s [y/N] ", question)
	// Ctrl-C while the question waits ends the command (up and destroy
	// hold the stack's lock meanwhile), rather than waiting for a line.
	answer := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(in).ReadString('\n')
		answer <- line
	}()
	var line string
	select {
	case line = <-answer:
	case <-cmd.Context().Done():
		fmt.Fprintln(cmd.ErrOrStderr())
		return cmd.Context().Err()
	}
	if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
		return errors.New("cancelled")
	}
	return nil
}

func (p *project) finish(op string, res sdk.Result, err error) error {
	if p.live != nil {
		p.live.stop(err == nil)
	}
	took := time.Since(p.start).Round(time.Millisecond)
	if p.f.yes {
		// No preview showed them.
		for _, s := range res.Steps {
			if s.IncludedBecause != "" && !p.f.json {
				p.printf("%s %s was included because %s\n", s.Op, s.Name, s.IncludedBecause)
			}
		}
		p.warn(res.Warnings)
	}
	if p.f.json {
		m := map[string]any{"event": "summary", "operation": op, "stack": p.name, "records": res.Records, "elapsed_ms": took.Milliseconds(), "ok": err == nil}
		if err != nil {
			m["error"] = err.Error()
		}
		p.emit(m)
	} else if err == nil {
		p.printf("%s of stack %s done in %s: %d primitives recorded\n", op, p.name, took, res.Records)
	}
	return err
}

func sortedMap(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func asJSON(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return v
	}
	return out
}

// leafChanges lists "path: old => new" for every leaf that differs.
func leafChanges(path string, old, new any) []string {
	om, ook := old.(map[string]any)
	nm, nok := new.(map[string]any)
	if !ook || !nok {
		if fmt.Sprint(old) == fmt.Sprint(new) && value(old) == value(new) {
			return nil
		}
		switch {
		case old == nil:
			return []string{fmt.Sprintf("%s: + %s", path, shown(new))}
		case new == nil:
			return []string{fmt.Sprintf("%s: - %s", path, shown(old))}
		}
		return []string{fmt.Sprintf("%s: %s => %s", path, shown(old), shown(new))}
	}
	keys := map[string]bool{}
	for k := range om {
		keys[k] = true
	}
	for k := range nm {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	var out []string
	for _, k := range sorted {
		out = append(out, leafChanges(path+"."+k, om[k], nm[k])...)
	}
	return out
}

// groupOf names the stack resource a primitive belongs to (its address,
// such as meridian_region_pair.LABEL, or its prefix if the stack files no
// longer declare it) and the primitive's name within it.
func (p *project) groupOf(name string) (string, string) {
	prefix, short, ok := strings.Cut(name, stack.Separator)
	if !ok {
		return name, name
	}
	for _, r := range p.res {
		if r.prefix == prefix {
			return r.address, short
		}
	}
	return prefix, short
}

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
