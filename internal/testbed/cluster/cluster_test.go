package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRenderKubeconfig(t *testing.T) {
	got := renderKubeconfig([]kubeEntry{
		{Name: "region-a", Server: "https://127.0.0.1:6443", CA: []byte("A"), Token: "ta"},
		{Name: "region-b", Server: "https://127.0.0.1:7443", CA: []byte("B"), Token: "tb"},
	})
	want := `apiVersion: v1
kind: Config
preferences: {}
clusters:
- name: region-a
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: QQ==
- name: region-b
  cluster:
    server: https://127.0.0.1:7443
    certificate-authority-data: Qg==
users:
- name: region-a-admin
  user:
    token: ta
- name: region-b-admin
  user:
    token: tb
contexts:
- name: region-a
  context:
    cluster: region-a
    user: region-a-admin
- name: region-b
  context:
    cluster: region-b
    user: region-b-admin
current-context: region-a
`
	if got != want {
		t.Errorf("kubeconfig:\n%s\nwant:\n%s", got, want)
	}
}

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"region-a": true, "r1": true, "": false, "Region-A": false, "-a": false, "a-": false,
		"a_b": false, strings.Repeat("a", 64): false,
	} {
		if got := validName(name); got != want {
			t.Errorf("validName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestStartRejectsBadNames(t *testing.T) {
	for _, names := range [][]string{nil, {"a", "a"}, {"Region_A"}} {
		if _, err := Start(context.Background(), Options{Dir: t.TempDir(), Names: names}); err == nil {
			t.Errorf("Start(%q) succeeded", names)
		}
	}
}

func TestBuildErrorNamesStepAndTail(t *testing.T) {
	var lines []string
	for i := 1; i <= 100; i++ {
		lines = append(lines, fmt.Sprintf("line %d", i))
	}
	err := error(&BuildError{Step: "kubernetes: go build", Dir: "/x", Output: strings.Join(lines, "\n"), Err: errors.New("exit status 1")})
	msg := err.Error()
	for _, want := range []string{`"kubernetes: go build"`, "/x", "exit status 1", "line 100", "line 71"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "line 70\n") {
		t.Errorf("message has more than the tail:\n%s", msg)
	}
}

// A failing build step reports itself as a BuildError with go's output.
func TestRunFailureIsBuildError(t *testing.T) {
	_, err := run(context.Background(), t.TempDir(), nil, "probe", "sh", "-c", "echo boom >&2; exit 3")
	var be *BuildError
	if !errors.As(err, &be) || be.Step != "probe" || !strings.Contains(be.Output, "boom") {
		t.Fatalf("err = %#v", err)
	}
}

func TestVersionLDFlags(t *testing.T) {
	got := versionLDFlags()
	for _, want := range []string{
		"k8s.io/component-base/version.gitVersion=v1.35.4", "k8s.io/component-base/version.gitMinor=35",
		"k8s.io/client-go/pkg/version.gitVersion=v1.35.4", "k8s.io/client-go/pkg/version.gitMajor=1",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("ldflags lack %q: %s", want, got)
		}
	}
}

func TestCacheDirFollowsEnv(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("MERIDIAN_CACHE", dir)
	got, err := CacheDir()
	if err != nil || got != dir {
		t.Fatalf("CacheDir() = %q, %v; want %q", got, err, dir)
	}
	if _, err := Find(context.Background()); err == nil || !strings.Contains(err.Error(), "make k8s-bins") {
		t.Errorf("Find in an empty cache: %v", err)
	}
}

func TestPKIServesLoopback(t *testing.T) {
	p, err := newPKI(t.TempDir(), "region-a")
	if err != nil {
		t.Fatal(err)
	}
	read := func(path string) *x509.Certificate {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(b)
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	pool := x509.NewCertPool()
	pool.AddCert(read(p.caCert()))
	if _, err := read(p.serverCert()).Verify(x509.VerifyOptions{Roots: pool, DNSName: Host}); err != nil {
		t.Errorf("serving certificate does not verify for %s: %v", Host, err)
	}
	if _, err := tls.LoadX509KeyPair(p.serverCert(), p.serverKey()); err != nil {
		t.Errorf("serving key pair: %v", err)
	}
	tokens, _ := os.ReadFile(p.tokens())
	if !strings.HasPrefix(string(tokens), p.token+",") || !strings.Contains(string(tokens), "system:masters") {
		t.Errorf("token file: %q", tokens)
	}
}

// The whole life of a set on real binaries: two clusters, a Deployment
// that becomes Available and a claim that binds (so kwok works), a
// recreated cluster that is empty and reachable through the same
// kubeconfig, and no process left after Stop.
func TestClustersLifecycle(t *testing.T) {
	set := ForTest(t, "region-a", "region-b")
	kc, err := os.ReadFile(set.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"region-a", "region-b"} {
		c, _ := set.Cluster(n)
		if !strings.Contains(string(kc), "- name: "+n+"\n  context:") || !strings.Contains(string(kc), c.Server()) {
			t.Errorf("kubeconfig lacks context %s at %s:\n%s", n, c.Server(), kc)
		}
		t.Logf("%s: %s started in %s, rss %d MiB", n, c.Server(), c.StartTime.Round(100*time.Millisecond), c.RSS()>>20)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	a, _ := set.Cluster("region-a")
	b, _ := set.Cluster("region-b")
	for _, c := range []*Cluster{a, b} {
		post(t, ctx, c, "/apis/apps/v1/namespaces/default/deployments", deployment("web"))
		post(t, ctx, c, "/api/v1/namespaces/default/persistentvolumeclaims", claim("data"))
	}
	for _, c := range []*Cluster{a, b} {
		eventually(t, ctx, c.Name+" deployment web Available", func() error {
			var d struct {
				Status struct {
					AvailableReplicas int `json:"availableReplicas"`
				}
			}
			get(t, ctx, c, "/apis/apps/v1/namespaces/default/deployments/web", &d)
			if d.Status.AvailableReplicas != 2 {
				return fmt.Errorf("%d of 2 replicas available", d.Status.AvailableReplicas)
			}
			return nil
		})
		eventually(t, ctx, c.Name+" claim data Bound", func() error {
			var pvc struct{ Status struct{ Phase string } }
			get(t, ctx, c, "/api/v1/namespaces/default/persistentvolumeclaims/data", &pvc)
			if pvc.Status.Phase != "Bound" {
				return fmt.Errorf("phase %q", pvc.Status.Phase)
			}
			return nil
		})
	}

	// Region-b is lost: nothing runs and nothing answers.
	oldPIDs := b.PIDs()
	if err := set.Destroy("region-b"); err != nil {
		t.Fatal(err)
	}
	for name, pid := range oldPIDs {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("%s (pid %d) of region-b still runs after Destroy", name, pid)
		}
	}
	client, err := b.httpClient()
	if err != nil {
		t.Fatal(err)
	}
	if b.Running() || httpOK(ctx, client, b.Server()+"/readyz", b.Token) == nil {
		t.Errorf("destroyed region-b still runs or answers")
	}
	if err := set.Recreate(ctx, "region-b"); err != nil {
		t.Fatal(err)
	}
	if !b.Running() {
		t.Errorf("recreated region-b is not running")
	}
	kc2, _ := os.ReadFile(set.Kubeconfig())
	if !strings.Contains(string(kc2), b.Server()) {
		t.Errorf("kubeconfig does not point at the recreated region-b %s", b.Server())
	}
	if status := getStatus(t, ctx, b, "/apis/apps/v1/namespaces/default/deployments/web"); status != http.StatusNotFound {
		t.Errorf("recreated region-b still has deployment web (GET: %d)", status)
	}
	if status := getStatus(t, ctx, a, "/apis/apps/v1/namespaces/default/deployments/web"); status != http.StatusOK {
		t.Errorf("region-a lost deployment web when region-b was recreated (GET: %d)", status)
	}

	var pids []int
	for _, c := range []*Cluster{a, b} {
		for _, pid := range c.PIDs() {
			pids = append(pids, pid)
		}
	}
	// Another holder of the set (a provider running a drill) recreates
	// region-a: Stop must find the processes it started through state.json.
	other, err := Load(set.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Recreate(ctx, "region-a"); err != nil {
		t.Fatal(err)
	}
	oa, _ := other.Cluster("region-a")
	for _, pid := range oa.PIDs() {
		pids = append(pids, pid)
	}
	if err := set.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("pid %d still runs after Stop", pid)
		}
	}
	if _, err := os.Stat(filepath.Join(set.Dir(), "state.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state.json left after Stop: %v", err)
	}
}

func deployment(name string) map[string]any {
	labels := map[string]string{"app": name}
	return map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": name},
		"spec": map[string]any{
			"replicas": 2,
			"selector": map[string]any{"matchLabels": labels},
			"template": map[string]any{
				"metadata": map[string]any{"labels": labels},
				"spec":     map[string]any{"containers": []any{map[string]any{"name": "app", "image": "nginx:1.27"}}},
			},
		},
	}
}

