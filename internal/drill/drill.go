// Package drill proves a DR policy: it snapshots the primary region's
// workload, destroys the primary cluster for real, recreates it, restores
// the snapshot in runbook order, fails DNS over and back, and measures the
// RTO (outage start to service ready) and the RPO (age at the outage of the
// newest write that came back), step by step.
//
// A drill destroys things, so it refuses to run against a cluster that is
// not marked as a drill target (the label DrillTargetLabel=true on its
// kube-system namespace), and it cleans up after itself when a step fails:
// the cluster is recreated, DNS is failed back, the canary is removed.
package drill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	awscloud "github.com/meridianhq/terraform-provider-meridian/internal/cloud/aws"
	"github.com/meridianhq/terraform-provider-meridian/internal/cloud/k8s"
	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
)

// DrillTargetLabel marks a cluster (on its kube-system namespace) as one a
// drill may destroy.
const DrillTargetLabel = "meridian.io/drill-target"

// Canary is the config map a drill writes just before its snapshot; its
// time, read back after the restore, gives the measured RPO.
const Canary = "meridian-drill-canary"

// Lifecycle destroys and recreates the cluster of a region. Executable is
// the one the provider and the CLI use: a folder's lifecycle program.
type Lifecycle interface {
	Destroy(ctx context.Context, region string) error
	Recreate(ctx context.Context, region string) error
}

// Drill is one drill of one region pair.
type Drill struct {
	ID   string
	Pair blueprint.RegionPair
	// Runbook orders the restore; only the primary region's Kubernetes
	// primitives are restored from the snapshot.
	Runbook      compile.Runbook
	RPO, RTO     time.Duration
	MaxDeviation int
	Clusters     *k8s.Cloud
	Cloud        *awscloud.Cloud
	Lifecycle    Lifecycle
	// HealthCheckID is the primary's health check, inverted during the
	// outage so Route 53 fails over; empty when the pair has no DNS.
	HealthCheckID string
	// ReadyTimeout bounds the wait for the restored deployments.
	ReadyTimeout time.Duration
	Log          func(format string, args ...any)
}

// Step is the record of one step of a drill.
type Step struct {
	Name     string `json:"name"`
	Group    int    `json:"group,omitempty"`
	Started  string `json:"started"`
	Duration string `json:"duration"`
	Error    string `json:"error,omitempty"`
}

// Report is what a drill measured, kept in state and as JSON.
type Report struct {
	ID          string `json:"id"`
	Pair        string `json:"pair"`
	Region      string `json:"region"`
	Started     string `json:"started"`
	OutageStart string `json:"outage_start"`
	Ready       string `json:"ready"`
	MeasuredRTO string `json:"measured_rto"`
	MeasuredRPO string `json:"measured_rpo"`
	TargetRTO   string `json:"target_rto"`
	TargetRPO   string `json:"target_rpo"`
	// Restored counts the objects restored from the snapshot; Identical
	// says whether each reads back as it was snapshotted.
	Restored  int      `json:"restored"`
	Identical bool     `json:"identical"`
	Mismatch  []string `json:"mismatch,omitempty"`
	Passed    bool     `json:"passed"`
	Steps     []Step   `json:"steps"`
	// NotExercised says honestly what this testbed could not drill.
	NotExercised []string `json:"not_exercised,omitempty"`
	Error        string   `json:"error,omitempty"`
}

// snapshot is the primary region's workload as it was before the outage.
type snapshot struct {
	Taken      string                         `json:"taken"`
	Namespace  corev1.Namespace               `json:"namespace"`
	ConfigMaps []corev1.ConfigMap             `json:"config_maps"`
	Claims     []corev1.PersistentVolumeClaim `json:"claims"`
	Apps       []appsv1.Deployment            `json:"deployments"`
	Services   []corev1.Service               `json:"services"`
	// Secrets (a workload's env) are restored from memory and never
	// stored with the rest in the bucket: their values may be secrets.
	Secrets []corev1.Secret `json:"-"`
}

func (d *Drill) log(format string, args ...any) {
	if d.Log != nil {
		d.Log(format, args...)
	}
}

