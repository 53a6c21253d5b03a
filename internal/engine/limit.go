package engine

import (
	"context"
	"iter"
	"strings"
	"sync"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// Limit bounds the requests to one service in one region (or one cluster).
// Cloud quotas are per service and region (or account), not per run: Route
// 53 throttles an account at five requests a second while S3 takes
// thousands, so one Parallelism for everything is either too much for the
// one or too little for the other.
type Limit struct {
	// Concurrent bounds the requests in flight; 0 leaves them to Parallelism.
	Concurrent int
	// PerSecond bounds how often requests start, as a token bucket that
	// holds Burst tokens (at least one) and refills PerSecond a second; 0
	// means no bound.
	PerSecond float64
	Burst     int
}

func (l Limit) bounded() bool { return l.Concurrent > 0 || l.PerSecond > 0 }

// Limiters are the limits of one process, one limiter per limit key
// (primitive.LimitKey), made on first use, and the places of Parallelism
// of the engines that share them (Engine.Shared).
//
// Quotas count requests, not driver calls: a driver call may page, wait
// for a change to settle, or be retried by the SDK, and each of those is a
// request the cloud counts. So it is the clients that take a token, for
// every request they send (Wait), and one Limiters must serve every client
// and every engine of the process: the terraform provider builds an engine
// for every resource's create, read, update and delete, and ten resources
// applied together must still keep Route 53 at five requests a second, not
// fifty.
type Limiters struct {
	mu       sync.Mutex
	limits   map[string]Limit
	limiters map[string]*limiter
	// slots bounds the driver calls in flight to Parallelism. Apply may run
	// more steps than that (see Engine.slots), so the bound is kept here,
	// per call.
	slots chan struct{}
	clock clock
}

// Declare sets the limits of keys, or of prefixes of keys ("aws:s3" for S3
// in every region); the longest one found wins. The drivers' clouds
// declare their services' quotas; an engine declares Engine.Limits over
// them. A key whose limiter was made (by its first request) keeps the limit
// it was made with.
func (ls *Limiters) Declare(limits map[string]Limit) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.limits == nil {
		ls.limits = map[string]Limit{}
	}
	for k, l := range limits {
		ls.limits[k] = l
	}
}

// limitFor returns the limit of key: that of the longest of key and its
// prefixes ("aws:s3:us-east-1", "aws:s3", "aws") declared. ls.mu is held.
func (ls *Limiters) limitFor(key string) Limit {
	for k := key; ; {
		if l, ok := ls.limits[k]; ok {
			return l
		}
		i := strings.LastIndexByte(k, ':')
		if i < 0 {
			return Limit{}
		}
		k = k[:i]
	}
}

func (ls *Limiters) limiter(key string) (*limiter, clock) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.clock == nil {
		ls.clock = realClock{}
	}
	l := ls.limiters[key]
	if l == nil {
		if ls.limiters == nil {
			ls.limiters = map[string]*limiter{}
		}
		l = newLimiter(ls.limitFor(key))
		ls.limiters[key] = l
	}
	return l, ls.clock
}

// Wait returns once a request to key may be sent, with the function to
// call when its answer is in. A client calls it for every request it sends,
// every page and every retry of it. A driver call whose request has to
// wait lends its place among the engine's Parallelism until the answer is
// in, so that calls to other services run meanwhile (see limiter.wait).
func (ls *Limiters) Wait(ctx context.Context, key string) (func(), error) {
	l, clk := ls.limiter(key)
	if !l.bounded() {
		return func() {}, nil
	}
	p, _ := ctx.Value(placeKey{}).(*place)
	return l.wait(ctx, clk, p)
}

// bounded reports whether requests to key are limited.
func (ls *Limiters) bounded(key string) bool {
	l, _ := ls.limiter(key)
	return l.bounded()
}

// limiters returns the limiters the engine uses, with Engine.Limits
// declared and the Parallelism places made at its first call.
func (e *Engine) limiters() *Limiters {
	ls := &e.limits
	if e.Shared != nil {
		ls = e.Shared
	}
	e.once.Do(func() {
		if len(e.Limits) > 0 {
			ls.Declare(e.Limits)
		}
	})
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.slots == nil {
		ls.slots = make(chan struct{}, e.parallelism())
	}
	return ls
}

