package cluster

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meridianhq/terraform-provider-meridian/internal/drill"
)

// The set's lifecycle executable is the one the product's drill looks for,
// and it takes nothing but destroy and recreate of a running set. (Real
// clusters destroyed and recreated through it: TestClustersLifecycle.)
func TestLifecycleExecutable(t *testing.T) {
	if lifecycleFile != drill.LifecycleFile {
		t.Fatalf("the testbed writes %q, a drill runs %q", lifecycleFile, drill.LifecycleFile)
	}
	dir := t.TempDir()
	if err := writeLifecycle(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"up", "region-a"}, 2, "usage:"},
		{[]string{"down", "region-a"}, 2, "usage:"},
		{[]string{"destroy"}, 2, "usage:"},
		{[]string{"recreate", "region-a", "extra"}, 2, "usage:"},
		// No set runs there: nothing to destroy, and it says so.
		{[]string{"destroy", "region-a"}, 1, "no running cluster set in " + dir},
	} {
		out, err := exec.Command(filepath.Join(dir, lifecycleFile), c.args...).CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != c.code || !strings.Contains(string(out), c.want) {
			t.Errorf("lifecycle %s: exit %d\n%s\nwant exit %d and %q", strings.Join(c.args, " "), code, out, c.code, c.want)
		}
	}
}
