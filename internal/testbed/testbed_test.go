package testbed

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMotoStartResetStop starts a real moto server, stores a bucket in it,
// resets it, and stops it. It fails (never skips) if moto is installed but broken.
func TestMotoStartResetStop(t *testing.T) {
	RequireTool(t, "moto_server")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	m, err := StartMoto(ctx)
	if err != nil {
		t.Fatalf("StartMoto: %v", err)
	}
	t.Cleanup(func() { _ = m.Stop() })

	ep := m.Endpoint()
	if !strings.HasPrefix(ep, "http://127.0.0.1:") || ep != "http://127.0.0.1:"+strconv.Itoa(m.Port()) {
		t.Fatalf("Endpoint() = %q, want http://127.0.0.1:%d", ep, m.Port())
	}

	// A real S3 call (path style): create a bucket, then see it listed.
	const bucket = "testbed-reset-probe"
	if code, body := call(t, http.MethodPut, ep+"/"+bucket); code != http.StatusOK {
		t.Fatalf("CreateBucket: HTTP %d: %s\nmoto log:\n%s", code, body, m.LogTail(20))
	}
	if _, body := call(t, http.MethodGet, ep+"/"); !strings.Contains(body, "<Name>"+bucket+"</Name>") {
		t.Fatalf("ListBuckets does not list %s after CreateBucket: %s", bucket, body)
	}

	if err := m.Reset(); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if _, body := call(t, http.MethodGet, ep+"/"); strings.Contains(body, bucket) {
		t.Fatalf("ListBuckets still lists %s after Reset: %s", bucket, body)
	}

	pid := m.PID()
	if err := m.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := m.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	select {
	case <-m.Exited():
	default:
		t.Fatal("moto has not exited after Stop")
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Fatalf("moto pid %d still exists after Stop", pid)
	}
	if c, err := net.DialTimeout("tcp", net.JoinHostPort(Host, strconv.Itoa(m.Port())), time.Second); err == nil {
		c.Close()
		t.Fatalf("port %d still accepts connections after Stop", m.Port())
	}
}

// TestStartMotoTwice: two servers side by side get different ports.
func TestStartMotoTwice(t *testing.T) {
	RequireTool(t, "moto_server")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a, err := StartMoto(ctx)
	if err != nil {
		t.Fatalf("StartMoto a: %v", err)
	}
	defer a.Stop()
	b, err := StartMoto(ctx)
	if err != nil {
		t.Fatalf("StartMoto b: %v", err)
	}
	defer b.Stop()
	if a.Port() == b.Port() {
		t.Fatalf("both moto servers on port %d", a.Port())
	}
}

func call(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestInstallProviderAndCLIConfig builds a stand-in provider into a mirror and
// checks that terraform init installs it from there, offline.
func TestInstallProviderAndCLIConfig(t *testing.T) {
	tf := RequireTool(t, "terraform")
	RequireTool(t, "go")
	dir := t.TempDir()

	// A stand-in module: InstallProvider only needs `go build .` to work.
	src := filepath.Join(dir, "src")
	write(t, filepath.Join(src, "go.mod"), "module example.com/standin\n\ngo 1.22\n")
	write(t, filepath.Join(src, "main.go"), "package main\n\nfunc main() {}\n")

	mirror := filepath.Join(dir, "mirror")
	if err := InstallProvider(src, mirror); err != nil {
		t.Fatal(err)
	}
	bin := ProviderBinaryPath(mirror)
	want := filepath.Join(mirror, "registry.terraform.io/meridianhq/meridian/0.1.0", ProviderPlatform(), "terraform-provider-meridian_v0.1.0")
	if bin != want {
		t.Fatalf("ProviderBinaryPath = %s, want %s", bin, want)
	}
	if fi, err := os.Stat(bin); err != nil || fi.Mode()&0o111 == 0 {
		t.Fatalf("no executable provider at %s: %v", bin, err)
	}

	cfg := filepath.Join(dir, "cli", "terraformrc")
	if err := WriteCLIConfig(cfg, mirror); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(dir, "work")
	write(t, filepath.Join(work, "main.tf"), `terraform {
  required_providers {
    meridian = {
      source  = "meridianhq/meridian"
      version = "0.1.0"
    }
  }
}
`)
	cmd := exec.Command(tf, "init", "-input=false", "-no-color")
	cmd.Dir = work
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+cfg, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("terraform init with the mirror: %v\n%s", err, out)
	}
	for _, bad := range []string{"problems with the CLI configuration", "Unable to open CLI configuration"} {
		if strings.Contains(string(out), bad) {
			t.Fatalf("terraform init output contains %q:\n%s", bad, out)
		}
	}
	if !strings.Contains(string(out), "meridianhq/meridian v0.1.0") {
		t.Fatalf("terraform init did not install meridianhq/meridian v0.1.0:\n%s", out)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
