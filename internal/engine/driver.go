package engine

import (
	"context"
	"errors"
)

// Driver creates, reads, updates and deletes the primitives of one type.
type Driver interface {
	// ForceNew lists the properties whose change needs a new cloud object.
	ForceNew() []string
	// Create makes the object. When req.Resume is set, an earlier create with
	// the same req.Token may have succeeded: the driver adopts that object
	// instead of failing or making a second one.
	Create(ctx context.Context, req Request) (Result, error)
	// Read observes the object; it returns an error wrapping ErrNotFound when
	// the object is gone. Properties it cannot observe are left out.
	Read(ctx context.Context, rec Record) (Observation, error)
	Update(ctx context.Context, rec Record, req Request) (Result, error)
	// Delete removes the object; an object that is already gone is not an error.
	Delete(ctx context.Context, rec Record) error
}

// Request is a primitive with its references resolved, as a driver receives it.
type Request struct {
	Name       string
	Type       string
	Region     string
	Properties map[string]any
	Tags       map[string]string
	Token      string
	Resume     bool
}

// Result is what a driver reports after a create or update.
type Result struct {
	ID      string
	Outputs map[string]string
	// Warnings are facts the user must hear, such as an endpoint that accepted
	// a call but did not do what it asked.
	Warnings []string
}

// Observation is what a driver saw of an object.
type Observation struct {
	Properties map[string]any
	// Tags are nil when the type carries none.
	Tags     map[string]string
	Outputs  map[string]string
	Warnings []string
}

// Drivers maps primitive types to their drivers.
type Drivers map[string]Driver

// ErrNotFound is wrapped by drivers when an object does not exist.
var ErrNotFound = errors.New("not found")

// retryableError marks an error worth another try (throttling, 5xx).
type retryableError struct{ err error }

func (e retryableError) Error() string { return e.err.Error() }
func (e retryableError) Unwrap() error { return e.err }

// Retryable marks err as transient, so the engine tries the call again.
func Retryable(err error) error {
	if err == nil {
		return nil
	}
	return retryableError{err}
}

// IsRetryable reports whether err was marked with Retryable.
func IsRetryable(err error) bool {
	var r retryableError
	return errors.As(err, &r)
}
