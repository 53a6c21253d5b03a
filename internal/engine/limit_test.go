package engine_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// route53 is a limit a cloud declares, as the AWS driver does.
var route53 = map[string]engine.Limit{"aws:route53": {PerSecond: 5, Burst: 5}}

func TestLimitForPrefersTheLongestKey(t *testing.T) {
	declared := &engine.Limiters{}
	declared.Declare(route53)
	e := &engine.Engine{Shared: declared, Limits: map[string]engine.Limit{
		"aws":              {Concurrent: 8},
		"aws:s3:eu-west-1": {Concurrent: 2},
		"aws:iam":          {},
	}}
	for key, want := range map[string]engine.Limit{
		"aws:s3:eu-west-1":  {Concurrent: 2},
		"aws:s3:us-east-1":  {Concurrent: 8},
		"aws:route53":       route53["aws:route53"], // a declared limit for the longer key wins over "aws"
		"aws:iam":           {},                     // a zero limit lifts "aws"
		"k8s:prod-east":     {},
		"memory:object:any": {},
	} {
		if got := e.LimitFor(key); got != want {
			t.Errorf("limit of %s = %+v, want %+v", key, got, want)
		}
	}
	lifting := &engine.Limiters{}
	lifting.Declare(route53)
	lifted := &engine.Engine{Shared: lifting, Limits: map[string]engine.Limit{"aws:route53": {}}}
	if got := lifted.LimitFor("aws:route53"); got != (engine.Limit{}) {
		t.Errorf("a zero limit did not lift the declared one: %+v", got)
	}
}

// Types of the fake drivers in the limit tests, named as real ones so that
// their keys are real keys.
const (
	tS3    = "aws_s3_bucket"
	tR53   = "aws_route53_record"
	tOther = "aws_ssm_parameter"
)

func limitDrivers(c *fakeCloud) engine.Drivers {
	return engine.Drivers{
		tS3:    &fakeDriver{c: c, typ: tS3},
		tR53:   &fakeDriver{c: c, typ: tR53},
		tOther: &fakeDriver{c: c, typ: tOther},
	}
}

func callsOfType(c *fakeCloud, op, typ string) int {
	n := 0
	for _, cl := range c.callsOf(op) {
		if cl.Type == typ {
			n++
		}
	}
	return n
}

// eventually waits for cond. The deadline is only there so that a bug
// fails the test rather than hangs it; nothing is asserted about time.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	if !waitFor(t, what, cond) {
		t.FailNow()
	}
}