// Owned returns e as the owner named scope uses it (see Scope): the same
// drivers, policies and limiters, with that scope and its own event hook.
// A process that deploys for many owners, as the provider does for its
// resources, holds one Engine and hands each owner's calls a view of it,
// so that what the engine keeps (the limiters and the parallelism places)
// is one for the run. The view has no Journal: journaling is the owner's.
func (e *Engine) Owned(scope string, onEvent func(Event)) *Engine {
	return &Engine{Drivers: e.Drivers, Parallelism: e.Parallelism, Retry: e.Retry, StopGrace: e.StopGrace,
		Scope: scope, OnEvent: onEvent, Shared: e.limiters()}
}

// call makes one try of a driver call for s within Parallelism. The call's
// requests take their service's tokens themselves (Limiters.Wait), lending
// the call's place while they wait and are answered. Every try of a retry
// goes through here.
func (e *Engine) call(ctx context.Context, s Step, f func(context.Context) error) error {
	ls := e.limiters()
	// Waiting for a turn ends with the run; the call, once made, does not.
	run := runContext(ctx)
	select {
	case ls.slots <- struct{}{}:
	case <-run.Done():
		return run.Err()
	}
	p := &place{slots: ls.slots}
	defer p.give()
	return f(context.WithValue(ctx, placeKey{}, p))
}

type placeKey struct{}

// place is the place among Parallelism that one driver call holds. Its
// requests lend it while they wait for their service's turn and are
// answered, and take it back (the last of them) before the call goes on. The
// requests of a batch's per-object calls (ForEach) share the batch call's
// place.
type place struct {
	mu    sync.Mutex
	slots chan struct{}
	lent  int // requests of the call waiting now
}

func (p *place) lend() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lent == 0 {
		<-p.slots
	}
	p.lent++
}

// takeBack waits for a place without regard to any context: places come
// back as the calls in flight end or lend theirs, and the call owes the
// place it gives at its end.
func (p *place) takeBack() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lent--
	if p.lent == 0 {
		p.slots <- struct{}{}
	}
}

func (p *place) give() { <-p.slots }

// limiter keeps one Limit: a semaphore for Concurrent and, for PerSecond,
// a token bucket kept as the time the next request may start at the
// earliest were the bucket empty (the generic cell rate algorithm): each
// request reserves its start time, so waiters are served in turn and no
// token is handed out twice.
type limiter struct {
	slots     chan struct{} // nil: no bound on requests in flight
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

func (l *limiter) bounded() bool { return l.slots != nil || l.interval > 0 }

// wait returns once a request may start, with the function that ends it.
// A request that has to wait lends p (if any) until its answer is in, not
// only until it may start: were it to take the place back before it is
// sent, requests whose turns came while every place was busy would go out
// together when places came free, a burst the service would throttle. The
// requests of a limited service are bounded by the limit itself, so the
// calls in flight may exceed Parallelism by those requests.
func (l *limiter) wait(ctx context.Context, clk clock, p *place) (func(), error) {
	lent := false
	lend := func() {
		if p != nil && !lent {
			p.lend()
			lent = true
		}
	}
	takeBack := func() {
		if lent {
			p.takeBack()
		}
	}
	if l.slots != nil {
		select {
		case l.slots <- struct{}{}:
		default:
			lend()
			select {
			case l.slots <- struct{}{}:
			case <-ctx.Done():
				takeBack()
				return nil, ctx.Err()
			}
		}
	}
	end := func() {
		if l.slots != nil {
			<-l.slots
		}
		takeBack()
	}
	if d := l.reserve(clk); d > 0 {
		lend()
		if err := clk.Sleep(ctx, d); err != nil {
			end()
			return nil, err
		}
	}
	return end, nil
}

// reserve takes the next token of the bucket and returns how long to wait
// for it. A reservation abandoned on cancel is not given back: the bucket
// only ever errs towards fewer requests.
func (l *limiter) reserve(clk clock) time.Duration {
	if l.interval == 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := clk.Now()
	due := l.next
	if due.Before(now) {
		due = now
	}
	start := due.Add(-l.tolerance)
	l.next = due.Add(l.interval)
	return start.Sub(now)
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

// slots is how many steps may be started at once. A step whose requests
// wait for the limit of their service must not keep steps for other
// services from starting, so each such step brings a place of its own;
// Parallelism still bounds the driver calls in flight (see call). The
// step's type says, through the primitive registry, where its requests go.
func (e *Engine) slots(steps iter.Seq[Step]) int {
	ls := e.limiters()
	n := e.parallelism()
	for s := range steps {
		if ls.bounded(primitive.LimitKey(s.Type, s.Region)) {
			n++
		}
	}
	return n
}