// Run runs the drill. The report is returned even when the drill fails.
func (d *Drill) Run(ctx context.Context) (rep Report, err error) {
	region, ns := d.Pair.PrimaryRegion, d.Pair.Name
	rep = Report{ID: d.ID, Pair: d.Pair.Name, Region: region, Started: stamp(time.Now()), TargetRTO: d.RTO.String(), TargetRPO: d.RPO.String()}
	client, err := d.Clusters.Client(region)
	if err != nil {
		return rep, err
	}
	if err := d.checkTarget(ctx, client, region); err != nil {
		rep.Error = err.Error()
		return rep, err
	}
	step := func(name string, group int, f func() error) error {
		start := time.Now()
		d.log("drill %s: %s", d.ID, name)
		err := f()
		s := Step{Name: name, Group: group, Started: stamp(start), Duration: time.Since(start).Round(time.Millisecond).String()}
		if err != nil {
			s.Error = err.Error()
		}
		rep.Steps = append(rep.Steps, s)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
	var (
		snap      snapshot
		written   time.Time
		destroyed bool
		flipped   bool
	)
	// Whatever happens, leave the pair as it was: a cluster, DNS on the
	// primary, no canary.
	defer func() {
		cleanup := context.WithoutCancel(ctx)
		if destroyed {
			if rerr := d.recreate(cleanup, region); rerr != nil {
				err = errors.Join(err, fmt.Errorf("cleanup: recreate %s: %w", region, rerr))
			}
		}
		if flipped {
			if ferr := d.flip(cleanup, false); ferr != nil {
				err = errors.Join(err, fmt.Errorf("cleanup: fail DNS back: %w", ferr))
			}
		}
		if c, cerr := d.Clusters.Client(region); cerr == nil {
			_ = c.CoreV1().ConfigMaps(ns).Delete(cleanup, Canary, metav1.DeleteOptions{})
		}
		if err != nil {
			rep.Error = err.Error()
		}
	}()

	if err := step("write canary", 0, func() error {
		written = time.Now().UTC()
		_, err := client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: Canary, Namespace: ns},
			Data:       map[string]string{"written_at": written.Format(time.RFC3339Nano), "drill": d.ID},
		}, metav1.CreateOptions{})
		return err
	}); err != nil {
		return rep, err
	}
	if err := step("snapshot", 0, func() (err error) {
		snap, err = take(ctx, client, ns)
		if err != nil {
			return err
		}
		return d.store("snapshot.json", snap, &rep)
	}); err != nil {
		return rep, err
	}
	if d.HealthCheckID != "" {
		if err := step("fail DNS over to the secondary", 0, func() error { flipped = true; return d.flip(ctx, true) }); err != nil {
			return rep, err
		}
	} else {
		rep.NotExercised = append(rep.NotExercised, "DNS failover: the pair has no dns block")
	}
	outage := time.Now()
	rep.OutageStart = stamp(outage)
	if err := step("destroy cluster "+region, 0, func() error { destroyed = true; return d.Lifecycle.Destroy(ctx, region) }); err != nil {
		return rep, err
	}
	if err := step("recreate cluster "+region, 0, func() error {
		if err := d.recreate(ctx, region); err != nil {
			return err
		}
		destroyed = false
		return nil
	}); err != nil {
		return rep, err
	}
	for _, s := range d.Runbook.Steps {
		if s.Region != region || !strings.HasPrefix(s.Type, "k8s_") {
			continue
		}
		if err := step("restore "+s.Primitive, s.Group, func() error {
			n, err := restore(ctx, client, snap, s.Type)
			rep.Restored += n
			return err
		}); err != nil {
			return rep, err
		}
	}
	if err := step("wait until the service is ready", 0, func() error { return d.waitReady(ctx, client, snap) }); err != nil {
		return rep, err
	}
	if flipped {
		if err := step("fail DNS back to the primary", 0, func() error { flipped = false; return d.flip(ctx, false) }); err != nil {
			return rep, err
		}
	}
	ready := time.Now()
	rep.Ready = stamp(ready)
	rto := ready.Sub(outage)
	rep.MeasuredRTO = rto.Round(time.Millisecond).String()
	if err := step("verify restored objects", 0, func() error {
		rep.Mismatch = compare(ctx, client, snap)
		rep.Identical = len(rep.Mismatch) == 0
		canary, err := client.CoreV1().ConfigMaps(ns).Get(ctx, Canary, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("the canary written before the snapshot did not come back: %w", err)
		}
		newest, err := time.Parse(time.RFC3339Nano, canary.Data["written_at"])
		if err != nil {
			return err
		}
		rep.MeasuredRPO = outage.Sub(newest).Round(time.Millisecond).String()
		return nil
	}); err != nil {
		return rep, err
	}
	rpo, _ := time.ParseDuration(rep.MeasuredRPO)
	slack := 1 + float64(d.MaxDeviation)/100
	rep.Passed = rep.Identical && float64(rto) <= float64(d.RTO)*slack && float64(rpo) <= float64(d.RPO)*slack
	rep.NotExercised = append(rep.NotExercised,
		"volume contents: the local clusters' volumes (kwok) hold no data, so claims were snapshotted and restored, their bytes were not",
		"AWS data stores: moto implements no AWS Backup jobs or restores; the buckets and table stayed up and were not restored")
	if err := d.store("report.json", rep, &rep); err != nil {
		return rep, err
	}
	return rep, nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// recreate brings the region's cluster back, still marked as a drill
