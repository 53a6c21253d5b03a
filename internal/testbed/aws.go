package testbed

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/testbed/ec2capacity"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed/strict"
)

// The switch that puts the strict layer between product code and moto in
// every suite that uses StartAWS (make test, make e2e and .ci/run set it):
//
//	MERIDIAN_STRICT=1 (or on)     every behaviour on, 5% injected faults
//	MERIDIAN_STRICT=0.1           the same with 10% faults
//	MERIDIAN_STRICT= (or 0, off)  plain moto
//	MERIDIAN_STRICT_SEED=N        the faults of a failed run again
//	MERIDIAN_STRICT_OFF=a,b       behaviours switched off (see package strict)
const (
	StrictEnv     = "MERIDIAN_STRICT"
	StrictSeedEnv = "MERIDIAN_STRICT_SEED"
	StrictOffEnv  = "MERIDIAN_STRICT_OFF"
)

// Delays of the strict behaviours in the suites: shorter than a real
// account's (and the layer's defaults), so that the whole suite stays well
// within CI's budget while every behaviour still shows. A driver that does not
// wait fails on them exactly as it would on the longer ones.
const (
	suiteBucketDelay      = time.Second
	suiteRoleDelay        = 2 * time.Second
	suiteChangeDelay      = time.Second
	suiteTableDeleteDelay = time.Second
	suiteSlowDelay        = time.Second
)

// AWS is what a suite hands to product code as its AWS: moto, and when
// MERIDIAN_STRICT is on, the strict layer in front of it. Product code
// (terraform with the provider, the CLI, the SDK) gets Endpoint; the suite's
// own checks (boto3 scripts, raw SDK clients, resets) go to Moto directly,
// so the layer's faults and delays never touch what a test asserts with.
type AWS struct {
	Moto  *Moto
	Layer *strict.Server // nil on plain moto
	seed  int64          // the run's seed; a test's own derives from it

	capOnce     sync.Once
	capacity    *ec2capacity.Server // plain moto: the capacity API in front of it
	capDirect   *http.Server        // strict: the layer's capacity API without the layer
	capEndpoint string
	capErr      error
}

// Endpoint is the one AWS endpoint for product code: the layer's when it is
// on, else moto's. The layer serves the EC2 capacity reservation API too.
func (a *AWS) Endpoint() string {
	if a.Layer != nil {
		return a.Layer.Endpoint()
	}
	return a.Moto.Endpoint()
}

// Strict reports whether the strict layer is on.
func (a *AWS) Strict() bool { return a.Layer != nil }

// Reset wipes moto, what the layer remembers and the capacity reservations.
func (a *AWS) Reset() error {
	if a.Layer != nil {
		a.Layer.Reset()
	}
	if a.capacity != nil {
		a.capacity.Reset()
	}
	return a.Moto.Reset()
}

