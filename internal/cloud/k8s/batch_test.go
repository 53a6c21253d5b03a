package k8s

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

var _ engine.BatchReader = driver{}

// TestReadAllMatchesRead checks, on client-go's fake clientset (the real
// clusters are opt-in, see k8s_test.go), that ReadAll reports every object
// exactly as Read does, with one list per kind and namespace and a GET only
// for the objects the list by label did not return: an object whose
// managed-by label was removed by hand, one being deleted, one gone.
func TestReadAllMatchesRead(t *testing.T) {
	tags := map[string]string{"cost-centre": "Payments Team"}
	managed := map[string]string{ManagedByLabel: FieldManager, "cost-centre": "Payments-Team"}
	edited := map[string]string{ManagedByLabel: FieldManager, "cost-centre": "Ops"}
	unlabelled := map[string]string{"cost-centre": "Payments-Team"}
	meta := func(ns, name string, labels map[string]string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}
	}
	three := int32(3)
	now := metav1.Now()
	deleting := meta("shop", "cfg-deleting", managed)
	deleting.DeletionTimestamp, deleting.Finalizers = &now, []string{"example.com/hold"}
	objs := []runtime.Object{
		&corev1.Namespace{ObjectMeta: meta("", "shop", managed)},
		&corev1.Namespace{ObjectMeta: meta("", "legacy", unlabelled)},
		&corev1.Namespace{ObjectMeta: meta("", "foreign", nil)},
		&corev1.ConfigMap{ObjectMeta: meta("shop", "cfg-a", managed), Data: map[string]string{"K": "v"}},
		&corev1.ConfigMap{ObjectMeta: meta("shop", "cfg-b", unlabelled), Data: map[string]string{"K": "hand"}},
		&corev1.ConfigMap{ObjectMeta: meta("other", "cfg-c", edited), Data: map[string]string{"K": "v"}},
		&corev1.ConfigMap{ObjectMeta: deleting},
		&appsv1.Deployment{ObjectMeta: meta("shop", "web", managed), Spec: appsv1.DeploymentSpec{Replicas: &three,
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: container, Image: "nginx:1.27",
				Ports: []corev1.ContainerPort{{ContainerPort: 8080}}, Env: []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "debug"}},
				EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: EnvSecret("web")}}}}}}}}}},
		&corev1.Secret{ObjectMeta: meta("shop", EnvSecret("web"), managed), Data: map[string][]byte{"DB_PASSWORD": []byte("from-the-secret")}},
		&corev1.Service{ObjectMeta: meta("shop", "web", managed), Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 8080}},
			Selector: map[string]string{SelectorLabel: "web"}, Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.0.0.7"}},
		&corev1.PersistentVolumeClaim{ObjectMeta: meta("shop", "data", managed), Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Gi")}}}},
		&corev1.ResourceQuota{ObjectMeta: meta("shop", "quota", managed), Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{"requests.cpu": resource.MustParse("8")}}},
		&schedulingv1.PriorityClass{ObjectMeta: meta("", "high", managed), Value: 1000},
	}
	cs := fake.NewClientset(objs...)
	c := &Cloud{clients: map[string]kubernetes.Interface{"region-a": cs}}
	rec := func(typ, ns, name string, props map[string]any) engine.Record {
		in := map[string]any{"name": name}
		if ns != "" {
			in["namespace"] = ns
		}
		for k, v := range props {
			in[k] = v
		}
		return engine.Record{Name: typ + "." + id(ns, name), Type: typ, Region: "region-a", ID: id(ns, name),
			Inputs: primitive.Normalize(in), Tags: tags}
	}
	cases := []struct {
		typ  string
		recs []engine.Record
		// lists and gets are the calls ReadAll should make.
		lists, gets int
		gone        []string
	}{
		{Namespace, []engine.Record{rec(Namespace, "", "shop", nil), rec(Namespace, "", "legacy", nil), rec(Namespace, "", "gone", nil)}, 1, 2,
			[]string{"k8s_namespace.gone"}},
		{ConfigMap, []engine.Record{
			rec(ConfigMap, "shop", "cfg-a", map[string]any{"data": map[string]any{"K": "v"}}),
			rec(ConfigMap, "shop", "cfg-b", map[string]any{"data": map[string]any{"K": "v"}}),
			rec(ConfigMap, "other", "cfg-c", map[string]any{"data": map[string]any{"K": "v"}}),
			rec(ConfigMap, "shop", "cfg-deleting", nil),
			rec(ConfigMap, "shop", "cfg-gone", nil),
		}, 2, 3, []string{"k8s_configmap.shop/cfg-deleting", "k8s_configmap.shop/cfg-gone"}},
		{Deployment, []engine.Record{rec(Deployment, "shop", "web", map[string]any{"image": "nginx:1.27", "replicas": 2, "ports": []int{8080},
			"env": map[string]any{"LOG_LEVEL": "info"}, "labels": map[string]any{"cost-centre": "x"}})}, 1, 1, nil},
		{Service, []engine.Record{rec(Service, "shop", "web", map[string]any{"ports": []int{8080}})}, 1, 0, nil},
		{PersistentVolumeClaim, []engine.Record{rec(PersistentVolumeClaim, "shop", "data", map[string]any{"storage": "1Gi"})}, 1, 0, nil},
		{ResourceQuota, []engine.Record{rec(ResourceQuota, "shop", "quota", map[string]any{"hard": map[string]any{"requests.cpu": "8000m"}})}, 1, 0, nil},
		{PriorityClass, []engine.Record{rec(PriorityClass, "", "high", map[string]any{"value": 1000}), rec(PriorityClass, "", "low", map[string]any{"value": 1})}, 1, 1,
			[]string{"k8s_priority_class.low"}},
	}
	ctx := context.Background()
	drivers := c.Drivers()
	for _, tc := range cases {
		t.Run(tc.typ, func(t *testing.T) {
			d := drivers[tc.typ].(driver)
			cs.ClearActions()
			got, err := d.ReadAll(ctx, tc.recs)
			if err != nil {
				t.Fatal(err)
			}
			lists, gets := 0, 0
			for _, a := range cs.Actions() {
				switch a.GetVerb() {
				case "list":
					lists++
				case "get":
					gets++
				default:
					t.Errorf("unexpected call %s", a.GetVerb())
				}
			}
			if lists != tc.lists || gets != tc.gets {
				t.Errorf("ReadAll made %d lists and %d gets, want %d and %d", lists, gets, tc.lists, tc.gets)
			}
			var gone []string
			for _, r := range tc.recs {
				want, err := d.Read(ctx, r)
				obs, seen := got[r.Name]
				switch {
				case errors.Is(err, engine.ErrNotFound):
					gone = append(gone, r.Name)
					if seen {
						t.Errorf("%s: Read finds it gone, ReadAll saw %+v", r.Name, obs)
					}
				case err != nil:
					t.Fatal(err)
				case !seen:
					t.Errorf("%s: ReadAll lost it", r.Name)
				case !reflect.DeepEqual(primitive.Normalize(obs.Properties), primitive.Normalize(want.Properties)) ||
					!reflect.DeepEqual(obs.Tags, want.Tags) || !reflect.DeepEqual(obs.Outputs, want.Outputs):
					t.Errorf("%s:\n ReadAll %+v\n Read    %+v", r.Name, obs, want)
				}
				// A Deployment's env is what its spec and its env Secret hold.
				if env := fmt.Sprint(obs.Properties["env"]); tc.typ == Deployment && env != "map[DB_PASSWORD:from-the-secret LOG_LEVEL:debug]" {
					t.Errorf("%s: env %s, want the spec's and the Secret's", r.Name, env)
				}
			}
			sort.Strings(gone)
			if !reflect.DeepEqual(gone, tc.gone) {
				t.Errorf("gone = %v, want %v", gone, tc.gone)
			}
		})
	}
}
