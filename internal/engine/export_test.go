package engine

// Clock is the time the limiters read and wait on.
type Clock = clock

// SetClock makes e's limiters use c, so that a test can hold time still.
// Call it before e makes its first call.
func (e *Engine) SetClock(c Clock) { e.limits.clock = c }

// Limiters are the limiters e uses, made as at its first call: a fake
// driver takes their tokens as a cloud's client does.
func (e *Engine) Limiters() *Limiters { return e.limiters() }

// LimitFor is the limit e's limiters keep for key.
func (e *Engine) LimitFor(key string) Limit {
	ls := e.limiters()
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.limitFor(key)
}

// SetClock makes the shared limiters use c.
func (l *Limiters) SetClock(c Clock) { l.clock = c }
