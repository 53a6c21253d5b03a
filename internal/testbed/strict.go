package testbed

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/testbed/strict"
)

// Strict is moto with the strict layer in front: one AWS endpoint that
// answers as AWS does where moto forgives (see package strict), and serves
// the EC2 capacity reservation API too.
type Strict struct {
	Moto   *Moto          // moto itself: for independent checks the layer must not touch
	Server *strict.Server // the layer: its options, counts and Reset
}

// Endpoint is the one AWS endpoint to point clients and the provider at.
func (s *Strict) Endpoint() string { return s.Server.Endpoint() }

// Reset wipes moto and what the layer remembers.
func (s *Strict) Reset() error {
	s.Server.Reset()
	return s.Moto.Reset()
}

// StartStrict starts moto and the strict layer in front of it for the test,
// with opts (the zero value is every behaviour on), and stops both when the
// test ends. Without moto_server the test is skipped (a failure in CI).
func StartStrict(t testing.TB, opts strict.Options) *Strict {
	t.Helper()
	RequireTool(t, "moto_server")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	m, err := StartMoto(ctx)
	if err != nil {
		t.Fatalf("start moto: %v", err)
	}
	t.Cleanup(func() { _ = m.Stop() })
	if opts.Log == nil {
		opts.Log = logWriter{t}
	}
	srv, err := strict.Start(m.Endpoint(), opts)
	if err != nil {
		t.Fatalf("start the strict layer: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	t.Logf("%s at %s in front of moto at %s", srv, srv.Endpoint(), m.Endpoint())
	return &Strict{Moto: m, Server: srv}
}

// logWriter puts the layer's log lines in the test's log.
type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
