package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
)

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

// printf writes text: above the live display when it runs, so that the
// text stays and the display goes on below it.
func (p *project) printf(format string, args ...any) {
	if p.live != nil {
		p.live.above(fmt.Sprintf(format, args...))
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.out, format, args...)
}

// warn says each warning: an event with --json, else a line.
func (p *project) warn(warnings []string) {
	for _, w := range warnings {
		if p.f.json {
			p.emit(map[string]any{"event": "warning", "message": w})
		} else {
			p.printf("warning: %s\n", w)
		}
	}
}
