package sdk

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/state"
)

// Plan is a preview taken under the stack's lock, as terraform's saved
// plan: it can be shown, then applied exactly as it was shown, or closed.
// While it is open, no other run can change the stack, so what Apply does
// is what the Preview says. Close it (defer p.Close()) so that a plan that
// is not applied releases the lock.
type Plan struct {
	Preview
	w         *Workspace
	operation string
	// lock is held from Workspace.Plan (or PlanDestroy) until Apply or Close.
	lock state.Lock
	held bool
	// doc is the state the plan was made against, loaded under the lock.
	doc state.Document
	// decl is what the program declared; nil for a destroy.
	decl    *Context
	targets []string
}

// Plan declares the program once, makes the plan-time checks, takes the
// stack's lock and plans against the state read under it. The plan holds
// the lock until it is applied or closed.
func (w *Workspace) Plan(ctx context.Context, prog Program, targets ...string) (*Plan, error) {
	decl, warnings, err := w.declare(ctx, prog)
	if err != nil {
		return nil, err
	}
	return w.lockedPlan(ctx, "up", decl, warnings, targets)
}

// PlanDestroy takes the stack's lock and plans the delete of every
// primitive of the stack (or of the targets), as Plan does.
func (w *Workspace) PlanDestroy(ctx context.Context, targets ...string) (*Plan, error) {
	return w.lockedPlan(ctx, "destroy", nil, nil, targets)
}

func (w *Workspace) lockedPlan(ctx context.Context, operation string, decl *Context, warnings, targets []string) (*Plan, error) {
	l, err := w.backend.Lock(ctx, operation)
	if err != nil {
		return nil, err
	}
	p := &Plan{w: w, operation: operation, lock: l, held: true, decl: decl, targets: targets}
	p.doc, err = w.backend.Load(ctx)
	if err == nil {
		p.Preview, err = w.preview(ctx, p.doc, decl, warnings, targets)
	}
	if err != nil {
		return nil, p.release(ctx, err)
	}
	return p, nil
}

// Apply applies the plan, saving the state before and after every cloud
// call, then releases the lock. outputs, if set, are computed from the
// declared region pairs and stored with the state (an up of the whole
// stack); a destroy of the whole stack clears them.
func (p *Plan) Apply(ctx context.Context, outputs func([]RegionPair) map[string]string) (res Result, err error) {
	if !p.held {
		return Result{}, fmt.Errorf("the %s plan of stack %s was already applied or closed: plan again", p.operation, p.w.opts.Stack)
	}
	defer func() { err = p.release(ctx, err) }()
	w, doc := p.w, p.doc
	res.Preview = p.Preview
	outputsBefore := doc.Outputs
	if len(p.targets) == 0 {
		switch {
		case p.decl == nil:
			doc.Outputs = nil
		case outputs != nil:
			doc.Outputs = outputs(p.decl.RegionPairs())
		}
	}
	if len(p.Plan.Changes()) > 0 {
		if err := w.connect(ctx); err != nil {
			return res, err
		}
	}
	e := w.engine()
	journal := state.Journal(ctx, w.backend, &doc)
	var (
		mu   sync.Mutex
		lost error
	)
	e.Journal = func(entry engine.JournalEntry) error {
		err := journal(entry)
		if errors.Is(err, state.ErrLockLost) {
			mu.Lock()
			lost = cmp.Or(lost, err)
			mu.Unlock()
		}
		return err
	}
	applyErr := e.Apply(ctx, p.Plan, &doc.State)
	if lost != nil {
		// Every step after the loss failed with the same error, and the
		// save would too: say it once. The new holder's run finishes
		// the work from the journal.
		return res, lost
	}
	if applyErr != nil {
		// Outputs describe the last complete run.
		doc.Outputs = outputsBefore
	}
	res.Records = len(doc.Records)
	if err := w.backend.Save(context.WithoutCancel(ctx), doc); err != nil {
		return res, errors.Join(applyErr, err)
	}
	return res, applyErr
}

// Close releases the lock of a plan that was not applied; nothing has
// changed. It does nothing after Apply or a first Close.
func (p *Plan) Close() error {
	if !p.held {
		return nil
	}
	return p.release(context.Background(), nil)
}

// release gives the lock up once, joining a failure to do so to err.
func (p *Plan) release(ctx context.Context, err error) error {
	p.held = false
	return p.w.unlock(ctx, p.lock, err)
}
