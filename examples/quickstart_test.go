package examples

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/testbed"
)

// terraformTimeout bounds each terraform command.
const terraformTimeout = 5 * time.Minute

// TestAccQuickstart is scripts/demo.sh from Go: it builds the provider into a
// filesystem mirror, runs examples/quickstart against moto with the real
// terraform binary, and proves the result with an independent client (boto3):
// init, apply, verify present, an empty second plan, destroy, verify absent.
func TestAccQuickstart(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 to run it (make test and make testacc do)")
	}
	tf := testbed.RequireTool(t, "terraform")
	testbed.RequireTool(t, "moto_server")
	testbed.RequireTool(t, "go")
	python := testbed.RequireTool(t, "python3")
	testbed.RequirePythonModule(t, python, "boto3")

	repoRoot, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	verify := filepath.Join(repoRoot, "scripts", "verify_quickstart.py")

	// The strict layer in front with MERIDIAN_STRICT: terraform gets its
	// endpoint, the boto3 checks go to moto directly.
	cloud := testbed.StartAWSForTest(t)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("moto log (tail):\n%s", cloud.Moto.LogTail(40))
		}
	})
	endpoint, motoEndpoint := cloud.Endpoint(), cloud.Moto.Endpoint()

	tmp := t.TempDir()
	mirror := filepath.Join(tmp, "mirror")
	if err := testbed.InstallProvider(repoRoot, mirror); err != nil {
		t.Fatal(err)
	}
	cliConfig := filepath.Join(tmp, "terraformrc")
	if err := testbed.WriteCLIConfig(cliConfig, mirror); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(tmp, "quickstart")
	if err := copyExample(filepath.Join(repoRoot, "examples", "quickstart"), work); err != nil {
		t.Fatal(err)
	}

	env := terraformEnv(cliConfig)
	run := func(args ...string) (string, int) {
		t.Helper()
		return runTerraform(t, tf, work, env, args...)
	}
	mustRun := func(args ...string) string {
		t.Helper()
		out, code := run(args...)
		if code != 0 {
			t.Fatalf("terraform %s: exit %d\n%s", strings.Join(args, " "), code, out)
		}
		return out
	}
	vars := []string{"-var", "aws_endpoint=" + endpoint}

	mustRun("init", "-input=false", "-no-color")
	mustRun(append([]string{"apply", "-auto-approve", "-input=false", "-no-color"}, vars...)...)
	t.Logf("terraform output:\n%s", mustRun("output", "-no-color"))

	verifyQuickstart(t, python, verify, "present", motoEndpoint)

	out, code := run(append([]string{"plan", "-detailed-exitcode", "-input=false", "-no-color"}, vars...)...)
	switch code {
	case 0:
	case 2:
		t.Fatalf("terraform plan right after apply wants changes (a perpetual diff):\n%s", out)
	default:
		t.Fatalf("terraform plan: exit %d\n%s", code, out)
	}

	mustRun(append([]string{"destroy", "-auto-approve", "-input=false", "-no-color"}, vars...)...)
	verifyQuickstart(t, python, verify, "absent", motoEndpoint)
}

// terraformEnv is the environment of every terraform command: our CLI config,
// no checkpoint calls, no real credentials, nothing inherited that changes
// what terraform does (TF_CLI_ARGS*, TF_DATA_DIR, TF_WORKSPACE, ...).
func terraformEnv(cliConfig string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == "TF_CLI_CONFIG_FILE", name == "TF_DATA_DIR", name == "TF_WORKSPACE",
			name == "TF_PLUGIN_CACHE_DIR", strings.HasPrefix(name, "TF_CLI_ARGS"), strings.HasPrefix(name, "TF_VAR_"),
			name == "AWS_PROFILE", name == "AWS_SESSION_TOKEN", name == "AWS_ACCESS_KEY_ID", name == "AWS_SECRET_ACCESS_KEY":
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"TF_CLI_CONFIG_FILE="+cliConfig,
		"CHECKPOINT_DISABLE=1",
		"TF_IN_AUTOMATION=1",
		"TF_INPUT=0",
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_EC2_METADATA_DISABLED=true",
	)
}

// runTerraform runs terraform in dir with a timeout and returns its combined
// output and exit code. Failing to run it at all fails the test.
func runTerraform(t *testing.T, tf, dir string, env []string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), terraformTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, tf, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.WaitDelay = 10 * time.Second
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("terraform %s (%s)", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	if ctx.Err() != nil {
		t.Fatalf("terraform %s: timed out after %s\n%s", strings.Join(args, " "), terraformTimeout, out.String())
	}
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &exit):
		return out.String(), exit.ExitCode()
	default:
		t.Fatalf("run terraform %s: %v\n%s", strings.Join(args, " "), err, out.String())
		return "", -1
	}
}

// verifyQuickstart runs scripts/verify_quickstart.py MODE ENDPOINT.
func verifyQuickstart(t *testing.T, python, script, mode, endpoint string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, script, mode, endpoint)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("verify_quickstart.py %s: %v\n%s", mode, err, out)
	}
	t.Logf("verify_quickstart.py %s:\n%s", mode, out)
}

// copyExample copies the example's files into dst, leaving out anything a
// local terraform run left behind (.terraform, lock file, state).
func copyExample(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		name := d.Name()
		if name == ".terraform" && d.IsDir() {
			return filepath.SkipDir
		}
		if name == ".terraform.lock.hcl" || strings.HasPrefix(name, "terraform.tfstate") {
			return nil
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("copy example: %s is not a regular file", path)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}
