package k8s_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/meridianhq/terraform-provider-meridian/internal/cloud/k8s"
	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed/cluster"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed/cluster/clustertest"
)

var tags = map[string]string{"cost-centre": "Payments Team", "service": "shop"}

// workload is what a region pair's workload block could compile into in
// one region: every primitive type, with the dependencies a compiler sets.
func workload(region string, replicas int, peer string) []primitive.Primitive {
	p := func(typ, name string, props map[string]any, deps ...string) primitive.Primitive {
		t := map[string]string{"meridian:resource": name}
		for k, v := range tags {
			t[k] = v
		}
		return primitive.Primitive{Name: name + "." + region, Type: typ, Region: region, Properties: props, Tags: t, DependsOn: deps}
	}
	ns := "namespace." + region
	return []primitive.Primitive{
		p(k8s.Namespace, "namespace", map[string]any{"name": "shop"}),
		p(k8s.ConfigMap, "config", map[string]any{"namespace": "shop", "name": "shop-config",
			"data": map[string]any{"REGION_ROLE": region, "PEER_ENDPOINT": peer}}, ns),
		p(k8s.PersistentVolumeClaim, "claim", map[string]any{"namespace": "shop", "name": "data", "storage": "1Gi"}, ns),
		p(k8s.Deployment, "deployment", map[string]any{"namespace": "shop", "name": "web", "image": "nginx:1.27",
			"replicas": replicas, "ports": []int{8080}, "env": map[string]any{"LOG_LEVEL": "info"},
			"config_map": "shop-config", "volume_claim": "data",
			"labels": map[string]any{"meridian/region-role": region}},
			ns, "config."+region, "claim."+region),
		p(k8s.Service, "service", map[string]any{"namespace": "shop", "name": "web", "ports": []int{8080}}, ns),
	}
}

func graph(replicasA, replicasB int) primitive.Graph {
	var g primitive.Graph
	g.Primitives = append(g.Primitives, workload("region-a", replicasA, "web.shop.svc.region-b")...)
	g.Primitives = append(g.Primitives, workload("region-b", replicasB, "web.shop.svc.region-a")...)
	return g
}

type env struct {
	t       *testing.T
	set     *cluster.Set
	cloud   *k8s.Cloud
	engine  *engine.Engine
	clients map[string]kubernetes.Interface
	st      engine.State
}

func setup(t *testing.T) *env {
	set := clustertest.ForTest(t, "region-a", "region-b")
	b, _ := set.Cluster("region-b")
	caB, err := b.CAData()
	if err != nil {
		t.Fatal(err)
	}
	// One region through the kubeconfig, the other through host, token and CA.
	cloud, err := k8s.New(map[string]k8s.ClusterConfig{
		"region-a": {Kubeconfig: set.Kubeconfig(), Context: "region-a"},
		"region-b": {Host: b.Server(), Token: b.Token, CAData: caB},
	})
	if err != nil {
		t.Fatal(err)
	}
	cloud.DeploymentTimeout = 2 * time.Minute
	e := &env{t: t, set: set, cloud: cloud, engine: &engine.Engine{Drivers: cloud.Drivers()}, clients: map[string]kubernetes.Interface{}}
	for _, r := range []string{"region-a", "region-b"} {
		if e.clients[r], err = cloud.Client(r); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *env) apply(ctx context.Context, g primitive.Graph) (engine.Plan, error) {
	e.t.Helper()
	plan, err := engine.Diff(g, e.st, e.engine.Drivers)
	if err != nil {
		e.t.Fatal(err)
	}
	return plan, e.engine.Apply(ctx, plan, &e.st)
}

func (e *env) mustApply(ctx context.Context, g primitive.Graph) engine.Plan {
	e.t.Helper()
	plan, err := e.apply(ctx, g)
	if err != nil {
		e.t.Fatalf("apply %v: %v", plan.Changes(), err)
	}
	return plan
}

func (e *env) expectNoChanges(g primitive.Graph) {
	e.t.Helper()
	plan, err := engine.Diff(g, e.st, e.engine.Drivers)
	if err != nil {
		e.t.Fatal(err)
	}
	if c := plan.Changes(); len(c) > 0 {
		e.t.Fatalf("plan is not empty: %v", c)
	}
}

func (e *env) refresh(ctx context.Context) map[string]engine.Drift {
	e.t.Helper()
	drifts, _, err := e.engine.Refresh(ctx, &e.st)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]engine.Drift{}
	for _, d := range drifts {
		out[d.Name] = d
	}
	return out
}