// target: it was one, and only the drill took the mark away.
func (d *Drill) recreate(ctx context.Context, region string) error {
	if err := d.Lifecycle.Recreate(ctx, region); err != nil {
		return err
	}
	client, err := d.Clusters.Client(region)
	if err != nil {
		return err
	}
	sys, err := client.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("mark the new cluster as a drill target: %w", err)
	}
	if sys.Labels == nil {
		sys.Labels = map[string]string{}
	}
	sys.Labels[DrillTargetLabel] = "true"
	if _, err := client.CoreV1().Namespaces().Update(ctx, sys, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("mark the new cluster as a drill target: %w", err)
	}
	return nil
}

func (d *Drill) checkTarget(ctx context.Context, client kubernetes.Interface, region string) error {
	sys, err := client.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("drill refused: cannot read the kube-system namespace of the %s cluster: %w", region, err)
	}
	if sys.Labels[DrillTargetLabel] != "true" {
		return fmt.Errorf("drill refused: the %s cluster is not marked as a drill target; a drill destroys the cluster, so label its kube-system namespace %s=true first", region, DrillTargetLabel)
	}
	return nil
}

// store keeps a drill document in the secondary bucket, which survives the
// loss of the primary region.
func (d *Drill) store(name string, doc any, rep *Report) error {
	os := d.Pair.ObjectStore
	if os == nil {
		note := "snapshot and report storage: the pair has no object_store, so they were kept in memory only"
		if !slices.Contains(rep.NotExercised, note) {
			rep.NotExercised = append(rep.NotExercised, note)
		}
		return nil
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	bucket := os.BucketPrefix + "-" + d.Pair.SecondaryRegion
	for _, key := range []string{"meridian/drills/" + d.ID + "/" + name, "meridian/drills/latest/" + name} {
		if _, err := d.Cloud.S3(d.Pair.SecondaryRegion).PutObject(context.Background(), &s3.PutObjectInput{
			Bucket: awssdk.String(bucket), Key: awssdk.String(key), Body: strings.NewReader(string(b)),
		}); err != nil {
			return fmt.Errorf("store %s in s3://%s: %w", key, bucket, err)
		}
	}
	return nil
}

// LatestReport reads the newest drill report of a pair from its secondary
// bucket; found is false when the pair was never drilled.
func LatestReport(ctx context.Context, cloud *awscloud.Cloud, pair blueprint.RegionPair) (rep Report, found bool, err error) {
	if pair.ObjectStore == nil {
		return rep, false, nil
	}
	out, err := cloud.S3(pair.SecondaryRegion).GetObject(ctx, &s3.GetObjectInput{
		Bucket: awssdk.String(pair.ObjectStore.BucketPrefix + "-" + pair.SecondaryRegion), Key: awssdk.String("meridian/drills/latest/report.json"),
	})
	if err != nil {
		var missing interface{ ErrorCode() string }
		if errors.As(err, &missing) && (missing.ErrorCode() == "NoSuchKey" || missing.ErrorCode() == "NoSuchBucket") {
			return rep, false, nil
		}
		return rep, false, err
	}
	defer out.Body.Close()
	err = json.NewDecoder(out.Body).Decode(&rep)
	return rep, err == nil, err
}

// flip inverts the primary's health check, so Route 53 sees it failing and
// answers with the secondary; false puts it back.
func (d *Drill) flip(ctx context.Context, failover bool) error {
	_, err := d.Cloud.Route53().UpdateHealthCheck(ctx, &route53.UpdateHealthCheckInput{
		HealthCheckId: awssdk.String(d.HealthCheckID), Inverted: awssdk.Bool(failover),
	})
	return err
}

// clean strips what the cluster set on an object, so it can be created anew.
func clean(m *metav1.ObjectMeta) {
	*m = metav1.ObjectMeta{Name: m.Name, Namespace: m.Namespace, Labels: m.Labels, Annotations: m.Annotations}
	delete(m.Annotations, "kubectl.kubernetes.io/last-applied-configuration")
	for k := range m.Annotations {
		if strings.HasPrefix(k, "pv.kubernetes.io/") || strings.HasPrefix(k, "volume.") || strings.HasPrefix(k, "deployment.kubernetes.io/") {
			delete(m.Annotations, k)
		}
	}
}

func take(ctx context.Context, c kubernetes.Interface, ns string) (snapshot, error) {
	s := snapshot{Taken: stamp(time.Now())}
	namespace, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		return s, err
	}
	s.Namespace = *namespace
	clean(&s.Namespace.ObjectMeta)
	s.Namespace.Spec, s.Namespace.Status = corev1.NamespaceSpec{}, corev1.NamespaceStatus{}
	cms, err := c.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return s, err
	}
	for _, cm := range cms.Items {
		if cm.Name == "kube-root-ca.crt" {
			continue // the cluster makes its own
		}
		clean(&cm.ObjectMeta)
		s.ConfigMaps = append(s.ConfigMaps, cm)
	}
	pvcs, err := c.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return s, err
	}
	for _, p := range pvcs.Items {
		clean(&p.ObjectMeta)
		p.Spec.VolumeName, p.Status = "", corev1.PersistentVolumeClaimStatus{}
		s.Claims = append(s.Claims, p)
	}
	secrets, err := c.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return s, err
	}
	for _, sec := range secrets.Items {
		if sec.Type == corev1.SecretTypeServiceAccountToken {
			continue // the cluster makes its own
		}
		clean(&sec.ObjectMeta)
		s.Secrets = append(s.Secrets, sec)
	}
	deps, err := c.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return s, err
	}
	for _, dep := range deps.Items {
		clean(&dep.ObjectMeta)
		dep.Status = appsv1.DeploymentStatus{}
		s.Apps = append(s.Apps, dep)
	}
	svcs, err := c.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return s, err
	}
	for _, svc := range svcs.Items {
		clean(&svc.ObjectMeta)
		// The new cluster allocates its own addresses.
		svc.Spec.ClusterIP, svc.Spec.ClusterIPs, svc.Status = "", nil, corev1.ServiceStatus{}
		s.Services = append(s.Services, svc)
	}
	return s, nil
}

