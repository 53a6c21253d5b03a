package engine

import (
	"context"
	"iter"
	"strings"
	"sync"
	"time"
)

// Limit bounds the calls to one service in one region (or one cluster).
// Cloud quotas are per service and region, not per run: Route 53 throttles
// an account at five requests a second while S3 takes thousands, so one
// Parallelism for everything is either too much for the one or too little
// for the other.
type Limit struct {
	// Concurrent bounds the calls in flight; 0 leaves them to Parallelism.
	Concurrent int
	// PerSecond bounds how often calls start, as a token bucket that holds
	// Burst tokens (at least one) and refills PerSecond a second; 0 means
	// no bound.
	PerSecond float64
	Burst     int
}

func (l Limit) bounded() bool { return l.Concurrent > 0 || l.PerSecond > 0 }

// DefaultLimits are the limits the engine keeps unless Engine.Limits
// overrides them.
var DefaultLimits = map[string]Limit{
	// Route 53's API allows five requests a second per account; beyond
	// that it throttles, and each throttled call costs a backoff.
	"aws:route53": {PerSecond: 5, Burst: 5},
}

// globalAWS are the AWS services that one endpoint serves for the whole
// account: their quotas do not grow with the regions used.
var globalAWS = map[string]bool{"route53": true, "iam": true, "organizations": true}

// LimitKey names where the calls for a primitive of type typ in region go,
// as the key of its limit: "aws:s3:us-east-1" (service and region, from
// "aws_s3_bucket"), "aws:route53" for a service global to the account,
// "k8s:CLUSTER" (one API server serves every kind of a cluster), and
// "PROVIDER:SERVICE:REGION" or "PROVIDER:REGION" for other types.
func LimitKey(typ, region string) string {
	provider, rest, _ := strings.Cut(typ, "_")
	service, _, _ := strings.Cut(rest, "_")
	switch {
	case provider == "k8s" || service == "":
		return provider + ":" + region
	case provider == "aws" && service == "launch": // aws_launch_template
		service = "ec2"
	case provider == "aws" && globalAWS[service]:
		return "aws:" + service
	}
	return provider + ":" + service + ":" + region
}

// limitFor returns the limit of key: that of the longest of key and its
// prefixes ("aws:s3:us-east-1", "aws:s3", "aws") found in Engine.Limits or
// DefaultLimits, Engine.Limits first.
func (e *Engine) limitFor(key string) Limit {
	for k := key; ; {
		if l, ok := e.Limits[k]; ok {
			return l
		}
		if l, ok := DefaultLimits[k]; ok {
			return l
		}
		i := strings.LastIndexByte(k, ':')
		if i < 0 {
			return Limit{}
		}
		k = k[:i]
	}
}

// Limiters are the limiters of one or more engines, one per LimitKey, and
// the places of Parallelism, made on first use. Engines that share one
// (Engine.Shared) share the service limits and Parallelism: the terraform
// provider builds an engine for every resource's create, read, update and
// delete, and ten resources applied together must still keep Route 53 at
// five calls a second, not fifty.
type Limiters struct {
	mu       sync.Mutex
	limiters map[string]*limiter
	// slots bounds the calls in flight to Parallelism. Apply may run more
	// steps than that (see Apply), so the bound is kept here, per call.
	slots chan struct{}
	clock clock
}

// call makes one try of a driver call for s: within the limit of its
// service and region first, so that a call waiting for its turn there does
// not hold one of the Parallelism places that calls to other services could
// use, then within Parallelism. Every try of a retry goes through here.
//
// A call admitted by its token bucket may still wait for a place among
// Parallelism, so calls can start closer together than the bucket admitted
// them when the engine is busy; never more of them than it admitted.
func (e *Engine) call(ctx context.Context, s Step, f func() error) error {
	l, slots, clk := e.limiter(s.Type, s.Region)
	// Waiting for a turn ends with the run; the call, once made, does not.
	run := runContext(ctx)
	release, err := l.wait(run, clk)
	if err != nil {
		return err
	}
	defer release()
	select {
	case slots <- struct{}{}:
	case <-run.Done():
		return run.Err()
	}
	defer func() { <-slots }()
	return f()
}

func (e *Engine) limiter(typ, region string) (*limiter, chan struct{}, clock) {
	ls := &e.limits
	if e.Shared != nil {
		ls = e.Shared
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.slots == nil {
		ls.slots = make(chan struct{}, e.parallelism())
		ls.limiters = map[string]*limiter{}
	}
	if ls.clock == nil {
		ls.clock = realClock{}
	}
	key := LimitKey(typ, region)
	l := ls.limiters[key]
	if l == nil {
		l = newLimiter(e.limitFor(key))
		ls.limiters[key] = l
	}
	return l, ls.slots, ls.clock
}

// limiter keeps one Limit: a semaphore for Concurrent and, for PerSecond,
// a token bucket kept as the time the next call may start at the earliest
// were the bucket empty (the generic cell rate algorithm): each call
// reserves its start time, so waiters are served in turn and no token is
// handed out twice.
type limiter struct {
	slots     chan struct{} // nil: no bound on calls in flight
	interval  time.Duration // between tokens; 0: no bound on the rate
	tolerance time.Duration // how far ahead of the rate a burst may run
	mu        sync.Mutex
	next      time.Time
}

func newLimiter(lim Limit) *limiter {
	l := &limiter{}
	if lim.Concurrent > 0 {
		l.slots = make(chan struct{}, lim.Concurrent)
	}
	if lim.PerSecond > 0 {
		l.interval = time.Duration(float64(time.Second) / lim.PerSecond)
		l.tolerance = time.Duration(max(lim.Burst, 1)-1) * l.interval
	}
	return l
}

// wait returns once a call may start, with the function that ends it.
func (l *limiter) wait(ctx context.Context, clk clock) (func(), error) {
	if l.slots != nil {
		select {
		case l.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	release := func() {
		if l.slots != nil {
			<-l.slots
		}
	}
	if err := l.pace(ctx, clk); err != nil {
		release()
		return nil, err
	}
	return release, nil
}

// pace returns once the token bucket lets a call start.
func (l *limiter) pace(ctx context.Context, clk clock) error {
	if l.interval == 0 {
		return nil
	}
	l.mu.Lock()
	now := clk.Now()
	due := l.next
	if due.Before(now) {
		due = now
	}
	start := due.Add(-l.tolerance)
	l.next = due.Add(l.interval)
	l.mu.Unlock()
	// A reservation abandoned on cancel is not given back: the bucket
	// only ever errs towards fewer calls.
	if d := start.Sub(now); d > 0 {
		return clk.Sleep(ctx, d)
	}
	return nil
}

// clock is time as the limiters see it; tests hold it still.
type clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// slots is how many steps may be started at once. A step that waits for the
// limit of its service must not keep steps for other services from
// starting, so each such step brings a place of its own; Parallelism still
// bounds the calls in flight (see call).
func (e *Engine) slots(steps iter.Seq[Step]) int {
	n := e.parallelism()
	for s := range steps {
		if e.limitFor(LimitKey(s.Type, s.Region)).bounded() {
			n++
		}
	}
	return n
}
