// Package clustertest starts local clusters for a test. It is apart from
// package cluster, which the product's drill lifecycle uses, so that no
// product package depends on "testing" or the rest of the testbed through it.
package clustertest

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/testbed"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed/cluster"
)

// EnvEnable turns on the tests that need real clusters. They are opt-in
// because the first build of the binaries takes ~25 minutes on 2 cores:
// `make e2e` builds them first and sets it.
const EnvEnable = "MERIDIAN_CLUSTERS"

// Enabled reports whether EnvEnable is set to a true value.
func Enabled() bool {
	v := strings.ToLower(strings.TrimSpace(os.Getenv(EnvEnable)))
	return v == "1" || v == "true" || v == "yes"
}

// ForTest starts the named clusters in the test's temporary folder and
// stops them when the test ends. Without EnvEnable the test is skipped.
// With it, the binaries are built if missing; when that fails the test is
// skipped (fails with CI=true) with the build error.
func ForTest(t testing.TB, names ...string) *cluster.Set {
	t.Helper()
	if !Enabled() {
		t.Skipf("skipped: real Kubernetes clusters are opt-in: set %s=1 (make e2e does; the first build of the binaries takes ~25 min)", EnvEnable)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
	defer cancel()
	bins, err := cluster.Build(ctx, testLog{t})
	if err != nil {
		testbed.Unavailable(t, "cluster binaries could not be built or found: %v", err)
	}
	set, err := cluster.Start(ctx, cluster.Options{Dir: t.TempDir(), Names: names, Binaries: bins, Log: testLog{t}})
	if err != nil {
		t.Fatalf("start clusters %v: %v", names, err)
	}
	t.Cleanup(func() {
		if err := set.Stop(); err != nil {
			t.Errorf("stop clusters: %v", err)
		}
	})
	return set
}

type testLog struct{ t testing.TB }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
