package k8s

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
)

// applyOptions force meridian's ownership of the fields it sets: it is the
// source of truth, and a hand edit is drift to undo, not a conflict.
var applyOptions = metav1.ApplyOptions{FieldManager: FieldManager, Force: true}

var background = metav1.DeletePropagationBackground

func deleteOptions() metav1.DeleteOptions {
	return metav1.DeleteOptions{PropagationPolicy: &background}
}

// ---- namespace

type namespaceKind struct{}

func (namespaceKind) namespaced() bool       { return false }
func (namespaceKind) forceNew() []string     { return []string{"name"} }
func (namespaceKind) validate(p props) error { return nil }

func (namespaceKind) apply(ctx context.Context, cs kubernetes.Interface, p props, labels map[string]string) error {
	_, err := cs.CoreV1().Namespaces().Apply(ctx, corev1ac.Namespace(p.Name).WithLabels(labels), applyOptions)
	return err
}

func (namespaceKind) get(ctx context.Context, cs kubernetes.Interface, _, name string) (metav1.Object, error) {
	return cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
}

func (namespaceKind) observe(metav1.Object, map[string]any) map[string]any { return map[string]any{} }
func (namespaceKind) outputs(metav1.Object) map[string]string              { return nil }

func (namespaceKind) delete(ctx context.Context, cs kubernetes.Interface, _, name string) error {
	return cs.CoreV1().Namespaces().Delete(ctx, name, deleteOptions())
}

