// Package memory is a driver that keeps its objects in process memory. It
// exists to measure the engine without a cloud (benchmarks, with an optional
// injected latency per call) and to test what sits around the engine; it is
// registered only under its own type, Type, never in place of a cloud driver.
package memory

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
)

// Type is the primitive type the driver serves.
const Type = "memory_object"

// Driver holds objects by id.
type Driver struct {
	// Latency is slept on every call, to stand for a cloud API's round trip.
	Latency time.Duration
	mu      sync.Mutex
	objects map[string]engine.Request
	byToken map[string]string
	next    atomic.Int64
	// Calls counts the calls made, by kind.
	Calls sync.Map
}

func New(latency time.Duration) *Driver {
	return &Driver{Latency: latency, objects: map[string]engine.Request{}, byToken: map[string]string{}}
}

func (d *Driver) wait(ctx context.Context, call string) error {
	v, _ := d.Calls.LoadOrStore(call, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	if d.Latency <= 0 {
		return ctx.Err()
	}
	select {
	case <-time.After(d.Latency):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d *Driver) ForceNew() []string { return []string{"key"} }

func (d *Driver) Create(ctx context.Context, req engine.Request) (engine.Result, error) {
	if err := d.wait(ctx, "create"); err != nil {
		return engine.Result{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if id, ok := d.byToken[req.Token]; ok && req.Resume {
		return engine.Result{ID: id, Outputs: outputs(id, req)}, nil
	}
	id := fmt.Sprintf("mem-%d", d.next.Add(1))
	d.objects[id] = req
	d.byToken[req.Token] = id
	return engine.Result{ID: id, Outputs: outputs(id, req)}, nil
}

// outputs are the string properties, and an arn and a zone_id made from the
// id, so that graphs compiled for a cloud resolve their references.
func outputs(id string, req engine.Request) map[string]string {
	out := map[string]string{"arn": "arn:memory:::" + id, "zone_id": id}
	for k, v := range req.Properties {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

func (d *Driver) Read(ctx context.Context, rec engine.Record) (engine.Observation, error) {
	if err := d.wait(ctx, "read"); err != nil {
		return engine.Observation{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	o, ok := d.objects[rec.ID]
	if !ok {
		return engine.Observation{}, fmt.Errorf("%s: %w", rec.ID, engine.ErrNotFound)
	}
	return engine.Observation{Properties: o.Properties, Tags: o.Tags}, nil
}

func (d *Driver) Update(ctx context.Context, rec engine.Record, req engine.Request) (engine.Result, error) {
	if err := d.wait(ctx, "update"); err != nil {
		return engine.Result{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.objects[rec.ID]; !ok {
		return engine.Result{}, fmt.Errorf("%s: %w", rec.ID, engine.ErrNotFound)
	}
	d.objects[rec.ID] = req
	return engine.Result{ID: rec.ID, Outputs: outputs(rec.ID, req)}, nil
}

func (d *Driver) Delete(ctx context.Context, rec engine.Record) error {
	if err := d.wait(ctx, "delete"); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.objects, rec.ID)
	return nil
}

// Len is how many objects exist.
func (d *Driver) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.objects)
}
