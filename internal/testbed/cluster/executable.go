package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// lifecycleFile is the executable a DR drill runs on the set's folder (the
// drill's testbed attribute, the CLI's --testbed) to lose and rebuild a
// region's cluster: `lifecycle destroy NAME` and `lifecycle recreate NAME`,
// the cluster's name being its kubeconfig context. The name and the
// contract are meridian's (internal/drill.LifecycleFile): the product runs
// the executable and knows nothing of this package.
const lifecycleFile = "lifecycle"

// clustersCommand runs the lifecycle: its destroy and recreate act on the
// set that state.json describes, so they work from any process.
const clustersCommand = "github.com/meridianhq/terraform-provider-meridian/internal/testbed/cmd/clusters"

// lifecycleScript execs the copy of clustersCommand kept next to it. It
// takes only destroy and recreate: a drill must not be able to run the
// command's up or down.
const lifecycleScript = `#!/bin/sh
# Destroys or recreates a cluster of this set for a meridian DR drill:
#   lifecycle destroy NAME | lifecycle recreate NAME
# Written by the testbed when it started the set (make clusters).
case "$1" in
destroy|recreate) ;;
*) echo "usage: $0 destroy|recreate NAME" >&2; exit 2 ;;
esac
if [ $# -ne 2 ]; then echo "usage: $0 destroy|recreate NAME" >&2; exit 2; fi
dir=$(cd "$(dirname "$0")" && pwd)
exec "$dir/.bin/clusters" "$1" -dir "$dir" "$2"
`

// writeLifecycle builds clustersCommand into dir/.bin (a hidden folder: a
// cluster's name cannot start with a dot) and writes the lifecycle script.
// The build is once per set, ~2 s warm; a drill then runs a ready program,
// so no link time falls in its measured RTO.
func writeLifecycle(ctx context.Context, dir string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("lifecycle: go not found on PATH: %w", err)
	}
	bin := filepath.Join(dir, ".bin", "clusters")
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", bin, clustersCommand)
	// Build in this package's own module, whatever module the caller's
	// tests run in (test/ has its own go.mod).
	if _, src, _, ok := runtime.Caller(0); ok {
		if fi, err := os.Stat(filepath.Dir(src)); err == nil && fi.IsDir() {
			cmd.Dir = filepath.Dir(src)
		}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("lifecycle: go build %s: %w\n%s", clustersCommand, err, strings.TrimSpace(string(out)))
	}
	return os.WriteFile(filepath.Join(dir, lifecycleFile), []byte(lifecycleScript), 0o755)
}
