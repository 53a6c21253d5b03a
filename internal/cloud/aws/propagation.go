package aws

import (
	"context"
	"strings"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
)

// AWS is eventually consistent: an object just made is not yet visible to
// every call, and a role just made cannot yet be assumed by the services
// that use it. The drivers wait for that, as terraform-provider-aws does,
// for a bounded time and only where a create has just happened, so that a
// "not found" in any other place is still reported at once.
const (
	// bucketPropagation bounds how long a new bucket may answer NoSuchBucket.
	bucketPropagation = 2 * time.Minute
	// rolePropagation bounds how long a new IAM role may not be assumable.
	rolePropagation = 2 * time.Minute
	// tableDeletion bounds the wait for a table of the same name to finish
	// deleting before it is created again.
	tableDeletion = 10 * time.Minute
	// changeSync bounds the wait for a Route 53 change to be INSYNC.
	changeSync = 10 * time.Minute
)

// retryWhile calls f until it succeeds, fails with an error pending does not
// accept, or timeout has passed; then it returns f's last error. Waits grow
// from 200 ms to 5 s.
func retryWhile(ctx context.Context, timeout time.Duration, pending func(error) bool, f func() error) error {
	deadline := time.Now().Add(timeout)
	for wait := 200 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		err := f()
		if err == nil || !pending(err) || time.Now().Add(wait).After(deadline) {
			return err
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return err
		}
	}
}

// markTimeout bounds how long a driver keeps trying to set the marks of an
// object it has just made (see worthRetry).
const markTimeout = 2 * time.Minute

// worthRetry reports an error worth another try (throttling, 5xx, a reset).
// A driver retries it itself, rather than leave it to the engine, where a
// failed call would leave an object it just made without its ownership
// marks: the engine's next try would meet an object it cannot prove is its
// own, and a destroy would refuse to delete it.
func worthRetry(err error) bool { return engine.IsRetryable(classify(err)) }

// noSuchBucket: a bucket just made is not visible yet.
func noSuchBucket(err error) bool { return code(err) == "NoSuchBucket" }

// roleNotAssumable reports the errors S3 replication and AWS Backup give
// while a new role has not reached them: InvalidRequest (S3) or
// InvalidParameterValueException (Backup) about the role.
func roleNotAssumable(err error) bool {
	switch code(err) {
	case "InvalidRequest", "InvalidParameterValueException":
		msg := strings.ToLower(err.Error())
		return strings.Contains(msg, "role") && (strings.Contains(msg, "assume") || strings.Contains(msg, "assumable"))
	}
	return false
}