// gone waits until the namespace and its content are deleted.
func (namespaceKind) gone(ctx context.Context, c *Cloud, cs kubernetes.Interface, _, name string) error {
	var phase corev1.NamespacePhase
	err := c.wait(ctx, c.NamespaceTimeout, func(ctx context.Context) (bool, error) {
		ns, err := cs.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if err = classify(err); errors.Is(err, engine.ErrNotFound) {
			return true, nil
		} else if err != nil {
			return false, err
		}
		phase = ns.Status.Phase
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("namespace %s still exists (%s) after %s: %w", name, phase, c.NamespaceTimeout, err)
	}
	return nil
}

// ---- configmap

type configMapKind struct{}

func (configMapKind) namespaced() bool       { return true }
func (configMapKind) forceNew() []string     { return []string{"namespace", "name"} }
func (configMapKind) validate(p props) error { return nil }

func (configMapKind) apply(ctx context.Context, cs kubernetes.Interface, p props, labels map[string]string) error {
	cm := corev1ac.ConfigMap(p.Name, p.Namespace).WithLabels(labels)
	if len(p.Data) > 0 {
		cm.WithData(p.Data)
	}
	_, err := cs.CoreV1().ConfigMaps(p.Namespace).Apply(ctx, cm, applyOptions)
	return err
}

func (configMapKind) get(ctx context.Context, cs kubernetes.Interface, ns, name string) (metav1.Object, error) {
	return cs.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
}

func (configMapKind) observe(obj metav1.Object, inputs map[string]any) map[string]any {
	cm := obj.(*corev1.ConfigMap)
	out := map[string]any{}
	report(out, inputs, "data", nonNil(cm.Data), len(cm.Data) == 0)
	return out
}

func (configMapKind) outputs(metav1.Object) map[string]string { return nil }

func (configMapKind) delete(ctx context.Context, cs kubernetes.Interface, ns, name string) error {
	return cs.CoreV1().ConfigMaps(ns).Delete(ctx, name, deleteOptions())
}

// ---- deployment

type deploymentKind struct{}

// container is the name of the one container of a Deployment's pods.
const container = "app"

const defaultMountPath = "/data"

func (deploymentKind) namespaced() bool   { return true }
func (deploymentKind) forceNew() []string { return []string{"namespace", "name"} }

func (deploymentKind) validate(p props) error {
	if p.Image == "" {
		return fmt.Errorf("%s: property image is required", describe(p))
	}
	if p.Replicas != nil && *p.Replicas < 0 {
		return fmt.Errorf("%s: replicas must not be negative, got %d", describe(p), *p.Replicas)
	}
	return validPorts(p)
}

func validPorts(p props) error {
	seen := map[int]bool{}
	for _, port := range p.Ports {
		if port < 1 || port > 65535 || seen[port] {
			return fmt.Errorf("%s: port %d is out of range 1-65535 or repeated", describe(p), port)
		}
		seen[port] = true
	}
	return nil
}

func replicas(p props) int32 {
	if p.Replicas == nil {
		return 1
	}
	return int32(*p.Replicas)
}

// EnvSecret names the Secret that holds a Deployment's env: the values
// may be secrets, and a Secret, unlike a Deployment's spec, is read only by
// those allowed to read secrets and may be encrypted at rest. The
// container takes it whole (envFrom). It lives and dies with its
// Deployment.
func EnvSecret(deployment string) string { return deployment + "-env" }

// EnvVersionAnnotation, on a Deployment's pod template, is the
// resourceVersion of its env Secret: a new value changes it, so the pods
// roll and read the new values (envFrom is read when a pod starts).
const EnvVersionAnnotation = "meridian/env-version"

func (deploymentKind) apply(ctx context.Context, cs kubernetes.Interface, p props, labels map[string]string) error {
	selector := map[string]string{SelectorLabel: p.Name}
	podLabels := map[string]string{}
	for k, v := range labels {
		podLabels[k] = v
	}
	for k, v := range selector {
		podLabels[k] = v
	}
	// Apply configurations copy what they are given: build inside out.
	c := corev1ac.Container().WithName(container).WithImage(p.Image)
	for _, port := range p.Ports {
		c.WithPorts(corev1ac.ContainerPort().WithContainerPort(int32(port)).WithProtocol(corev1.ProtocolTCP))
	}
	template := corev1ac.PodTemplateSpec().WithLabels(podLabels)
	if len(p.Env) > 0 {
		data := map[string][]byte{}
		for k, v := range p.Env {
			data[k] = []byte(v)
		}
		secret := corev1ac.Secret(EnvSecret(p.Name), p.Namespace).WithLabels(labels).WithType(corev1.SecretTypeOpaque).WithData(data)
		s, err := cs.CoreV1().Secrets(p.Namespace).Apply(ctx, secret, applyOptions)
		if err != nil {
			return fmt.Errorf("env secret %s: %w", EnvSecret(p.Name), err)
		}
		c.WithEnvFrom(corev1ac.EnvFromSource().WithSecretRef(corev1ac.SecretEnvSource().WithName(s.Name)))
		template.WithAnnotations(map[string]string{EnvVersionAnnotation: s.ResourceVersion})
	}
	if p.ConfigMap != "" {
		c.WithEnvFrom(corev1ac.EnvFromSource().WithConfigMapRef(corev1ac.ConfigMapEnvSource().WithName(p.ConfigMap)))
	}
	spec := corev1ac.PodSpec()
	if p.VolumeClaim != "" {
		mount := p.MountPath
		if mount == "" {
			mount = defaultMountPath
		}
		c.WithVolumeMounts(corev1ac.VolumeMount().WithName("data").WithMountPath(mount))
		spec.WithVolumes(corev1ac.Volume().WithName("data").
			WithPersistentVolumeClaim(corev1ac.PersistentVolumeClaimVolumeSource().WithClaimName(p.VolumeClaim)))
	}
	spec.WithContainers(c)
	d := appsv1ac.Deployment(p.Name, p.Namespace).WithLabels(labels).WithSpec(appsv1ac.DeploymentSpec().
		WithReplicas(replicas(p)).
		WithSelector(metav1ac.LabelSelector().WithMatchLabels(selector)).
		WithTemplate(template.WithSpec(spec)))
	if _, err := cs.AppsV1().Deployments(p.Namespace).Apply(ctx, d, applyOptions); err != nil {
		return err
	}
	if len(p.Env) == 0 {
		// No pod reads it any more.
		return deleteEnvSecret(ctx, cs, p.Namespace, p.Name)
	}
	return nil
}

func deleteEnvSecret(ctx context.Context, cs kubernetes.Interface, ns, deployment string) error {
	err := cs.CoreV1().Secrets(ns).Delete(ctx, EnvSecret(deployment), deleteOptions())
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("env secret %s: %w", EnvSecret(deployment), err)
	}
	return nil
}

// observeCompanion adds to env what the Deployment's env Secret holds.
func (deploymentKind) observeCompanion(ctx context.Context, cs kubernetes.Interface, obj metav1.Object, inputs, out map[string]any) error {
	d := obj.(*appsv1.Deployment)
	uses := false
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, e := range c.EnvFrom {
			uses = uses || (e.SecretRef != nil && e.SecretRef.Name == EnvSecret(d.Name))
		}
	}
	env, _ := out["env"].(map[string]string)
	if env == nil {
		env = map[string]string{}
	}
	if uses {
		s, err := cs.CoreV1().Secrets(d.Namespace).Get(ctx, EnvSecret(d.Name), metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			// Deleted by hand: env shows as drift, and apply puts it back.
		case err != nil:
			return fmt.Errorf("read env secret %s: %w", EnvSecret(d.Name), classify(err))
		default:
			for k, v := range s.Data {
				env[k] = string(v)
			}
		}
	}
	report(out, inputs, "env", env, len(env) == 0)
	return nil
}