func claim(name string) map[string]any {
	return map[string]any{
		"apiVersion": "v1", "kind": "PersistentVolumeClaim",
		"metadata": map[string]any{"name": name},
		"spec": map[string]any{
			"accessModes": []string{"ReadWriteOnce"},
			"resources":   map[string]any{"requests": map[string]string{"storage": "1Gi"}},
		},
	}
}

func post(t *testing.T, ctx context.Context, c *Cluster, path string, obj any) {
	t.Helper()
	client, err := c.httpClient()
	if err != nil {
		t.Fatal(err)
	}
	status, body, err := call(ctx, client, http.MethodPost, c.Server()+path, c.Token, obj)
	if err != nil || status != http.StatusCreated {
		t.Fatalf("%s: POST %s: %d %v: %s", c.Name, path, status, err, body)
	}
}

func get(t *testing.T, ctx context.Context, c *Cluster, path string, into any) {
	t.Helper()
	client, err := c.httpClient()
	if err != nil {
		t.Fatal(err)
	}
	status, body, err := call(ctx, client, http.MethodGet, c.Server()+path, c.Token, nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("%s: GET %s: %d %v: %s", c.Name, path, status, err, body)
	}
	if err := json.Unmarshal(body, into); err != nil {
		t.Fatal(err)
	}
}

func getStatus(t *testing.T, ctx context.Context, c *Cluster, path string) int {
	t.Helper()
	client, err := c.httpClient()
	if err != nil {
		t.Fatal(err)
	}
	status, _, err := call(ctx, client, http.MethodGet, c.Server()+path, c.Token, nil)
	if err != nil {
		t.Fatalf("%s: GET %s: %v", c.Name, path, err)
	}
	return status
}

func eventually(t *testing.T, ctx context.Context, what string, check func() error) {
	t.Helper()
	var last error
	for ctx.Err() == nil {
		if last = check(); last == nil {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("%s: %v", what, last)
}