// waitFor is eventually for goroutines other than the test's, which must
// not call FailNow: it reports and returns false.
func waitFor(t *testing.T, what string, cond func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Errorf("never happened: %s", what)
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// TestConcurrentLimitHoldsWhileOtherServicesProceed: S3 may have one call
// in flight. The first S3 call of each pass does not return until every
// call to the other service has been made, which can only happen if steps
// waiting for S3 do not keep the others from running.
func TestConcurrentLimitHoldsWhileOtherServicesProceed(t *testing.T) {
	c := newCloud()
	c.delay = time.Millisecond
	e := &engine.Engine{Drivers: limitDrivers(c), Parallelism: 3, Retry: quick,
		Limits: map[string]engine.Limit{"aws:s3": {Concurrent: 1}}}
	c.limiters = e.Limiters()
	const n = 12
	var ps []primitive.Primitive
	for i := range n {
		// Buckets sort first: they are ready before the others.
		ps = append(ps, primitive.Primitive{Name: fmt.Sprintf("a-bucket%02d", i), Type: tS3, Region: "us-east-1"})
		ps = append(ps, primitive.Primitive{Name: fmt.Sprintf("z-param%02d", i), Type: tOther, Region: "us-east-1"})
	}
	// Retries go through the limit too.
	c.fail("create", "a-bucket03", engine.Retryable(errThrottled), engine.Retryable(errThrottled))
	c.fail("delete", "a-bucket05", engine.Retryable(errThrottled))

	holdFirst := func(op string) {
		var held atomic.Bool
		c.onCall = func(cl call) {
			if cl.Op != op || cl.Type != tS3 || !held.CompareAndSwap(false, true) {
				return
			}
			waitFor(t, op+" of every parameter while an S3 call is in flight", func() bool {
				return callsOfType(c, op, tOther) == n
			})
		}
	}
	holdFirst("create")
	var st engine.State
	if _, err := apply(t, e, graph(ps...), &st); err != nil {
		t.Fatal(err)
	}
	if got := callsOfType(c, "create", tS3); got != n+2 {
		t.Errorf("%d S3 creates, want %d (with 2 retries)", got, n+2)
	}

	holdFirst("delete")
	if err := e.Destroy(context.Background(), &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Records) != 0 || c.count() != 0 {
		t.Errorf("destroy left %d records, %d objects", len(st.Records), c.count())
	}

	// Refresh keeps the limit too.
	c.onCall = nil
	if _, err := apply(t, e, graph(ps...), &st); err != nil {
		t.Fatal(err)
	}
	holdFirst("read")
	if _, _, err := e.Refresh(context.Background(), &st); err != nil {
		t.Fatal(err)
	}
	if got := callsOfType(c, "read", tS3); got != n {
		t.Errorf("%d S3 reads, want %d", got, n)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if m := c.maxInFlightOf[tS3]; m != 1 {
		t.Errorf("%d S3 calls in flight at once, limit is 1", m)
	}
	// An S3 call whose request waited for its turn lent its place until
	// the answer came: Parallelism, plus the S3 limit's one.
	if m := c.maxInFlight; m > 3+1 {
		t.Errorf("%d calls in flight at once, Parallelism is 3 and S3 may add 1", m)
	}
}

// manualClock stands still until the test moves it.
type manualClock struct {
	mu       sync.Mutex
	now      time.Time
	sleepers map[chan struct{}]time.Time
}

func newManualClock() *manualClock {
	return &manualClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), sleepers: map[chan struct{}]time.Time{}}
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	wake := make(chan struct{})
	c.sleepers[wake] = c.now.Add(d)
	c.mu.Unlock()
	select {
	case <-wake:
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.sleepers, wake)
		c.mu.Unlock()
		return ctx.Err()
	}
}

func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for wake, until := range c.sleepers {
		if !until.After(c.now) {
			delete(c.sleepers, wake)
			close(wake)
		}
	}
}

func (c *manualClock) sleeping() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sleepers)
}