func (deploymentKind) get(ctx context.Context, cs kubernetes.Interface, ns, name string) (metav1.Object, error) {
	return cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
}

func (deploymentKind) observe(obj metav1.Object, inputs map[string]any) map[string]any {
	d := obj.(*appsv1.Deployment)
	out := map[string]any{}
	reps := 1
	if d.Spec.Replicas != nil {
		reps = int(*d.Spec.Replicas)
	}
	report(out, inputs, "replicas", reps, reps == 1)
	cs := d.Spec.Template.Spec.Containers
	var c corev1.Container
	for _, x := range cs {
		if x.Name == container {
			c = x
		}
	}
	if c.Name == "" && len(cs) > 0 {
		c = cs[0]
	}
	out["image"] = c.Image
	var ports []int
	for _, p := range c.Ports {
		ports = append(ports, int(p.ContainerPort))
	}
	report(out, inputs, "ports", nonNilSlice(ports), len(ports) == 0)
	env := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env[e.Name] = e.Value
		}
	}
	report(out, inputs, "env", env, len(env) == 0)
	configMap := ""
	for _, e := range c.EnvFrom {
		if e.ConfigMapRef != nil {
			configMap = e.ConfigMapRef.Name
		}
	}
	report(out, inputs, "config_map", configMap, configMap == "")
	claim := ""
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Name == "data" && v.PersistentVolumeClaim != nil {
			claim = v.PersistentVolumeClaim.ClaimName
		}
	}
	report(out, inputs, "volume_claim", claim, claim == "")
	mount := ""
	for _, m := range c.VolumeMounts {
		if m.Name == "data" {
			mount = m.MountPath
		}
	}
	// The default mount path is what an unset mount_path means.
	if _, asked := inputs["mount_path"]; asked || (mount != "" && mount != defaultMountPath) {
		out["mount_path"] = mount
	}
	return out
}

func (deploymentKind) outputs(obj metav1.Object) map[string]string {
	d := obj.(*appsv1.Deployment)
	return map[string]string{"available_replicas": fmt.Sprint(d.Status.AvailableReplicas)}
}

func (deploymentKind) delete(ctx context.Context, cs kubernetes.Interface, ns, name string) error {
	err := cs.AppsV1().Deployments(ns).Delete(ctx, name, deleteOptions())
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	if serr := deleteEnvSecret(ctx, cs, ns, name); serr != nil {
		return serr
	}
	return err
}

// ready waits until the Deployment is Available with every replica of the
// current template updated and ready. A deadline passed reports what is not
// ready; a rollout past its progress deadline fails at once.
func (deploymentKind) ready(ctx context.Context, c *Cloud, cs kubernetes.Interface, p props) error {
	var d *appsv1.Deployment
	err := c.wait(ctx, c.DeploymentTimeout, func(ctx context.Context) (bool, error) {
		var err error
		d, err = cs.AppsV1().Deployments(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
		if err != nil {
			return false, classify(err)
		}
		if cond := condition(d, appsv1.DeploymentProgressing); cond != nil && cond.Reason == "ProgressDeadlineExceeded" {
			return false, errors.New("progress deadline exceeded")
		}
		return deploymentReady(d), nil
	})
	if err == nil {
		return nil
	}
	if d == nil {
		return fmt.Errorf("deployment %s: %w", describe(p), err)
	}
	// A fresh context: the one that timed out cannot list the pods.
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return fmt.Errorf("deployment %s is not Available after %s (%v): %s", describe(p), c.DeploymentTimeout, err,
		notReady(lctx, cs, d))
}

func deploymentReady(d *appsv1.Deployment) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	if s.ObservedGeneration < d.Generation || s.UpdatedReplicas < want || s.ReadyReplicas < want ||
		s.AvailableReplicas < want || s.Replicas > want {
		return false
	}
	if want == 0 {
		return true
	}
	cond := condition(d, appsv1.DeploymentAvailable)
	return cond != nil && cond.Status == corev1.ConditionTrue
}

func condition(d *appsv1.Deployment, t appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range d.Status.Conditions {
		if d.Status.Conditions[i].Type == t {
			return &d.Status.Conditions[i]
		}
	}
	return nil
}

