// Package drill proves a DR policy by losing the primary region for real
// and measuring the recovery against data:
//
//   - a writer puts timestamped records into the pair's table at a steady
//     rate for the whole drill, as users would;
//   - backups run on the policy's schedule (AWS Backup jobs, each copied to
//     the secondary vault), time-compressed by a declared factor so that a
//     1 h schedule can be drilled in seconds;
//   - the outage strikes at a chosen point of the backup cycle (worst: just
//     before the next recovery point would land; random; now: right after
//     the first one landed);
//   - the primary's table and workload (its namespace, or its whole
//     cluster) are destroyed, DNS fails over and what a client is answered
//     is observed; the table is restored from the newest recovery point in
//     the secondary region at the outage (never one the drill took for
//     itself at the outage), the workload from its snapshot in the
//     secondary bucket;
//   - RPO = outage minus the newest write present in the restored table;
//     RTO = outage until the table is readable, the workload Available and
//     DNS answering the primary again. Writes lost are counted.
//
// A drill destroys things, so it refuses to run against a cluster that is
// not marked as a drill target (the label DrillTargetLabel=true on its
// kube-system namespace), and it cleans up after itself when a step fails:
// the workload and table are restored, DNS is failed back.
package drill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
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
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// DrillTargetLabel marks a cluster (on its kube-system namespace) as one a
// drill may destroy.
const DrillTargetLabel = "meridian.io/drill-target"

// Scopes: what of the primary region's Kubernetes side a drill destroys.
const (
	// ScopeNamespace deletes and restores the workload's namespace: any
	// cluster a kubeconfig context reaches can be drilled.
	ScopeNamespace = "namespace"
	// ScopeCluster destroys and recreates the whole cluster through a
	// Lifecycle.
	ScopeCluster = "cluster"
)

// Outage points in the backup cycle.
const (
	OutageWorst  = "worst"  // just before the next recovery point would land
	OutageRandom = "random" // anywhere in the cycle
	OutageNow    = "now"    // right after the first recovery point landed
)

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
	// Lifecycle destroys and recreates the primary's cluster; only the
	// cluster scope needs it.
	Lifecycle Lifecycle
	Scope     string
	OutageAt  string
	// Schedule is the policy's backup interval; TimeCompression (>= 1)
	// runs it that many times faster (3600: an hour as a second). Only the
	// backup cycle is compressed: the restore runs in real time, and the
	// measured RPO is scaled back by the factor.
	Schedule        time.Duration
	TimeCompression float64
	// WriteRate is the writer's records per second (default 10).
	WriteRate float64
	// PrimaryVault and SecondaryVault are the policy's backup vaults.
	PrimaryVault, SecondaryVault string
	// HealthCheckID is the primary's health check, inverted during the
	// outage so Route 53 fails over; ZoneID holds the failover record.
	// Both empty when the pair has no DNS.
	HealthCheckID, ZoneID string
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

// RecoveryPoint is the backup a drill restored from.
type RecoveryPoint struct {
	ARN     string `json:"arn"`
	Vault   string `json:"vault"`
	Region  string `json:"region"`
	Created string `json:"created"`
	// Age is its age at the outage, as the schedule runs uncompressed.
	Age     string `json:"age"`
	created time.Time
}

// Writes is what the writer wrote and what came back.
type Writes struct {
	Rate     float64 `json:"rate_per_second"`
	Written  int     `json:"written"`
	Restored int     `json:"restored"`
	Lost     int     `json:"lost"`
	// LastKey is the last write before the outage; FirstLostKey and
	// LastLostKey bound the writes lost.
	LastKey      string `json:"last_key,omitempty"`
	FirstLostKey string `json:"first_lost_key,omitempty"`
	LastLostKey  string `json:"last_lost_key,omitempty"`
	Errors       int    `json:"errors,omitempty"`
	// MissingBeforePoint counts writes acknowledged before the recovery
	// point was made that did not come back: a backup that lost data.
	MissingBeforePoint int `json:"missing_before_point,omitempty"`
}

// Failover is what a client was answered for the pair's name.
type Failover struct {
	Observed bool     `json:"observed"`
	Outage   []string `json:"answer_during_outage,omitempty"`
	Restored []string `json:"answer_after_restore,omitempty"`
}