// TestRateLimitPerService holds time still and moves it a second at a
// time: Route 53, at one call a second with a burst of two, makes two
// calls at once and then exactly one more per second, retries included,
// in apply, refresh and destroy alike, while the calls to another service
// are all made without waiting for time to move.
func TestRateLimitPerService(t *testing.T) {
	c := newCloud()
	clk := newManualClock()
	e := &engine.Engine{Drivers: limitDrivers(c), Parallelism: 3, Retry: quick,
		Limits: map[string]engine.Limit{"aws:route53": {PerSecond: 1, Burst: 2}}}
	e.SetClock(clk)
	c.limiters = e.Limiters()
	const records, others = 6, 8
	var ps []primitive.Primitive
	for i := range records {
		ps = append(ps, primitive.Primitive{Name: fmt.Sprintf("record%02d", i), Type: tR53, Region: "us-east-1"})
	}
	for i := range others {
		ps = append(ps, primitive.Primitive{Name: fmt.Sprintf("param%02d", i), Type: tOther, Region: "us-west-2"})
	}
	c.fail("create", "record00", engine.Retryable(errThrottled))

	// pass runs f, which makes want Route 53 calls of op, retries included,
	// and checks that each second of the clock lets exactly one more
	// through after the first two.
	pass := func(op string, want, retries int, f func() error) {
		t.Helper()
		done := make(chan error, 1)
		go func() { done <- f() }()
		made := func() int { return callsOfType(c, op, tR53) }
		failed := func() int {
			n := 0
			for _, cl := range c.callsOf(op) {
				if cl.Type == tR53 && cl.Err != nil {
					n++
				}
			}
			return n
		}
		for k := 0; made() < want; k++ {
			// Steady: every call not made yet is waiting for the clock,
			// but for the retries of tries that have not failed yet.
			eventually(t, fmt.Sprintf("%s: every route53 call made or waiting, and every parameter call made (at %d s)", op, k), func() bool {
				return made()+clk.sleeping() == want-retries+failed() && callsOfType(c, op, tOther) == others
			})
			if got := made(); got != min(2+k, want) {
				t.Fatalf("%s: %d route53 calls after %d seconds, want %d", op, got, k, min(2+k, want))
			}
			clk.advance(time.Second)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	var st engine.State
	pass("create", records+1, 1, func() error { _, err := apply(t, e, graph(ps...), &st); return err })
	// Another engine, with limiters of its own and a full bucket.
	r := &engine.Engine{Drivers: e.Drivers, Parallelism: 3, Retry: quick, Limits: e.Limits}
	r.SetClock(clk)
	c.limiters = r.Limiters()
	pass("read", records, 0, func() error { _, _, err := r.Refresh(context.Background(), &st); return err })
	// A full bucket again.
	c.limiters = e.Limiters()
	clk.advance(time.Minute)
	clk.advance(time.Minute)
	pass("delete", records, 0, func() error { return e.Destroy(context.Background(), &st) })
	if len(st.Records) != 0 || c.count() != 0 {
		t.Errorf("destroy left %d records, %d objects", len(st.Records), c.count())
	}
}

// A call whose request waits for its limit when the run is cancelled is a
// call in flight: it gets StopGrace to finish, then its wait ends, and its
// step's intent stays recorded, to be resumed.
func TestLimitWaitIsCancelled(t *testing.T) {
	c := newCloud()
	clk := newManualClock()
	e := &engine.Engine{Drivers: limitDrivers(c), Parallelism: 3, Retry: quick, StopGrace: 10 * time.Millisecond,
		Limits: map[string]engine.Limit{"aws:route53": {PerSecond: 1, Burst: 1}}}
	e.SetClock(clk)
	c.limiters = e.Limiters()
	var ps []primitive.Primitive
	for i := range 3 {
		ps = append(ps, primitive.Primitive{Name: fmt.Sprintf("record%02d", i), Type: tR53, Region: "us-east-1"})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var st engine.State
	go func() {
		p, _ := engine.Diff(graph(ps...), st, e.Drivers)
		done <- e.Apply(ctx, p, &st)
	}()
	eventually(t, "one call made, two waiting", func() bool { return len(c.callsOf("create")) == 1 && clk.sleeping() == 2 })
	cancel()
	if err := <-done; err == nil {
		t.Fatal("Apply() returned no error after it was cancelled")
	}
	made := 0
	for _, cl := range c.callsOf("create") {
		if cl.Err == nil {
			made++
		}
	}
	if made != 1 {
		t.Errorf("%d creates succeeded, want the 1 made before the cancel", made)
	}
	// The cancelled steps' intents stay recorded, to be resumed.
	var first string
	for _, cl := range c.callsOf("create") {
		if cl.Err == nil {
			first = cl.Name
		}
	}
	for _, r := range st.Records {
		if r.Name != first && (r.Pending != engine.OpCreate || r.ID != "") {
			t.Errorf("record %+v, want a pending create", r)
		}
	}
	if len(st.Records) != 3 {
		t.Errorf("%d records, want 3", len(st.Records))
	}
}

// TestSharedLimitersPaceEveryEngine: engines that share limiters (the
// provider's, one per resource operation) keep one rate between them: two
// engines making Route 53 calls at once get one bucket, not one each.
func TestSharedLimitersPaceEveryEngine(t *testing.T) {
	c := newCloud()
	clk := newManualClock()
	shared := &engine.Limiters{}
	shared.SetClock(clk)
	c.limiters = shared
	limits := map[string]engine.Limit{"aws:route53": {PerSecond: 1, Burst: 1}}
	done := make(chan error, 2)
	for _, name := range []string{"a", "b"} {
		e := &engine.Engine{Drivers: limitDrivers(c), Parallelism: 4, Retry: quick, Limits: limits, Shared: shared}
		g := graph(primitive.Primitive{Name: name + "1", Type: tR53, Region: "us-east-1"}, primitive.Primitive{Name: name + "2", Type: tR53, Region: "us-east-1"})
		go func() {
			var st engine.State
			_, err := apply(t, e, g, &st)
			done <- err
		}()
	}
	for k := 0; k < 4; k++ {
		eventually(t, fmt.Sprintf("one more call at %d s, the rest waiting", k), func() bool {
			return callsOfType(c, "create", tR53) == k+1 && callsOfType(c, "create", tR53)+clk.sleeping() == 4
		})
		clk.advance(time.Second)
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
