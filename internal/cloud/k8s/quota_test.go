package k8s_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/meridianhq/terraform-provider-meridian/internal/cloud/k8s"
	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// split is what a capacity reservation could compile into in one region:
// a class per tier and a quota per class, sized cpu per tier.
func split(region string, cpu map[string]string, batchValue int) []primitive.Primitive {
	p := func(typ, name string, props map[string]any, deps ...string) primitive.Primitive {
		t := map[string]string{"meridian:resource": "capacity", "cost-centre": "Payments Team"}
		return primitive.Primitive{Name: name + "." + region, Type: typ, Region: region, Properties: props, Tags: t, DependsOn: deps}
	}
	ns := "namespace." + region
	out := []primitive.Primitive{p(k8s.Namespace, "namespace", map[string]any{"name": "jobs"})}
	for _, c := range []struct {
		tier, policy string
		value        int
	}{{"reserved", "PreemptLowerPriority", 100000}, {"on-demand", "PreemptLowerPriority", 10000}, {"spot", "Never", batchValue}} {
		class := "web-" + c.tier
		out = append(out,
			p(k8s.PriorityClass, "class-"+c.tier, map[string]any{"name": class, "value": c.value,
				"preemption_policy": c.policy, "description": "web: " + c.tier}),
			p(k8s.ResourceQuota, "quota-"+c.tier, map[string]any{"namespace": "jobs", "name": class,
				"hard": map[string]any{"requests.cpu": cpu[c.tier], "pods": "20"}, "priority_class": class},
				ns, "class-"+c.tier+"."+region))
	}
	return out
}

func splitGraph(batchValue int) primitive.Graph {
	var g primitive.Graph
	g.Primitives = append(g.Primitives, split("region-a", map[string]string{"reserved": "8", "on-demand": "4", "spot": "2"}, batchValue)...)
	g.Primitives = append(g.Primitives, split("region-b", map[string]string{"reserved": "4", "on-demand": "8", "spot": "2"}, batchValue)...)
	return g
}

