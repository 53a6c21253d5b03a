package drill

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lifecycleDir writes a lifecycle executable that records its arguments
// and working folder, prints two lines, and fails for the context "broken".
func lifecycleDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	script := `#!/bin/sh
echo "$1 $2 in $(pwd)" >> calls
echo "stopping $2"
echo "warning on stderr" >&2
if [ "$2" = broken ]; then echo "cannot $1 $2" >&2; exit 3; fi
printf 'no newline at the end'
`
	if err := os.WriteFile(filepath.Join(dir, LifecycleFile), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestExecutableRunsTheFoldersLifecycle(t *testing.T) {
	dir := lifecycleDir(t)
	var logged []string
	log := func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) }
	e, err := NewExecutable(dir, map[string]string{"us-east-1": "region-a", "us-west-2": "broken"}, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.Destroy(ctx, "us-east-1"); err != nil {
		t.Fatal(err)
	}
	if err := e.Recreate(ctx, "us-east-1"); err != nil {
		t.Fatal(err)
	}
	calls, err := os.ReadFile(filepath.Join(dir, "calls"))
	real, _ := filepath.EvalSymlinks(dir)
	if want := fmt.Sprintf("destroy region-a in %s\nrecreate region-a in %s\n", real, real); err != nil || string(calls) != want {
		t.Errorf("calls: %q, %v; want %q", calls, err, want)
	}
	want := []string{
		"lifecycle destroy: stopping region-a", "lifecycle destroy: warning on stderr", "lifecycle destroy: no newline at the end",
		"lifecycle recreate: stopping region-a", "lifecycle recreate: warning on stderr", "lifecycle recreate: no newline at the end",
	}
	if strings.Join(logged, "\n") != strings.Join(want, "\n") {
		t.Errorf("log:\n%s\nwant:\n%s", strings.Join(logged, "\n"), strings.Join(want, "\n"))
	}

	err = e.Recreate(ctx, "us-west-2")
	if err == nil || !strings.Contains(err.Error(), "recreate broken: exit status 3") || !strings.Contains(err.Error(), "\ncannot recreate broken") {
		t.Errorf("a failing lifecycle: %v, want its exit status and output", err)
	}
	if err := e.Destroy(ctx, "eu-west-1"); err == nil || !strings.Contains(err.Error(), "no cluster context is configured for region eu-west-1") {
		t.Errorf("a region without a context: %v", err)
	}
}

func TestNewExecutableRefusesAFolderWithoutOne(t *testing.T) {
	if _, err := NewExecutable(filepath.Join(t.TempDir(), "none"), nil, nil); err == nil || !os.IsNotExist(err) {
		t.Errorf("missing folder: %v, want not exist", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, LifecycleFile), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := NewExecutable(dir, nil, nil); err == nil || !strings.Contains(err.Error(), "is not an executable file") {
		t.Errorf("a lifecycle without the x bit: %v", err)
	}
}
