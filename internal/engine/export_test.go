package engine

// Clock is the time the limiters read and wait on.
type Clock = clock

// SetClock makes e's limiters use c, so that a test can hold time still.
// Call it before e makes its first call.
func (e *Engine) SetClock(c Clock) { e.limits.clock = c }

// LimitFor exposes limitFor.
func (e *Engine) LimitFor(key string) Limit { return e.limitFor(key) }

// SetClock makes the shared limiters use c.
func (l *Limiters) SetClock(c Clock) { l.clock = c }
