package main

import (
	"context"
	"errors"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/sdk"
)

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

// planFailed reports a plan that failed. With --yes no preview was shown,
// so it is the run's failure, said by the run's summary.
func (p *project) planFailed(op string, err error) error {
	if p.f.yes {
		return p.finish(op, sdk.Result{}, err)
	}
	return err
}