// notReady names what keeps a Deployment from being Available: replica
// counts, its conditions and the pods that are not ready.
func notReady(ctx context.Context, cs kubernetes.Interface, d *appsv1.Deployment) string {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	var b strings.Builder
	fmt.Fprintf(&b, "%d/%d replicas ready (%d updated, %d available, %d in all)", s.ReadyReplicas, want,
		s.UpdatedReplicas, s.AvailableReplicas, s.Replicas)
	if s.ObservedGeneration < d.Generation {
		fmt.Fprintf(&b, "; the controller has not seen generation %d yet", d.Generation)
	}
	var conds []string
	for _, c := range s.Conditions {
		conds = append(conds, fmt.Sprintf("%s=%s (%s: %s)", c.Type, c.Status, c.Reason, c.Message))
	}
	if len(conds) > 0 {
		fmt.Fprintf(&b, "; conditions: %s", strings.Join(conds, ", "))
	}
	pods, err := cs.CoreV1().Pods(d.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: metav1.FormatLabelSelector(d.Spec.Selector)})
	if err != nil {
		fmt.Fprintf(&b, "; pods: %v", err)
		return b.String()
	}
	var waiting []string
	for _, pod := range pods.Items {
		if reason := podNotReady(pod); reason != "" {
			waiting = append(waiting, pod.Name+" "+reason)
		}
	}
	sort.Strings(waiting)
	switch {
	case len(pods.Items) == 0:
		b.WriteString("; no pods")
	case len(waiting) > 5:
		fmt.Fprintf(&b, "; pods not ready: %s and %d more", strings.Join(waiting[:5], "; "), len(waiting)-5)
	case len(waiting) > 0:
		fmt.Fprintf(&b, "; pods not ready: %s", strings.Join(waiting, "; "))
	}
	return b.String()
}

// podNotReady says why a pod is not ready, or "" when it is.
func podNotReady(pod corev1.Pod) string {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return ""
		}
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status != corev1.ConditionTrue {
			return fmt.Sprintf("%s (%s: %s)", pod.Status.Phase, c.Reason, c.Message)
		}
	}
	for _, c := range pod.Status.ContainerStatuses {
		if w := c.State.Waiting; w != nil {
			return fmt.Sprintf("%s (%s: %s)", pod.Status.Phase, w.Reason, w.Message)
		}
	}
	return string(pod.Status.Phase)
}

// ---- service

type serviceKind struct{}

func (serviceKind) namespaced() bool   { return true }
func (serviceKind) forceNew() []string { return []string{"namespace", "name"} }

func (serviceKind) validate(p props) error {
	if len(p.Ports) == 0 {
		return fmt.Errorf("%s: a service needs at least one port", describe(p))
	}
	switch corev1.ServiceType(p.Type) {
	case "", corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
	default:
		return fmt.Errorf("%s: type %q is not ClusterIP, NodePort or LoadBalancer", describe(p), p.Type)
	}
	return validPorts(p)
}

func serviceSelector(p props) map[string]string {
	if len(p.Selector) > 0 {
		return p.Selector
	}
	return map[string]string{SelectorLabel: p.Name}
}

func (serviceKind) apply(ctx context.Context, cs kubernetes.Interface, p props, labels map[string]string) error {
	typ := corev1.ServiceType(p.Type)
	if typ == "" {
		typ = corev1.ServiceTypeClusterIP
	}
	spec := corev1ac.ServiceSpec().WithType(typ).WithSelector(serviceSelector(p))
	for _, port := range p.Ports {
		spec.WithPorts(corev1ac.ServicePort().WithName(fmt.Sprintf("tcp-%d", port)).WithProtocol(corev1.ProtocolTCP).
			WithPort(int32(port)).WithTargetPort(intstr.FromInt32(int32(port))))
	}
	_, err := cs.CoreV1().Services(p.Namespace).Apply(ctx,
		corev1ac.Service(p.Name, p.Namespace).WithLabels(labels).WithSpec(spec), applyOptions)
	return err
}

func (serviceKind) get(ctx context.Context, cs kubernetes.Interface, ns, name string) (metav1.Object, error) {
	return cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
}

func (serviceKind) observe(obj metav1.Object, inputs map[string]any) map[string]any {
	s := obj.(*corev1.Service)
	out := map[string]any{}
	var ports []int
	for _, p := range s.Spec.Ports {
		ports = append(ports, int(p.Port))
	}
	out["ports"] = nonNilSlice(ports)
	isDefault := len(s.Spec.Selector) == 1 && s.Spec.Selector[SelectorLabel] == s.Name
	report(out, inputs, "selector", nonNil(s.Spec.Selector), isDefault)
	report(out, inputs, "type", string(s.Spec.Type), s.Spec.Type == corev1.ServiceTypeClusterIP)
	return out
}

