package test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/gruntwork-io/terratest/modules/k8s"
	"github.com/gruntwork-io/terratest/modules/terraform"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/meridianhq/terraform-provider-meridian/internal/drill"
)

type drillOutput struct {
	Passed      bool   `json:"passed"`
	Identical   bool   `json:"identical"`
	MeasuredRTO string `json:"measured_rto"`
	MeasuredRPO string `json:"measured_rpo"`
	Steps       []struct {
		Name     string `json:"name"`
		Group    int    `json:"group"`
		Duration string `json:"duration"`
		Error    string `json:"error"`
	} `json:"steps"`
}

// TestDrill runs a full drill of examples/drill (the one make demo shows)
// on two local clusters and moto: the primary cluster is destroyed for real
// and restored from the snapshot.
func TestDrill(t *testing.T) {
	began := time.Now()
	withStandIns(t)
	b := start(t, filepath.Join("examples", "drill"))
	b.opts.Vars["testbed"] = b.clusters.Dir()
	defer terraform.Destroy(t, b.opts)
	primary, err := k8s.GetKubernetesClientFromOptionsE(t, b.kube("region-a", ""))
	if err != nil {
		t.Fatal(err)
	}

	// Unmarked, the drill refuses, and the cluster keeps its workload.
	out, err := terraform.InitAndApplyE(t, b.opts)
	if err == nil || !strings.Contains(strings.Join(strings.Fields(out), " "), "drill refused: the us-east-1 cluster is not marked as a drill target") {
		t.Fatalf("apply without the drill-target mark: err %v, output:\n%s", err, out)
	}
	k8s.WaitUntilDeploymentAvailable(t, b.kube("region-a", "orders"), "orders", 10, time.Second)

	markDrillTarget(t, primary)

	terraform.Apply(t, b.opts)
	var got drillOutput
	terraform.OutputStruct(t, b.opts, "drill", &got)
	t.Logf("drill: passed=%v identical=%v measured RTO %s (target 1h), RPO %s (target 2h)", got.Passed, got.Identical, got.MeasuredRTO, got.MeasuredRPO)
	for _, s := range got.Steps {
		t.Logf("  %-50s group %d  %s %s", s.Name, s.Group, s.Duration, s.Error)
	}
	if !got.Identical || !got.Passed || got.MeasuredRTO == "" || got.MeasuredRPO == "" {
		t.Errorf("drill result %+v, want identical, passed and both measurements", got)
	}

	// The restore ran in runbook order.
	var runbook []runbookStep
	terraform.OutputStruct(t, b.opts, "runbook_steps", &runbook)
	var ran []string
	for _, s := range got.Steps {
		ran = append(ran, s.Name)
	}
	checkRestoreOrder(t, runbook, ran)

	var rep drillReport
	if err := json.Unmarshal([]byte(terraform.Output(t, b.opts, "drill_report")), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Scope != "cluster" || rep.RecoveryPoint == nil || rep.Failover == nil || !rep.Failover.Observed {
		t.Errorf("drill report %+v: want the cluster scope, a recovery point and the failover observed", rep)
	}
	checkRestoredData(t, b.aws("us-east-1"), rep)
	t.Logf("the report's Markdown section:\n%s", terraform.Output(t, b.opts, "drill_markdown"))
	checkRestored(t, b.aws("us-west-2"), primary)
	k8s.WaitUntilDeploymentAvailable(t, b.kube("region-a", "orders"), "orders", 10, time.Second)

	// The policy reads the drill's report on refresh and is proven.
	terraform.RunTerraformCommand(t, b.opts, terraform.FormatArgs(b.opts, "apply", "-refresh-only", "-auto-approve", "-input=false")...)
	if proven := terraform.Output(t, b.opts, "policy_proven"); proven != "true" {
		t.Errorf("policy proven = %s after a passing drill", proven)
	}
	if code := terraform.PlanExitCode(t, b.opts); code != 0 {
		t.Errorf("plan after the drill exits %d, want 0: the restored workload matches the configuration", code)
	}
	t.Logf("TestDrill took %s", time.Since(began).Round(time.Second))
}

// checkRestored checks, independently of the drill's own check, that the
// config maps in the recreated primary cluster are those of the snapshot in
// the secondary bucket.
func checkRestored(t *testing.T, secondary aws.Config, primary kubernetes.Interface) {
	t.Helper()
	ctx := context.Background()
	obj, err := s3.NewFromConfig(secondary, func(o *s3.Options) { o.UsePathStyle = true }).GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String("orders-objects-us-west-2"), Key: aws.String("meridian/drills/latest/snapshot.json")})
	if err != nil {
		t.Fatalf("snapshot in the secondary bucket: %v", err)
	}
	raw, _ := io.ReadAll(obj.Body)
	var snap struct {
		ConfigMaps []corev1.ConfigMap `json:"config_maps"`
	}
	if err := json.Unmarshal(raw, &snap); err != nil || len(snap.ConfigMaps) == 0 {
		t.Fatalf("snapshot %s: %v", raw, err)
	}
	for _, cm := range snap.ConfigMaps {
		now, err := primary.CoreV1().ConfigMaps("orders").Get(ctx, cm.Name, metav1.GetOptions{})
		if err != nil || fmt.Sprint(now.Data) != fmt.Sprint(cm.Data) {
			t.Errorf("config map %s after the drill: %v (%v), snapshot had %v", cm.Name, now, err, cm.Data)
		}
	}
}

// runbookStep is a step of a DR policy's runbook, as terraform and
// meridian runbook --json show it.
type runbookStep struct {
	Primitive string `json:"primitive"`
	Region    string `json:"region"`
	Type      string `json:"type"`
}

// checkRestoreOrder checks that a drill's restore steps follow the runbook
// for the primary's Kubernetes primitives: namespace first, service last.
func checkRestoreOrder(t *testing.T, runbook []runbookStep, steps []string) {
	t.Helper()
	var want, ran []string
	for _, s := range runbook {
		if s.Region == "us-east-1" && strings.HasPrefix(s.Type, "k8s_") {
			want = append(want, "restore "+s.Primitive)
		}
	}
	for _, s := range steps {
		if strings.HasPrefix(s, "restore k8s_") {
			ran = append(ran, s)
		}
	}
	if strings.Join(ran, ",") != strings.Join(want, ",") || len(want) < 5 {
		t.Fatalf("restore steps %v, want the runbook's order %v", ran, want)
	}
	if !strings.HasPrefix(ran[0], "restore k8s_namespace") || !strings.HasPrefix(ran[len(ran)-1], "restore k8s_service") {
		t.Errorf("restore order %v: the namespace must come first and the service last", ran)
	}
}

// markDrillTarget allows drills to destroy the cluster.
func markDrillTarget(t *testing.T, c kubernetes.Interface) {
	t.Helper()
	ctx := context.Background()
	sys, err := c.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sys.Labels[drill.DrillTargetLabel] = "true"
	if _, err := c.CoreV1().Namespaces().Update(ctx, sys, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("mark the cluster as a drill target: %v", err)
	}
}