// The drivers' whole life against two real clusters: apply everywhere,
// an empty second plan, drift from hand edits found by refresh and undone
// by apply, a Deployment deleted by hand and restored, a rollout that
// cannot finish named precisely, and a destroy that leaves nothing.
func TestDriversOnTwoClusters(t *testing.T) {
	e := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	g := graph(3, 1)
	plan := e.mustApply(ctx, g)
	if n := plan.Count()[engine.OpCreate]; n != 10 {
		t.Fatalf("first plan creates %d primitives, want 10: %v", n, plan.Steps)
	}
	for region, want := range map[string]int32{"region-a": 3, "region-b": 1} {
		c := e.clients[region]
		d, err := c.AppsV1().Deployments("shop").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if d.Status.AvailableReplicas != want {
			t.Errorf("%s: %d replicas available right after apply, want %d", region, d.Status.AvailableReplicas, want)
		}
		for _, labels := range []map[string]string{d.Labels, d.Spec.Template.Labels} {
			for k, v := range map[string]string{"cost-centre": "Payments-Team", "service": "shop",
				"meridian/resource": "deployment", "meridian/region-role": region, k8s.ManagedByLabel: "meridian"} {
				if labels[k] != v {
					t.Errorf("%s: label %s = %q, want %q (all: %v)", region, k, labels[k], v, labels)
				}
			}
		}
		if !appliedBy(d.ManagedFields, k8s.FieldManager) {
			t.Errorf("%s: deployment has no server-side apply entry of manager %q: %v", region, k8s.FieldManager, d.ManagedFields)
		}
		pvc, err := c.CoreV1().PersistentVolumeClaims("shop").Get(ctx, "data", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cm, err := c.CoreV1().ConfigMaps("shop").Get(ctx, "shop-config", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if cm.Data["REGION_ROLE"] != region {
			t.Errorf("%s: config map data %v", region, cm.Data)
		}
		svc, err := c.CoreV1().Services("shop").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if svc.Spec.Selector[k8s.SelectorLabel] != "web" || svc.Spec.Ports[0].Port != 8080 {
			t.Errorf("%s: service spec %+v", region, svc.Spec)
		}
		if rec, _ := e.st.Get("service." + region); rec.Outputs["cluster_ip"] != svc.Spec.ClusterIP || rec.Outputs["dns"] != "web.shop.svc.cluster.local" {
			t.Errorf("%s: service outputs %v", region, rec.Outputs)
		}
		eventually(t, ctx, region+" claim Bound", func() error {
			pvc, err = c.CoreV1().PersistentVolumeClaims("shop").Get(ctx, "data", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if pvc.Status.Phase != "Bound" {
				return fmt.Errorf("phase %s", pvc.Status.Phase)
			}
			return nil
		})
	}
	e.expectNoChanges(g)
	if d := e.refresh(ctx); len(d) > 0 {
		t.Fatalf("refresh right after apply found drift: %v", d)
	}
	e.expectNoChanges(g)

	// Hand edits in region-b: a replica count (kubectl scale) and a cost label.
	b := e.clients["region-b"]
	if _, err := b.AppsV1().Deployments("shop").Patch(ctx, "web", types.MergePatchType,
		[]byte(`{"spec":{"replicas":4}}`), metav1.PatchOptions{FieldManager: "kubectl-scale"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CoreV1().ConfigMaps("shop").Patch(ctx, "shop-config", types.MergePatchType,
		[]byte(`{"metadata":{"labels":{"cost-centre":"someone-else"}}}`), metav1.PatchOptions{FieldManager: "kubectl-label"}); err != nil {
		t.Fatal(err)
	}
	drifts := e.refresh(ctx)
	if d := drifts["deployment.region-b"]; !reflect.DeepEqual(d.Changes, []string{"replicas"}) {
		t.Errorf("drift of deployment.region-b = %+v, want replicas", d)
	}
	if d := drifts["config.region-b"]; len(d.Changes) != 1 || !strings.HasPrefix(d.Changes[0], "tags") || !strings.Contains(d.Changes[0], "someone-else") {
		t.Errorf("drift of config.region-b = %+v, want tags", d)
	}
	if len(drifts) != 2 {
		t.Errorf("refresh found %d drifts, want 2: %v", len(drifts), drifts)
	}
	plan = e.mustApply(ctx, g)
	if n := len(plan.Changes()); n != 2 {
		t.Errorf("repair plan has %d changes, want 2: %v", n, plan.Changes())
	}
	d, err := b.AppsV1().Deployments("shop").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *d.Spec.Replicas != 1 || d.Status.AvailableReplicas != 1 {
		t.Errorf("region-b after repair: %d replicas wanted, %d available; want 1", *d.Spec.Replicas, d.Status.AvailableReplicas)
	}
	e.expectNoChanges(g)

	// A Deployment deleted by hand: refresh says it is gone, apply brings it back.
	if err := b.AppsV1().Deployments("shop").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	drifts = e.refresh(ctx)
	if d := drifts["deployment.region-b"]; !d.Gone || len(drifts) != 1 {
		t.Fatalf("refresh after a hand delete: %v", drifts)
	}
	plan = e.mustApply(ctx, g)
	if c := plan.Changes(); len(c) != 1 || c[0].Op != engine.OpCreate || c[0].Name != "deployment.region-b" {
		t.Errorf("restore plan: %v", c)
	}
	if _, err := b.AppsV1().Deployments("shop").Get(ctx, "web", metav1.GetOptions{}); err != nil {
		t.Errorf("deployment not restored: %v", err)
	}

	// A rollout that cannot finish: region-b's only node is cordoned.
	setUnschedulable(t, ctx, b, true)
	e.cloud.DeploymentTimeout = 5 * time.Second
	_, err = e.apply(ctx, graph(3, 3))
	if err == nil {
		t.Fatal("apply succeeded with no node to run on")
	}
	t.Logf("as expected, apply failed: %v", err)
	for _, want := range []string{"shop/web", "not Available", "1/3 replicas ready", "Available=", "Unschedulable"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	setUnschedulable(t, ctx, b, false)
	e.cloud.DeploymentTimeout = 2 * time.Minute
	e.mustApply(ctx, graph(3, 3))
	e.expectNoChanges(graph(3, 3))

	// A create must not take over an object someone else made.
	drv := e.engine.Drivers[k8s.ConfigMap]
	if _, err := drv.Create(ctx, engine.Request{Name: "config.region-a", Type: k8s.ConfigMap, Region: "region-a",
		Properties: map[string]any{"namespace": "shop", "name": "shop-config"}}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("create over an existing config map: %v", err)
	}

	// Destroy removes everything, in both clusters, and a second delete is fine.
	records := append([]engine.Record(nil), e.st.Records...)
	if err := e.engine.Destroy(ctx, &e.st); err != nil {
		t.Fatal(err)
	}
	if len(e.st.Records) != 0 {
		t.Errorf("records left after destroy: %v", e.st.Records)
	}
	for region, c := range e.clients {
		if _, err := c.CoreV1().Namespaces().Get(ctx, "shop", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s: namespace shop after destroy: %v", region, err)
		}
		pvs, err := c.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, ctx, region+" volumes released", func() error {
			pvs, err = c.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			if len(pvs.Items) > 0 {
				return fmt.Errorf("%d persistent volumes left", len(pvs.Items))
			}
			return nil
		})
	}
	for _, rec := range records {
		if err := e.engine.Drivers[rec.Type].Delete(ctx, rec); err != nil {
			t.Errorf("second delete of %s: %v", rec.Name, err)
		}
		if _, err := e.engine.Drivers[rec.Type].Read(ctx, rec); !errors.Is(err, engine.ErrNotFound) {
			t.Errorf("read of deleted %s: %v, want ErrNotFound", rec.Name, err)
		}
	}
}

func appliedBy(fields []metav1.ManagedFieldsEntry, manager string) bool {
	for _, f := range fields {
		if f.Manager == manager && f.Operation == metav1.ManagedFieldsOperationApply {
			return true
		}
	}
	return false
}

func setUnschedulable(t *testing.T, ctx context.Context, c kubernetes.Interface, on bool) {
	t.Helper()
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes.Items {
		patch := fmt.Sprintf(`{"spec":{"unschedulable":%v}}`, on)
		if _, err := c.CoreV1().Nodes().Patch(ctx, n.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
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