// Priority classes and quotas scoped to them, in two real clusters: applied
// with their labels, enforced by the API server (a batch pod over its
// quota is refused), drift found and undone, a class whose value changes
// replaced, and everything gone after destroy.
func TestQuotasAndPriorityClassesOnTwoClusters(t *testing.T) {
	e := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	g := splitGraph(1000)
	plan := e.mustApply(ctx, g)
	if n := plan.Count()[engine.OpCreate]; n != 14 {
		t.Fatalf("first plan creates %d primitives, want 14: %v", n, plan.Steps)
	}
	for region, wantCPU := range map[string]string{"region-a": "8", "region-b": "4"} {
		c := e.clients[region]
		pc, err := c.SchedulingV1().PriorityClasses().Get(ctx, "web-spot", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if pc.Value != 1000 || pc.GlobalDefault || pc.PreemptionPolicy == nil || *pc.PreemptionPolicy != corev1.PreemptNever ||
			pc.Description != "web: spot" {
			t.Errorf("%s: class web-spot = value %d, global default %v, policy %v, description %q", region, pc.Value, pc.GlobalDefault, pc.PreemptionPolicy, pc.Description)
		}
		for k, v := range map[string]string{"cost-centre": "Payments-Team", "meridian/resource": "capacity", k8s.ManagedByLabel: "meridian"} {
			if pc.Labels[k] != v {
				t.Errorf("%s: class label %s = %q, want %q", region, k, pc.Labels[k], v)
			}
		}
		q, err := c.CoreV1().ResourceQuotas("jobs").Get(ctx, "web-reserved", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := q.Spec.Hard[corev1.ResourceRequestsCPU]; got.Cmp(resource.MustParse(wantCPU)) != 0 {
			t.Errorf("%s: quota web-reserved requests.cpu = %s, want %s", region, got.String(), wantCPU)
		}
		sel := q.Spec.ScopeSelector
		if sel == nil || len(sel.MatchExpressions) != 1 || sel.MatchExpressions[0].ScopeName != corev1.ResourceQuotaScopePriorityClass ||
			!reflect.DeepEqual(sel.MatchExpressions[0].Values, []string{"web-reserved"}) {
			t.Errorf("%s: quota web-reserved scope selector %+v", region, sel)
		}
		if q.Labels["cost-centre"] != "Payments-Team" {
			t.Errorf("%s: quota labels %v", region, q.Labels)
		}
	}
	e.expectNoChanges(g)
	if d := e.refresh(ctx); len(d) > 0 {
		t.Fatalf("refresh right after apply found drift: %v", d)
	}

	// The API server enforces the split: a batch pod asking for more CPU
	// than the spot quota holds is refused; the quota is the one meridian wrote.
	a := e.clients["region-a"]
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "big-batch", Namespace: "jobs"},
		Spec: corev1.PodSpec{PriorityClassName: "web-spot", Containers: []corev1.Container{{
			Name: "job", Image: "busybox",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("3")}},
		}}},
	}
	eventually(t, ctx, "batch pod over the spot quota refused", func() error {
		_, err := a.CoreV1().Pods("jobs").Create(ctx, pod, metav1.CreateOptions{})
		if err == nil {
			_ = a.CoreV1().Pods("jobs").Delete(ctx, pod.Name, metav1.DeleteOptions{})
			return errors.New("created")
		}
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "exceeded quota: web-spot") {
			return err
		}
		return nil
	})
	pod.Name, pod.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = "small-batch", resource.MustParse("1")
	if _, err := a.CoreV1().Pods("jobs").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("batch pod within the spot quota: %v", err)
	}

	// Hand edits in region-b: a quota raised, a class described otherwise.
	b := e.clients["region-b"]
	if _, err := b.CoreV1().ResourceQuotas("jobs").Patch(ctx, "web-on-demand", types.MergePatchType,
		[]byte(`{"spec":{"hard":{"requests.cpu":"64"}}}`), metav1.PatchOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.SchedulingV1().PriorityClasses().Patch(ctx, "web-reserved", types.MergePatchType,
		[]byte(`{"description":"mine now"}`), metav1.PatchOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	drifts := e.refresh(ctx)
	if d := drifts["quota-on-demand.region-b"]; !reflect.DeepEqual(d.Changes, []string{"hard"}) {
		t.Errorf("drift of quota-on-demand.region-b = %+v, want hard", d)
	}
	if d := drifts["class-reserved.region-b"]; !reflect.DeepEqual(d.Changes, []string{"description"}) {
		t.Errorf("drift of class-reserved.region-b = %+v, want description", d)
	}
	if len(drifts) != 2 {
		t.Errorf("refresh found %d drifts, want 2: %v", len(drifts), drifts)
	}
	if plan := e.mustApply(ctx, g); len(plan.Changes()) != 2 {
		t.Errorf("repair plan: %v", plan.Changes())
	}
	q, err := b.CoreV1().ResourceQuotas("jobs").Get(ctx, "web-on-demand", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := q.Spec.Hard[corev1.ResourceRequestsCPU]; got.String() != "8" {
		t.Errorf("region-b quota after repair: requests.cpu %s, want 8", got.String())
	}
	e.expectNoChanges(g)

	// A new value for a class cannot be written in place: the class is replaced.
	g2 := splitGraph(500)
	plan = e.mustApply(ctx, g2)
	var replaced []string
	for _, c := range plan.Changes() {
		if c.Op == engine.OpReplace {
			replaced = append(replaced, c.Name)
		}
	}
	if !reflect.DeepEqual(replaced, []string{"class-spot.region-a", "class-spot.region-b"}) {
		t.Errorf("replaced %v, want the two spot classes: %v", replaced, plan.Changes())
	}
	if pc, err := a.SchedulingV1().PriorityClasses().Get(ctx, "web-spot", metav1.GetOptions{}); err != nil || pc.Value != 500 {
		t.Errorf("region-a web-spot after replace: %v (%v)", pc, err)
	}
	e.expectNoChanges(g2)

	records := append([]engine.Record(nil), e.st.Records...)
	if err := e.engine.Destroy(ctx, &e.st); err != nil {
		t.Fatal(err)
	}
	for region, c := range e.clients {
		for _, class := range []string{"web-reserved", "web-on-demand", "web-spot"} {
			if _, err := c.SchedulingV1().PriorityClasses().Get(ctx, class, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("%s: class %s after destroy: %v", region, class, err)
			}
		}
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