// Report is what a drill measured, kept in state and as JSON.
type Report struct {
	ID          string `json:"id"`
	Pair        string `json:"pair"`
	Region      string `json:"region"`
	Scope       string `json:"scope"`
	OutageAt    string `json:"outage_at"`
	Started     string `json:"started"`
	OutageStart string `json:"outage_start"`
	Ready       string `json:"ready"`
	MeasuredRTO string `json:"measured_rto"`
	// MeasuredRPO is the outage minus the newest write in the restored
	// data, scaled back by the time compression; MeasuredRPOWall is it as
	// the clock ran.
	MeasuredRPO     string `json:"measured_rpo"`
	MeasuredRPOWall string `json:"measured_rpo_wall,omitempty"`
	TargetRTO       string `json:"target_rto"`
	TargetRPO       string `json:"target_rpo"`
	// BackupSchedule is the policy's backup interval; TimeCompression how
	// much faster the drill ran it (1: real time).
	BackupSchedule  string         `json:"backup_schedule,omitempty"`
	TimeCompression float64        `json:"time_compression,omitempty"`
	RecoveryPoint   *RecoveryPoint `json:"recovery_point,omitempty"`
	Writes          *Writes        `json:"writes,omitempty"`
	Failover        *Failover      `json:"failover,omitempty"`
	// Restored counts the objects restored from the snapshot; Identical
	// says whether each reads back as it was snapshotted.
	Restored  int      `json:"restored"`
	Identical bool     `json:"identical"`
	Mismatch  []string `json:"mismatch,omitempty"`
	Passed    bool     `json:"passed"`
	Steps     []Step   `json:"steps"`
	// Slowest are the longest steps: the gaps to fix first.
	Slowest []Step `json:"slowest,omitempty"`
	// NotExercised says honestly what this drill could not drill; a drill
	// whose RPO or failover could not be observed does not pass.
	NotExercised []string `json:"not_exercised,omitempty"`
	// Failed says why a drill that ran to its end did not pass.
	Failed []string `json:"failed,omitempty"`
	Error  string   `json:"error,omitempty"`
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

// sleepUntil waits for t, or the context.
func sleepUntil(ctx context.Context, t time.Time) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(t)):
		return nil
	}
}

