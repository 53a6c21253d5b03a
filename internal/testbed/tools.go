package testbed

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// InCI reports whether the tests run in CI (CI=true), where a missing tool
// that the README lists as required is a failure rather than a skip.
func InCI() bool {
	v := strings.ToLower(strings.TrimSpace(os.Getenv("CI")))
	return v == "true" || v == "1" || v == "yes"
}

// Unavailable stops the test because something it needs is missing: a failure
// in CI (CI=true), a skip with the reason for a developer run.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	reason := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("%s (required in CI: CI=true)", reason)
	}
	t.Skipf("skipped: %s (CI=true would make this a failure)", reason)
}

// RequireTool returns the path of the named program on PATH. If it is
// missing, the test fails when CI=true and is skipped otherwise, with the reason.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		Unavailable(t, "%s is required and was not found on PATH: %v", name, err)
	}
	return path
}

// RequirePythonModule checks that python can import module, with the same
// CI rule as RequireTool.
func RequirePythonModule(t testing.TB, python, module string) {
	t.Helper()
	out, err := exec.Command(python, "-c", "import "+module).CombinedOutput()
	if err != nil {
		Unavailable(t, "%s cannot import %s: %v: %s", python, module, err, strings.TrimSpace(string(out)))
	}
}