// restore creates the snapshot's objects of one primitive type.
func restore(ctx context.Context, c kubernetes.Interface, s snapshot, typ string) (int, error) {
	n := 0
	create := func(err error) error {
		if err == nil || apierrors.IsAlreadyExists(err) {
			n++
			return nil
		}
		return err
	}
	switch typ {
	case compile.K8sNamespace:
		ns := s.Namespace
		return n, create(func() error { _, err := c.CoreV1().Namespaces().Create(ctx, &ns, metav1.CreateOptions{}); return err }())
	case compile.K8sConfigMap:
		for _, cm := range s.ConfigMaps {
			if err := create(func() error {
				_, err := c.CoreV1().ConfigMaps(cm.Namespace).Create(ctx, &cm, metav1.CreateOptions{})
				return err
			}()); err != nil {
				return n, err
			}
		}
	case compile.K8sPersistentVolumeClaim:
		for _, p := range s.Claims {
			if err := create(func() error {
				_, err := c.CoreV1().PersistentVolumeClaims(p.Namespace).Create(ctx, &p, metav1.CreateOptions{})
				return err
			}()); err != nil {
				return n, err
			}
		}
	case compile.K8sDeployment:
		// A Deployment's env Secret is part of it: its pods need it to start.
		// It is not counted: it is no primitive of its own.
		for _, sec := range s.Secrets {
			if _, err := c.CoreV1().Secrets(sec.Namespace).Create(ctx, &sec, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				return n, err
			}
		}
		for _, dep := range s.Apps {
			if err := create(func() error {
				_, err := c.AppsV1().Deployments(dep.Namespace).Create(ctx, &dep, metav1.CreateOptions{})
				return err
			}()); err != nil {
				return n, err
			}
		}
	case compile.K8sService:
		for _, svc := range s.Services {
			if err := create(func() error {
				_, err := c.CoreV1().Services(svc.Namespace).Create(ctx, &svc, metav1.CreateOptions{})
				return err
			}()); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func (d *Drill) waitReady(ctx context.Context, c kubernetes.Interface, s snapshot) error {
	timeout := d.ReadyTimeout
	if timeout == 0 {
		timeout = 5 * time.Minute
	}
	deadline := time.Now().Add(timeout)
	for _, want := range s.Apps {
		for {
			dep, err := c.AppsV1().Deployments(want.Namespace).Get(ctx, want.Name, metav1.GetOptions{})
			if err == nil && dep.Status.AvailableReplicas >= *want.Spec.Replicas && dep.Status.ObservedGeneration >= dep.Generation {
				break
			}
			if time.Now().After(deadline) {
				status := "not found"
				if dep != nil {
					status = fmt.Sprintf("%d/%d available", dep.Status.AvailableReplicas, *want.Spec.Replicas)
				}
				return fmt.Errorf("deployment %s/%s not available after %s: %s", want.Namespace, want.Name, timeout, status)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
	return nil
}

// compare reads every restored object back and lists what differs from
// the snapshot in what the workload depends on.
func compare(ctx context.Context, c kubernetes.Interface, s snapshot) []string {
	var diffs []string
	for _, want := range s.ConfigMaps {
		got, err := c.CoreV1().ConfigMaps(want.Namespace).Get(ctx, want.Name, metav1.GetOptions{})
		if err != nil || !equalMaps(got.Data, want.Data) || !equalMaps(got.Labels, want.Labels) {
			diffs = append(diffs, "config map "+want.Name)
		}
	}
	for _, want := range s.Claims {
		got, err := c.CoreV1().PersistentVolumeClaims(want.Namespace).Get(ctx, want.Name, metav1.GetOptions{})
		if err != nil || !got.Spec.Resources.Requests.Storage().Equal(*want.Spec.Resources.Requests.Storage()) {
			diffs = append(diffs, "volume claim "+want.Name)
		}
	}
	for _, want := range s.Apps {
		got, err := c.AppsV1().Deployments(want.Namespace).Get(ctx, want.Name, metav1.GetOptions{})
		if err != nil || *got.Spec.Replicas != *want.Spec.Replicas || got.Spec.Template.Spec.Containers[0].Image != want.Spec.Template.Spec.Containers[0].Image || !equalMaps(got.Labels, want.Labels) {
			diffs = append(diffs, "deployment "+want.Name)
		}
	}
	for _, want := range s.Secrets {
		got, err := c.CoreV1().Secrets(want.Namespace).Get(ctx, want.Name, metav1.GetOptions{})
		if err != nil || !reflect.DeepEqual(got.Data, want.Data) {
			diffs = append(diffs, "secret "+want.Name)
		}
	}
	for _, want := range s.Services {
		got, err := c.CoreV1().Services(want.Namespace).Get(ctx, want.Name, metav1.GetOptions{})
		if err != nil || len(got.Spec.Ports) != len(want.Spec.Ports) {
			diffs = append(diffs, "service "+want.Name)
		}
	}
	sort.Strings(diffs)
	return diffs
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
