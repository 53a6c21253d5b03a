package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	awscloud "github.com/meridianhq/terraform-provider-meridian/internal/cloud/aws"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// meridianBinary builds the CLI once per test binary: the tests run the
// real program as a user would, so that a SIGKILL kills a real process.
func meridianBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "meridian-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "meridian")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// startMoto starts a moto server for one test, behind the strict layer
// with MERIDIAN_STRICT, and stops it at the end. The CLI gets Endpoint();
// the test's own checks and set-ups go to Moto directly.
func startMoto(t *testing.T) *testbed.AWS {
	t.Helper()
	return testbed.StartAWSForTest(t)
}

type result struct {
	stdout, stderr string
	code           int
	pid            int
}

type cli struct {
	t   *testing.T
	bin string
	dir string
	env []string
}

func newCLI(t *testing.T, dir string, env ...string) *cli {
	return &cli{t: t, bin: meridianBinary(t), dir: dir, env: env}
}

func (c *cli) command(args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	cmd := exec.Command(c.bin, args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), c.env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return cmd, &stdout, &stderr
}

func (c *cli) run(args ...string) result {
	c.t.Helper()
	cmd, stdout, stderr := c.command(args...)
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if cmd.Process != nil {
		r.pid = cmd.Process.Pid
	}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		c.t.Fatalf("meridian %v: %v", args, err)
	}
	return r
}

