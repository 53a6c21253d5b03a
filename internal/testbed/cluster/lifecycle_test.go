package cluster_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/drill"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed/cluster"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed/cluster/clustertest"
)

// The whole life of a set on real binaries: two clusters, a Deployment
// that becomes Available and a claim that binds (so kwok works), a
// recreated cluster that is empty and reachable through the same
// kubeconfig, and no process left after Stop.
func TestClustersLifecycle(t *testing.T) {
	set := clustertest.ForTest(t, "region-a", "region-b")
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
	for _, c := range []*cluster.Cluster{a, b} {
		post(t, ctx, c, "/apis/apps/v1/namespaces/default/deployments", deployment("web"))
		post(t, ctx, c, "/api/v1/namespaces/default/persistentvolumeclaims", claim("data"))
	}
	for _, c := range []*cluster.Cluster{a, b} {
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
		if running(pid) {
			t.Errorf("%s (pid %d) of region-b still runs after Destroy", name, pid)
		}
	}
	client, err := b.HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	if b.Running() || cluster.HTTPOK(ctx, client, b.Server()+"/readyz", b.Token) == nil {
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
	for _, c := range []*cluster.Cluster{a, b} {
		for _, pid := range c.PIDs() {
			pids = append(pids, pid)
		}
	}
	// A drill recreates region-a as the product does, through the set's
	// lifecycle executable, in another process: Stop must find the
	// processes that process started, through state.json.
	var logged []string
	lifecycle, err := drill.NewExecutable(set.Dir(), map[string]string{"us-east-1": "region-a"}, func(format string, args ...any) {
		logged = append(logged, fmt.Sprintf(format, args...))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := lifecycle.Recreate(ctx, "us-east-1"); err != nil {
		t.Fatal(err)
	}
	t.Logf("lifecycle recreate, from another process:\n%s", strings.Join(logged, "\n"))
	if log := strings.Join(logged, "\n"); !strings.Contains(log, "lifecycle recreate: cluster region-a ready at") || !strings.Contains(log, "lifecycle recreate: recreate region-a in") {
		t.Errorf("the drill's log lacks the lifecycle's output:\n%s", log)
	}
	other, err := cluster.Load(set.Dir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	oa, _ := other.Cluster("region-a")
	if !oa.Running() {
		t.Fatalf("region-a is not running after the lifecycle recreated it: %v", oa.PIDs())
	}
	for name, pid := range oa.PIDs() {
		if pid == a.PIDs()[name] {
			t.Errorf("%s of region-a kept pid %d: the lifecycle did not recreate it", name, pid)
		}
		pids = append(pids, pid)
	}
	if status := getStatus(t, ctx, oa, "/apis/apps/v1/namespaces/default/deployments/web"); status != http.StatusNotFound {
		t.Errorf("recreated region-a still has deployment web (GET: %d)", status)
	}
	if err := set.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if running(pid) {
			t.Errorf("pid %d still runs after Stop", pid)
		}
	}
	if _, err := os.Stat(filepath.Join(set.Dir(), "state.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state.json left after Stop: %v", err)
	}
}

// running reports whether pid runs. A zombie does not: it holds no port or
// memory, only an entry until its parent reaps it, and the processes that
// the lifecycle executable started have init for a parent once it exits,
// which reaps them when it gets to them.
func running(pid int) bool {
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(st), ") ")
	return !strings.HasPrefix(rest, "Z")
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

func post(t *testing.T, ctx context.Context, c *cluster.Cluster, path string, obj any) {
	t.Helper()
	client, err := c.HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	status, body, err := cluster.Call(ctx, client, http.MethodPost, c.Server()+path, c.Token, obj)
	if err != nil || status != http.StatusCreated {
		t.Fatalf("%s: POST %s: %d %v: %s", c.Name, path, status, err, body)
	}
}

func get(t *testing.T, ctx context.Context, c *cluster.Cluster, path string, into any) {
	t.Helper()
	client, err := c.HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	status, body, err := cluster.Call(ctx, client, http.MethodGet, c.Server()+path, c.Token, nil)
	if err != nil || status != http.StatusOK {
		t.Fatalf("%s: GET %s: %d %v: %s", c.Name, path, status, err, body)
	}
	if err := json.Unmarshal(body, into); err != nil {
		t.Fatal(err)
	}
}

func getStatus(t *testing.T, ctx context.Context, c *cluster.Cluster, path string) int {
	t.Helper()
	client, err := c.HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	status, _, err := cluster.Call(ctx, client, http.MethodGet, c.Server()+path, c.Token, nil)
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