// ForTest makes the layer's faults from now on a function of the run's seed
// and the test's name, so that `go test -run` of one failed test with the
// same MERIDIAN_STRICT_SEED draws the same faults (in the same order of
// requests: terraform's parallel walks can reorder them), and logs how to.
func (a *AWS) ForTest(t testing.TB) {
	t.Helper()
	if a.Layer == nil {
		return
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s", a.seed, t.Name())
	a.Layer.Reseed(int64(h.Sum64() >> 1))
	t.Logf("%s at %s, moto at %s; faults repeat with %s=%d", a.Layer, a.Layer.Endpoint(), a.Moto.Endpoint(), StrictSeedEnv, a.seed)
}

// Capacity returns the endpoints for the EC2 capacity reservation API moto
// lacks: product for product code (the layer itself when it is on, else a
// capacity server in front of moto, started on first use) and direct for
// checks (the same reservations and moto without the layer's faults).
func (a *AWS) Capacity() (product, direct string, err error) {
	a.capOnce.Do(func() {
		if a.Layer == nil {
			a.capacity, a.capErr = ec2capacity.Start(a.Moto.Endpoint())
			if a.capErr == nil {
				a.capEndpoint = a.capacity.Endpoint()
			}
			return
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(Host, "0"))
		if err != nil {
			a.capErr = err
			return
		}
		a.capDirect = &http.Server{Handler: a.Layer.Capacity(), ReadHeaderTimeout: 30 * time.Second}
		go func() { _ = a.capDirect.Serve(ln) }()
		a.capEndpoint = "http://" + ln.Addr().String()
	})
	if a.capErr != nil {
		return "", "", a.capErr
	}
	if a.Layer != nil {
		return a.Layer.Endpoint(), a.capEndpoint, nil
	}
	return a.capEndpoint, a.capEndpoint, nil
}

// Stop stops the layer and moto.
func (a *AWS) Stop() error {
	if a.capacity != nil {
		_ = a.capacity.Close()
	}
	if a.capDirect != nil {
		_ = a.capDirect.Close()
	}
	if a.Layer != nil {
		_ = a.Layer.Close()
	}
	return a.Moto.Stop()
}

// StrictOptions reads the MERIDIAN_STRICT variables: ok is false when the
// layer is off. The delays are the suites' short ones.
func StrictOptions() (opts strict.Options, ok bool, err error) {
	v := strings.ToLower(strings.TrimSpace(os.Getenv(StrictEnv)))
	switch v {
	case "", "0", "off", "false", "no":
		return opts, false, nil
	case "1", "on", "true", "yes":
		opts.FaultRate = strict.DefaultFaultRate
	default:
		rate, err := strconv.ParseFloat(v, 64)
		if err != nil || rate < 0 || rate >= 1 {
			return opts, false, fmt.Errorf("%s=%q: want 1/on, 0/off or a fault rate below 1 (0.05 is 5%%)", StrictEnv, v)
		}
		opts.FaultRate = rate
	}
	if opts.FaultRate == 0 {
		// The layer reads a zero rate as its default: a rate of 0 here means
		// the layer without faults.
		opts.Off = append(opts.Off, strict.Faults)
	}
	if s := os.Getenv(StrictSeedEnv); s != "" {
		if opts.Seed, err = strconv.ParseInt(s, 10, 64); err != nil || opts.Seed == 0 {
			return opts, false, fmt.Errorf("%s=%q: want a non-zero integer", StrictSeedEnv, s)
		}
	} else {
		opts.Seed = time.Now().UnixNano()
	}
	off, err := strict.ParseBehaviours(os.Getenv(StrictOffEnv))
	if err != nil {
		return opts, false, fmt.Errorf("%s: %w", StrictOffEnv, err)
	}
	opts.Off = append(opts.Off, off...)
	opts.BucketDelay, opts.RoleDelay = suiteBucketDelay, suiteRoleDelay
	opts.ChangeDelay, opts.TableDeleteDelay = suiteChangeDelay, suiteTableDeleteDelay
	opts.SlowDelay = suiteSlowDelay
	return opts, true, nil
}

// StartAWS starts moto, and the strict layer in front of it when
// MERIDIAN_STRICT says so, for a whole package (stop it with Stop). The
// layer's seed goes to log (stderr, which go test shows for a failed
// package) with how to repeat it; the layer logs what it changed there too
// when MERIDIAN_STRICT_LOG is set.
func StartAWS(ctx context.Context, log io.Writer) (*AWS, error) {
	return startAWS(ctx, log, os.Getenv("MERIDIAN_STRICT_LOG") != "")
}

func startAWS(ctx context.Context, log io.Writer, layerLog bool) (*AWS, error) {
	opts, on, err := StrictOptions()
	if err != nil {
		return nil, err
	}
	m, err := StartMoto(ctx)
	if err != nil {
		return nil, err
	}
	a := &AWS{Moto: m}
	if !on {
		return a, nil
	}
	if layerLog {
		opts.Log = log
	}
	if a.Layer, err = strict.Start(m.Endpoint(), opts); err != nil {
		_ = m.Stop()
		return nil, err
	}
	a.seed = opts.Seed
	fmt.Fprintf(log, "testbed: %s, %.0f%% faults, seed %d (repeat with %s=%d)\n", a.Layer, 100*a.Layer.FaultRate(), opts.Seed, StrictSeedEnv, opts.Seed)
	return a, nil
}

// StartAWSForTest is StartAWS for one test: stopped when it ends, skipped
// without moto_server (a failure in CI), the layer's answers in the test's
// log, its faults seeded for the test (see ForTest).
func StartAWSForTest(t testing.TB) *AWS {
	t.Helper()
	RequireTool(t, "moto_server")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a, err := startAWS(ctx, logWriter{t}, true)
	if err != nil {
		t.Fatalf("start AWS: %v", err)
	}
	t.Cleanup(func() { _ = a.Stop() })
	a.ForTest(t)
	return a
}