// must runs the command and fails the test unless it exits 0.
func (c *cli) must(args ...string) result {
	c.t.Helper()
	r := c.run(args...)
	if r.code != 0 {
		c.t.Fatalf("meridian %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, tail(r.stdout, 30), r.stderr)
	}
	return r
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// writeStack writes a stack of n full region pairs (12 primitives each).
func writeStack(t *testing.T, dir, prefix string, n, parallelism int) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, `variable "aws_endpoint" {
  default = ""
}

provider "meridian" {
  aws {
    endpoint                    = var.aws_endpoint
    access_key                  = "test"
    secret_key                  = "test"
    s3_use_path_style           = true
    skip_credentials_validation = true
    emulator                    = true
  }
  default_tags = { cost-centre = "cc-test" }
  parallelism  = %d
}
`, parallelism)
	for i := range n {
		name := fmt.Sprintf("%s-%02d", prefix, i)
		fmt.Fprintf(&b, `
resource "meridian_region_pair" "p%02d" {
  name             = %q
  primary_region   = "us-east-1"
  secondary_region = "us-west-2"
  object_store {
    bucket_prefix = %q
    force_destroy = true
  }
  kv_table {
    hash_key = "id"
  }
  dns {
    zone_name          = "%s.example.com"
    record_name        = "api"
    primary_endpoint   = "a.%s.example.com"
    secondary_endpoint = "b.%s.example.com"
  }
  tags = { service = %q }
}
`, i, name, name, name, name, name, name)
	}
	b.WriteString("\noutput \"first_fqdn\" {\n  value = meridian_region_pair.p00.failover_fqdn\n}\n")
	if err := os.WriteFile(filepath.Join(dir, "stack.tf"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

type stateFile struct {
	Serial  int64             `json:"serial"`
	Outputs map[string]string `json:"outputs"`
	Records []struct {
		Name    string `json:"name"`
		Type    string `json:"type"`
		ID      string `json:"id"`
		Pending string `json:"pending"`
	} `json:"records"`
}

func readState(t *testing.T, path string) stateFile {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s stateFile
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("state %s: %v", path, err)
	}
	return s
}

func TestLifecycle(t *testing.T) {
	m := startMoto(t)
	dir := t.TempDir()
	writeStack(t, dir, "life", 2, 10)
	c := newCLI(t, dir, "MERIDIAN_STATE=", "TF_CLI_CONFIG_FILE=/dev/null")
	endpoint := "--var=aws_endpoint=" + m.Endpoint()

	if r := c.run("preview", endpoint); r.code == 0 || !strings.Contains(r.stderr, "no stack selected") {
		t.Fatalf("preview without a stack: %d %s", r.code, r.stderr)
	}
	c.must("stack", "init", "dev")

	// --json: one JSON object per line, step details, then the counts.
	r := c.must("preview", "--json", endpoint)
	var counts map[string]int
	steps := 0
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		switch ev["event"] {
		case "plan_step":
			steps++
			if ev["op"] == "create" && ev["diffs"] == nil {
				t.Errorf("create step without property detail: %s", line)
			}
		case "plan":
			b, _ := json.Marshal(ev["counts"])
			_ = json.Unmarshal(b, &counts)
		}
	}
	if steps != 24 || counts["create"] != 24 {
		t.Fatalf("preview: %d steps, counts %v", steps, counts)
	}

	// up without --yes and without a terminal refuses.
	if r := c.run("up", endpoint); r.code == 0 || !strings.Contains(r.stderr, "--yes") {
		t.Fatalf("up without --yes: %d %s", r.code, r.stderr)
	}
	r = c.must("up", "--yes", endpoint)
	if !strings.Contains(r.stdout, "24 primitives recorded") || !strings.Contains(r.stdout, "done in") {
		t.Fatalf("up output:\n%s", r.stdout)
	}
	if r := c.must("preview", endpoint); !strings.Contains(r.stdout, "0 to create, 0 to update, 0 to replace, 0 to delete, 24 unchanged") {
		t.Fatalf("second preview:\n%s", r.stdout)
	}
	if r := c.must("stack", "output", "first_fqdn"); strings.TrimSpace(r.stdout) != "api.life-00.example.com" {
		t.Fatalf("output: %q", r.stdout)
	}
	if r := c.must("stack", "ls"); !strings.Contains(r.stdout, "* dev") || !strings.Contains(r.stdout, "24 primitives") {
		t.Fatalf("ls: %s", r.stdout)
	}
	// A tag change shows old and new values and updates in place.
	raw, _ := os.ReadFile(filepath.Join(dir, "stack.tf"))
	os.WriteFile(filepath.Join(dir, "stack.tf"), bytes.Replace(raw, []byte(`service = "life-01"`), []byte(`service = "life-one"`), 1), 0o644)
	r = c.must("preview", endpoint)
	if !strings.Contains(r.stdout, "meridian_region_pair.p01: 7 to update, 5 unchanged\n") || !strings.Contains(r.stdout, "\n  ~   aws_s3_bucket.primary (aws_s3_bucket in us-east-1)\n") || !strings.Contains(r.stdout, `tags.service: "life-01" => "life-one"`) || !strings.Contains(r.stdout, "0 to create, 7 to update") {
		t.Fatalf("update preview:\n%s", r.stdout)
	}
	c.must("up", "--yes", "--target", "meridian_region_pair.p01", endpoint)
	if r := c.must("refresh", endpoint); !strings.Contains(r.stdout, "0 drifted") {
		t.Fatalf("refresh: %s", r.stdout)
	}
	// Import life-00 into a second stack, from its manifest.
	c.must("stack", "init", "copy")
	if r := c.must("import", "us-east-1/life-00", endpoint); !strings.Contains(r.stdout, `resource "meridian_region_pair" "life-00"`) {
		t.Fatalf("import: %s", r.stdout)
	}
	if s := readState(t, filepath.Join(dir, ".meridian/stacks/copy.json")); len(s.Records) != 12 {
		t.Fatalf("imported %d records", len(s.Records))
	}
	c.must("stack", "select", "dev")
	if r := c.run("stack", "unlock", "--yes"); r.code == 0 || !strings.Contains(r.stderr, "not locked") {
		t.Fatalf("unlock of an unlocked stack: %d %s", r.code, r.stderr)
	}
	r = c.must("destroy", "--yes", "--json", endpoint)
	if !strings.Contains(r.stdout, `"records":0`) {
		t.Fatalf("destroy: %s", tail(r.stdout, 3))
	}
}

// TestConcurrentUpOnS3 runs two `meridian up` at once on a stack kept in
// S3: one takes the lock, the other fails at once, naming the holder.
func TestConcurrentUpOnS3(t *testing.T) {
	m := startMoto(t)
	dir := t.TempDir()
	writeStack(t, dir, "lock", 4, 4)
	state := "s3://meridian-state/team"
	c := newCLI(t, dir, "MERIDIAN_STATE="+state)
	endpoint := "--var=aws_endpoint=" + m.Endpoint()
	cloud, err := awscloud.New(context.Background(), awscloud.Config{Endpoint: m.Moto.Endpoint(), AccessKey: "test", SecretKey: "test", S3UsePathStyle: true, SkipCredentialsValidation: true, Emulator: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cloud.S3("us-east-1").CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("meridian-state")}); err != nil {
		t.Fatal(err)
	}
	c.must("stack", "init", "shared", endpoint)

	first, firstOut, _ := c.command("up", "--yes", endpoint)
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	firstDone := make(chan error, 1)
	go func() { firstDone <- first.Wait() }()
	// Wait until the first run holds the lock, then start the second.
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(firstOut.String(), "create ") {
		if time.Now().After(deadline) {
			t.Fatalf("first up never started its steps:\n%s", firstOut.String())
		}
		select {
		case err := <-firstDone:
			t.Fatalf("first up ended before the second started: %v\n%s", err, firstOut.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	second := c.run("up", "--yes", endpoint)
	select {
	case <-firstDone:
		t.Fatal("the first up finished before the second gave up: the second did not fail fast")
	default:
	}
	host, _ := os.Hostname()
	if second.code != 3 || !strings.Contains(second.stderr, fmt.Sprintf("(pid %d)", first.Process.Pid)) || !strings.Contains(second.stderr, "@"+host) {
		t.Fatalf("second up: exit %d, stderr:\n%s", second.code, second.stderr)
	}
	t.Logf("second up failed fast: %s", strings.TrimSpace(second.stderr))
	if err := <-firstDone; err != nil {
		t.Fatalf("first up: %v\n%s", err, tail(firstOut.String(), 20))
	}
	// The lock is released: a third run goes through.
	if r := c.must("preview", endpoint); !strings.Contains(r.stdout, "48 unchanged") {
		t.Fatalf("after the first up:\n%s", r.stdout)
	}
	c.must("destroy", "--yes", endpoint)
}
