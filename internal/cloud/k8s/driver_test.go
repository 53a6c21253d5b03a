package k8s

import (
	"errors"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
)

func TestDecodeValidates(t *testing.T) {
	c := &Cloud{}
	for _, tc := range []struct {
		kind  kind
		props map[string]any
		want  string // "" means valid
	}{
		{namespaceKind{}, map[string]any{"name": "shop"}, ""},
		{namespaceKind{}, map[string]any{}, "name is required"},
		{configMapKind{}, map[string]any{"name": "cfg"}, "namespace is required"},
		{deploymentKind{}, map[string]any{"namespace": "shop", "name": "web"}, "image is required"},
		{deploymentKind{}, map[string]any{"namespace": "shop", "name": "web", "image": "nginx", "replicas": -1}, "negative"},
		{deploymentKind{}, map[string]any{"namespace": "shop", "name": "web", "image": "nginx", "ports": []int{80, 80}}, "repeated"},
		{deploymentKind{}, map[string]any{"namespace": "shop", "name": "web", "image": "nginx", "replicas": 3.0, "ports": []any{8080.0}}, ""},
		{serviceKind{}, map[string]any{"namespace": "shop", "name": "web"}, "at least one port"},
		{serviceKind{}, map[string]any{"namespace": "shop", "name": "web", "ports": []int{80}, "type": "ExternalName"}, "not ClusterIP"},
		{claimKind{}, map[string]any{"namespace": "shop", "name": "data"}, "storage is required"},
		{claimKind{}, map[string]any{"namespace": "shop", "name": "data", "storage": "lots"}, "not a quantity"},
		{claimKind{}, map[string]any{"namespace": "shop", "name": "data", "storage": "1Gi", "access_mode": "RWO"}, "access mode"},
		{claimKind{}, map[string]any{"namespace": "shop", "name": "data", "storage": "1Gi"}, ""},
	} {
		_, err := driver{c, tc.kind}.decode(tc.props)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%T %v: %v", tc.kind, tc.props, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%T %v: err = %v, want %q", tc.kind, tc.props, err, tc.want)
		}
	}
}

func TestTagsFromLabels(t *testing.T) {
	recorded := map[string]string{"cost-centre": "Payments Team", "meridian:resource": "web", "owner": "ops"}
	labels := map[string]string{
		"cost-centre":       "Payments-Team", // as applied
		"meridian/resource": "edited",        // changed by hand
		// owner removed by hand
		"extra": "x",
	}
	got := tagsFromLabels(recorded, labels)
	want := map[string]string{"cost-centre": "Payments Team", "meridian:resource": "edited"}
	if len(got) != len(want) || got["cost-centre"] != want["cost-centre"] || got["meridian:resource"] != want["meridian:resource"] {
		t.Errorf("tagsFromLabels = %v, want %v", got, want)
	}
}

func TestObjectLabels(t *testing.T) {
	got, err := objectLabels(map[string]string{"meridian/region-role": "primary"},
		map[string]string{"cost-centre": "cc 1", "meridian:region-role": "secondary"})
	if err != nil {
		t.Fatal(err)
	}
	if got["cost-centre"] != "cc-1" || got["meridian/region-role"] != "primary" || got[ManagedByLabel] != FieldManager {
		t.Errorf("objectLabels = %v", got)
	}
}

func TestDeploymentReady(t *testing.T) {
	three := int32(3)
	available := appsv1.DeploymentCondition{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue}
	base := func() *appsv1.Deployment {
		return &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Generation: 2},
			Spec:       appsv1.DeploymentSpec{Replicas: &three},
			Status: appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3,
				AvailableReplicas: 3, Conditions: []appsv1.DeploymentCondition{available}},
		}
	}
	for name, tc := range map[string]struct {
		edit func(*appsv1.Deployment)
		want bool
	}{
		"available":              {func(*appsv1.Deployment) {}, true},
		"generation not seen":    {func(d *appsv1.Deployment) { d.Status.ObservedGeneration = 1 }, false},
		"one not ready":          {func(d *appsv1.Deployment) { d.Status.ReadyReplicas = 2 }, false},
		"old pods still running": {func(d *appsv1.Deployment) { d.Status.Replicas = 4 }, false},
		"not updated":            {func(d *appsv1.Deployment) { d.Status.UpdatedReplicas = 1 }, false},
		"condition false": {func(d *appsv1.Deployment) {
			d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionFalse}}
		}, false},
		"scaled to zero": {func(d *appsv1.Deployment) {
			zero := int32(0)
			d.Spec.Replicas = &zero
			d.Status = appsv1.DeploymentStatus{ObservedGeneration: 2}
		}, true},
	} {
		d := base()
		tc.edit(d)
		if got := deploymentReady(d); got != tc.want {
			t.Errorf("%s: deploymentReady = %v, want %v", name, got, tc.want)
		}
	}
}

func TestClassify(t *testing.T) {
	gr := schema.GroupResource{Group: "apps", Resource: "deployments"}
	if err := classify(apierrors.NewNotFound(gr, "web")); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("not found: %v", err)
	}
	if err := classify(apierrors.NewTooManyRequests("slow down", 1)); !engine.IsRetryable(err) {
		t.Errorf("429 is not retryable: %v", err)
	}
	if err := classify(apierrors.NewInternalError(errors.New("boom"))); !engine.IsRetryable(err) {
		t.Errorf("500 is not retryable: %v", err)
	}
	if err := classify(apierrors.NewForbidden(gr, "web", errors.New("no"))); engine.IsRetryable(err) || errors.Is(err, engine.ErrNotFound) {
		t.Errorf("403: %v", err)
	}
}

func TestNewNamesTheBadCluster(t *testing.T) {
	_, err := New(map[string]ClusterConfig{"region-a": {Kubeconfig: "/nonexistent/kubeconfig", Context: "region-a"}})
	if err == nil || !strings.Contains(err.Error(), `"region-a"`) {
		t.Errorf("err = %v", err)
	}
	c, err := New(map[string]ClusterConfig{"region-a": {Host: "https://127.0.0.1:1", Token: "t"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client("region-b"); err == nil || !strings.Contains(err.Error(), "region-a") {
		t.Errorf("unknown region: %v", err)
	}
	if len(c.Drivers()) != len(Types) {
		t.Errorf("Drivers() has %d types, want %d", len(c.Drivers()), len(Types))
	}
}