func (serviceKind) outputs(obj metav1.Object) map[string]string {
	s := obj.(*corev1.Service)
	return map[string]string{
		"cluster_ip": s.Spec.ClusterIP,
		"dns":        fmt.Sprintf("%s.%s.svc.cluster.local", s.Name, s.Namespace),
	}
}

func (serviceKind) delete(ctx context.Context, cs kubernetes.Interface, ns, name string) error {
	return cs.CoreV1().Services(ns).Delete(ctx, name, deleteOptions())
}

// ---- persistent volume claim

type claimKind struct{}

func (claimKind) namespaced() bool { return true }

// Storage can grow in place where the class allows it; the class and
// access mode of a claim cannot change.
func (claimKind) forceNew() []string {
	return []string{"namespace", "name", "storage_class", "access_mode"}
}

func (claimKind) validate(p props) error {
	if p.Storage == "" {
		return fmt.Errorf("%s: property storage is required (e.g. \"1Gi\")", describe(p))
	}
	if _, err := resource.ParseQuantity(p.Storage); err != nil {
		return fmt.Errorf("%s: storage %q is not a quantity: %w", describe(p), p.Storage, err)
	}
	switch corev1.PersistentVolumeAccessMode(p.AccessMode) {
	case "", corev1.ReadWriteOnce, corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOncePod:
	default:
		return fmt.Errorf("%s: access_mode %q is not a Kubernetes access mode", describe(p), p.AccessMode)
	}
	return nil
}

func accessMode(p props) corev1.PersistentVolumeAccessMode {
	if p.AccessMode == "" {
		return corev1.ReadWriteOnce
	}
	return corev1.PersistentVolumeAccessMode(p.AccessMode)
}

func (claimKind) apply(ctx context.Context, cs kubernetes.Interface, p props, labels map[string]string) error {
	spec := corev1ac.PersistentVolumeClaimSpec().
		WithAccessModes(accessMode(p)).
		WithResources(corev1ac.VolumeResourceRequirements().
			WithRequests(corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(p.Storage)}))
	if p.StorageClass != "" {
		spec.WithStorageClassName(p.StorageClass)
	}
	_, err := cs.CoreV1().PersistentVolumeClaims(p.Namespace).Apply(ctx,
		corev1ac.PersistentVolumeClaim(p.Name, p.Namespace).WithLabels(labels).WithSpec(spec), applyOptions)
	return err
}

func (claimKind) get(ctx context.Context, cs kubernetes.Interface, ns, name string) (metav1.Object, error) {
	return cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
}

func (claimKind) observe(obj metav1.Object, inputs map[string]any) map[string]any {
	pvc := obj.(*corev1.PersistentVolumeClaim)
	out := map[string]any{}
	have := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	storage := have.String()
	// "1024Mi" asked and "1Gi" observed are the same size: report the
	// words that were asked, not a perpetual diff.
	if asked, ok := inputs["storage"].(string); ok {
		if q, err := resource.ParseQuantity(asked); err == nil && q.Cmp(have) == 0 {
			storage = asked
		}
	}
	out["storage"] = storage
	// An unset class is filled in by the cluster's default: only a class
	// that was asked for is compared.
	if asked, _ := inputs["storage_class"].(string); asked != "" && pvc.Spec.StorageClassName != nil {
		out["storage_class"] = *pvc.Spec.StorageClassName
	}
	mode := ""
	if len(pvc.Spec.AccessModes) > 0 {
		mode = string(pvc.Spec.AccessModes[0])
	}
	report(out, inputs, "access_mode", mode, mode == string(corev1.ReadWriteOnce))
	return out
}

func (claimKind) outputs(obj metav1.Object) map[string]string {
	pvc := obj.(*corev1.PersistentVolumeClaim)
	return map[string]string{"volume": pvc.Spec.VolumeName, "phase": string(pvc.Status.Phase)}
}

func (claimKind) delete(ctx context.Context, cs kubernetes.Interface, ns, name string) error {
	return cs.CoreV1().PersistentVolumeClaims(ns).Delete(ctx, name, deleteOptions())
}

func nonNil(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func nonNilSlice(s []int) []int {
	if s == nil {
		return []int{}
	}
	return s
}