// Run runs the drill. The report is returned even when the drill fails.
func (d *Drill) Run(ctx context.Context) (rep Report, err error) {
	region, ns := d.Pair.PrimaryRegion, d.Pair.Name
	if d.Scope == "" {
		d.Scope = ScopeNamespace
	}
	if d.OutageAt == "" {
		d.OutageAt = OutageWorst
	}
	if d.TimeCompression < 1 {
		d.TimeCompression = 1
	}
	if d.WriteRate <= 0 {
		d.WriteRate = 10
	}
	rep = Report{ID: d.ID, Pair: d.Pair.Name, Region: region, Scope: d.Scope, OutageAt: d.OutageAt, Started: stamp(time.Now()),
		TargetRTO: d.RTO.String(), TargetRPO: d.RPO.String(), BackupSchedule: d.Schedule.String(), TimeCompression: d.TimeCompression}
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
	notExercised := func(what string) {
		if !slices.Contains(rep.NotExercised, what) {
			rep.NotExercised = append(rep.NotExercised, what)
		}
	}
	var (
		snap         snapshot
		tableARN     string
		tableStream  *ddbtypes.StreamSpecification
		rp           RecoveryPoint
		w            *writer
		destroyed    bool // the cluster (cluster scope)
		nsDeleted    bool
		tableDeleted bool
		flipped      bool
		restoredSnap bool
	)
	// Whatever happens, leave the pair as it was: a cluster with its
	// workload, the table back, DNS on the primary.
	defer func() {
		cleanup := context.WithoutCancel(ctx)
		if w != nil {
			w.halt()
		}
		if destroyed {
			if rerr := d.recreate(cleanup, region); rerr != nil {
				err = errors.Join(err, fmt.Errorf("cleanup: recreate %s: %w", region, rerr))
			}
		}
		if (destroyed || nsDeleted) && !restoredSnap && snap.Taken != "" {
			if c, cerr := d.Clusters.Client(region); cerr == nil {
				_ = d.waitNamespaceGone(cleanup, c, ns)
				for _, t := range []string{primitive.K8sNamespace, primitive.K8sConfigMap, primitive.K8sPersistentVolumeClaim, primitive.K8sDeployment, primitive.K8sService} {
					if _, rerr := restore(cleanup, c, snap, t); rerr != nil {
						err = errors.Join(err, fmt.Errorf("cleanup: restore %s: %w", t, rerr))
					}
				}
			}
		}
		if tableDeleted && rp.ARN != "" {
			if terr := d.restoreTable(cleanup, rp, tableARN, tableStream); terr != nil {
				err = errors.Join(err, fmt.Errorf("cleanup: restore table: %w", terr))
			}
		}
		if flipped {
			if ferr := d.flip(cleanup, false); ferr != nil {
				err = errors.Join(err, fmt.Errorf("cleanup: fail DNS back: %w", ferr))
			}
		}
		if err != nil {
			rep.Error = err.Error()
		}
		rep.Slowest = slowest(rep.Steps, 3)
	}()

	hasTable := d.Pair.KVTable != nil
	if !hasTable {
		notExercised("data: the pair has no kv_table, so no records were written, backed up or restored, and the RPO could not be measured")
	}
	if hasTable {
		notExercised(fmt.Sprintf("continuous replication: the table's replica in %s was not read; the drill restored from the backup copy, so a policy that counts on the replica for its RPO is measured against its backups", d.Pair.SecondaryRegion))
	}
	if d.Pair.ObjectStore != nil {
		notExercised("object store: objects are not written, backed up or restored by the drill (AWS Backup of S3 is not drilled yet)")
	}
	prefix := "drill-" + d.ID + "-"
	t0 := time.Now()
	if hasTable {
		if err := step("start the writer", 0, func() error {
			out, err := d.Cloud.DynamoDB(region).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: awssdk.String(d.Pair.KVTable.Name)})
			if err != nil {
				return err
			}
			tableARN, tableStream = awssdk.ToString(out.Table.TableArn), out.Table.StreamSpecification
			w = &writer{db: d.Cloud.DynamoDB(region), table: d.Pair.KVTable.Name, hashKey: d.Pair.KVTable.HashKey, prefix: prefix,
				every: time.Duration(float64(time.Second) / d.WriteRate)}
			w.start(context.WithoutCancel(ctx))
			return nil
		}); err != nil {
			return rep, err
		}
		rep.Writes = &Writes{Rate: d.WriteRate}
	}
	// The backup cycle, as the policy's plan runs it: a recovery point
	// every interval from the start, each copied to the secondary vault.
	interval := time.Duration(float64(d.Schedule) / d.TimeCompression)
	first := t0.Add(interval)
	if err := sleepUntil(ctx, first); err != nil {
		return rep, err
	}
	if err := step("scheduled backup 1 (copied to "+d.Pair.SecondaryRegion+")", 0, func() (err error) {
		if snap, err = take(ctx, client, ns); err != nil {
			return err
		}
		if err := d.store("snapshot.json", snap, &rep); err != nil {
			return err
		}
		if hasTable {
			_, err = d.backupOnce(ctx, tableARN)
		}
		return err
	}); err != nil {
		return rep, err
	}
	outage := outageTime(d.OutageAt, first, time.Now(), interval, rand.Int63n)
	if err := sleepUntil(ctx, outage); err != nil {
		return rep, err
	}
	outage = time.Now()
	rep.OutageStart = stamp(outage)
	var written []write
	if w != nil {
		var errs int
		written, errs = w.halt()
		rep.Writes.Errors = errs
	}
	if hasTable {
		if err := step("find the newest recovery point in "+d.Pair.SecondaryRegion, 0, func() (err error) {
			rp, err = d.newestPoint(ctx, tableARN, outage)
			rp.Age = (time.Duration(float64(outage.Sub(rp.created)) * d.TimeCompression)).Round(time.Millisecond).String()
			return err
		}); err != nil {
			return rep, err
		}
		rep.RecoveryPoint = &rp
	}
	if d.HealthCheckID != "" {
		rep.Failover = &Failover{}
		if err := step("fail DNS over to the secondary", 0, func() error {
			flipped = true
			if err := d.flip(ctx, true); err != nil {
				return err
			}
			got, err := d.expectAnswer(ctx, d.Pair.DNS.SecondaryEndpoint)
			rep.Failover.Outage = got
			if err != nil && isUnsupported(err) {
				notExercised("DNS failover: the endpoint cannot say what a client is answered (no TestDNSAnswer), so the failover was not observed")
				return nil
			}
			return err
		}); err != nil {
			return rep, err
		}
	} else {
		notExercised("DNS failover: the pair has no dns block")
	}
	if hasTable {
		if err := step("destroy table "+d.Pair.KVTable.Name+" in "+region, 0, func() error {
			tableDeleted = true
			_, err := d.Cloud.DynamoDB(region).DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: awssdk.String(d.Pair.KVTable.Name)})
			return err
		}); err != nil {
			return rep, err
		}
	}
	if d.Scope == ScopeCluster {
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
	} else {
		if err := step("delete namespace "+ns+" in "+region, 0, func() error {
			nsDeleted = true
			if err := client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
				return err
			}
			return d.waitNamespaceGone(ctx, client, ns)
		}); err != nil {
			return rep, err
		}
	}
	if hasTable {
		if err := step("restore "+primitive.DynamoDBTable+".kv (table "+d.Pair.KVTable.Name+") from the "+d.Pair.SecondaryRegion+" recovery point", 0, func() error {
			if err := d.restoreTable(ctx, rp, tableARN, tableStream); err != nil {
				return err
			}
			tableDeleted = false
			return nil
		}); err != nil {
			return rep, err
		}
	}
	if err := step("read the snapshot from the secondary bucket", 0, func() error {
		return d.load("snapshot.json", &snap)
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
	restoredSnap = true
	if err := step("wait until the workload is available", 0, func() error { return d.waitReady(ctx, client, snap) }); err != nil {
		return rep, err
	}
	var restored map[string]bool
	if hasTable {
		if err := step("read the restored records", 0, func() (err error) {
			restored, err = d.restoredKeys(ctx, prefix)
			return err
		}); err != nil {
			return rep, err
		}
	}
	if flipped {
		if err := step("fail DNS back to the primary", 0, func() error {
			flipped = false
			if err := d.flip(ctx, false); err != nil {
				return err
			}
			if slices.ContainsFunc(rep.NotExercised, func(s string) bool { return strings.HasPrefix(s, "DNS failover") }) {
				return nil
			}
			got, err := d.expectAnswer(ctx, d.Pair.DNS.PrimaryEndpoint)
			rep.Failover.Restored = got
			rep.Failover.Observed = err == nil
			return err
		}); err != nil {
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
		return nil
	}); err != nil {
		return rep, err
	}
	var rpo time.Duration
	if hasTable {
		var newest time.Time
		*rep.Writes, newest = account(written, restored, rp)
		rep.Writes.Rate = d.WriteRate
		if newest.IsZero() {
			newest = t0 // nothing came back: everything since the start is lost
		}
		wall := outage.Sub(newest)
		rpo = time.Duration(float64(wall) * d.TimeCompression)
		rep.MeasuredRPOWall = wall.Round(time.Millisecond).String()
		rep.MeasuredRPO = rpo.Round(time.Millisecond).String()
	}
	slack := 1 + float64(d.MaxDeviation)/100
	fail := func(format string, args ...any) { rep.Failed = append(rep.Failed, fmt.Sprintf(format, args...)) }
	if !rep.Identical {
		fail("restored objects differ from the snapshot: %s", strings.Join(rep.Mismatch, ", "))
	}
	if float64(rto) > float64(d.RTO)*slack {
		fail("RTO %s is over the target %s (+%d%%)", rep.MeasuredRTO, d.RTO, d.MaxDeviation)
	}
	switch {
	case !hasTable:
		fail("RPO not measured: no data was drilled")
	case float64(rpo) > float64(d.RPO)*slack:
		fail("RPO %s is over the target %s (+%d%%): the newest recovery point in %s was %s old at the outage", rep.MeasuredRPO, d.RPO, d.MaxDeviation, d.Pair.SecondaryRegion, rp.Age)
	}
	if rep.Writes != nil && rep.Writes.MissingBeforePoint > 0 {
		fail("%d writes acknowledged before the recovery point was made did not come back", rep.Writes.MissingBeforePoint)
	}
	if rep.Failover != nil && !rep.Failover.Observed {
		fail("DNS failover not observed")
	}
	rep.Passed = len(rep.Failed) == 0
	notExercised("volume contents: the local clusters' volumes (kwok) hold no data, so claims were snapshotted and restored, their bytes were not")
	if d.TimeCompression > 1 {
		notExercised(fmt.Sprintf("real-time backups: the %s backup schedule ran %g times faster, and the drill started its backup and copy jobs itself on that schedule", d.Schedule, d.TimeCompression))
	}
	if err := d.store("report.json", rep, &rep); err != nil {
		return rep, err
	}
	return rep, nil
}

// outageTime is when the outage strikes in the backup cycle that began with
// the backup at first (done by now): worst is the instant before the next
// backup starts, so the newest recovery point is as old as it gets; now is
// at once; random is anywhere in the cycle (randn(n) draws from [0, n)).
func outageTime(at string, first, now time.Time, interval time.Duration, randn func(int64) int64) time.Time {
	var t time.Time
	switch at {
	case OutageNow:
		return now
	case OutageRandom:
		t = first.Add(time.Duration(randn(int64(interval))))
	default:
		t = first.Add(interval - min(interval/50, 100*time.Millisecond))
	}
	// A backup job that ran past the chosen instant leaves the outage at
	// its end: it cannot strike in the past.
	return maxTime(t, now)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// isUnsupported: the endpoint does not implement the call (an emulator
// answers an HTML page or 404/501).
func isUnsupported(err error) bool {
	var api interface{ ErrorCode() string }
	if errors.As(err, &api) && (api.ErrorCode() == "NotImplemented" || api.ErrorCode() == "InvalidAction" || api.ErrorCode() == "UnknownOperationException") {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "deserialization failed") || strings.Contains(msg, "StatusCode: 404") || strings.Contains(msg, "StatusCode: 501") || strings.Contains(msg, "StatusCode: 500")
}

func (d *Drill) waitNamespaceGone(ctx context.Context, c kubernetes.Interface, ns string) error {
	return poll(ctx, d.readyTimeout(), "namespace "+ns+" deleted", func() (bool, error) {
		_, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, err
	})
}

func (d *Drill) readyTimeout() time.Duration {
	if d.ReadyTimeout == 0 {
		return 5 * time.Minute
	}
	return d.ReadyTimeout
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

// load reads a drill document back from the secondary bucket into doc: the
// restore uses what survived the outage there, not what the drill holds in
// memory. Without an object store, doc stays as it is.
func (d *Drill) load(name string, doc any) error {
	os := d.Pair.ObjectStore
	if os == nil {
		return nil
	}
	bucket := os.BucketPrefix + "-" + d.Pair.SecondaryRegion
	out, err := d.Cloud.S3(d.Pair.SecondaryRegion).GetObject(context.Background(), &s3.GetObjectInput{
		Bucket: awssdk.String(bucket), Key: awssdk.String("meridian/drills/" + d.ID + "/" + name)})
	if err != nil {
		return fmt.Errorf("read %s from s3://%s: %w", name, bucket, err)
	}
	defer out.Body.Close()
	return json.NewDecoder(out.Body).Decode(doc)
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
	case primitive.K8sNamespace:
		ns := s.Namespace
		return n, create(func() error { _, err := c.CoreV1().Namespaces().Create(ctx, &ns, metav1.CreateOptions{}); return err }())
	case primitive.K8sConfigMap:
		for _, cm := range s.ConfigMaps {
			if err := create(func() error {
				_, err := c.CoreV1().ConfigMaps(cm.Namespace).Create(ctx, &cm, metav1.CreateOptions{})
				return err
			}()); err != nil {
				return n, err
			}
		}
	case primitive.K8sPersistentVolumeClaim:
		for _, p := range s.Claims {
			if err := create(func() error {
				_, err := c.CoreV1().PersistentVolumeClaims(p.Namespace).Create(ctx, &p, metav1.CreateOptions{})
				return err
			}()); err != nil {
				return n, err
			}
		}
	case primitive.K8sDeployment:
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
	case primitive.K8sService:
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
	timeout := d.readyTimeout()
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
