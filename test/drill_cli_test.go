package test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/gruntwork-io/terratest/modules/k8s"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meridianhq/terraform-provider-meridian/internal/drill"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed"
)

// drillReport is the part of a drill's JSON report the tests check.
type drillReport struct {
	ID              string  `json:"id"`
	Scope           string  `json:"scope"`
	Passed          bool    `json:"passed"`
	Identical       bool    `json:"identical"`
	Restored        int     `json:"restored"`
	MeasuredRTO     string  `json:"measured_rto"`
	MeasuredRPO     string  `json:"measured_rpo"`
	MeasuredRPOWall string  `json:"measured_rpo_wall"`
	OutageStart     string  `json:"outage_start"`
	TimeCompression float64 `json:"time_compression"`
	RecoveryPoint   *struct {
		ARN     string `json:"arn"`
		Region  string `json:"region"`
		Created string `json:"created"`
		Age     string `json:"age"`
	} `json:"recovery_point"`
	Writes *struct {
		Written      int    `json:"written"`
		Restored     int    `json:"restored"`
		Lost         int    `json:"lost"`
		LastLostKey  string `json:"last_lost_key"`
		FirstLostKey string `json:"first_lost_key"`
	} `json:"writes"`
	Failover *struct {
		Observed bool     `json:"observed"`
		Outage   []string `json:"answer_during_outage"`
		Restored []string `json:"answer_after_restore"`
	} `json:"failover"`
	Failed       []string `json:"failed"`
	NotExercised []string `json:"not_exercised"`
	Steps        []struct {
		Name     string `json:"name"`
		Duration string `json:"duration"`
	} `json:"steps"`
}

// withStandIns puts the strict layer (without faults unless the run asks
// for them) in front of moto: a drill needs its AWS Backup jobs and
// TestDNSAnswer, which moto lacks.
func withStandIns(t *testing.T) {
	if v := os.Getenv(testbed.StrictEnv); v == "" || v == "0" || v == "off" {
		t.Setenv(testbed.StrictEnv, "on")
		t.Setenv(testbed.StrictOffEnv, "faults")
	}
}

// TestDrillCLI drills with the meridian CLI, through the stack's kubeconfig
// contexts alone (namespace scope, no testbed folder): meridian up deploys
// examples/stacks/drill (backups every hour, RPO 2h, the hour run as 5 s)
// against moto and two local clusters, and meridian drill loses the
// primary's table and namespace at the worst point of the backup cycle and
// restores them from us-west-2. The RPO measured is close to the hour; the
// restored table, read straight from moto, holds exactly the writes up to
// the recovery point and the report counts the rest as lost. Then the same
// pair under a policy whose RPO (15m) is tighter than its schedule fails
// the drill: exit 1, not passed.
func TestDrillCLI(t *testing.T) {
	began := time.Now()
	withStandIns(t)
	moto, clusters := startCloud(t)
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	bin := filepath.Join(work, "meridian")
	build := exec.Command("go", "build", "-o", bin, "./cmd/meridian")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/meridian: %v\n%s", err, out)
	}
	dir := filepath.Join(work, "stack")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(root, "examples", "stacks", "drill"))); err != nil {
		t.Fatal(err)
	}
	vars := []string{"--var", "aws_endpoint=" + moto.Endpoint(), "--var", "kubeconfig=" + clusters.Kubeconfig()}
	meridian := func(args ...string) (stdout, stderr string, code int) {
		t.Helper()
		cmd := exec.Command(bin, append(args, vars...)...)
		cmd.Dir = dir
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			code = ee.ExitCode()
		case err != nil:
			t.Fatalf("meridian %s: %v", strings.Join(args, " "), err)
		}
		t.Logf("meridian %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
		return out.String(), errOut.String(), code
	}
	must := func(args ...string) string {
		t.Helper()
		out, _, code := meridian(args...)
		if code != 0 {
			t.Fatalf("meridian %s: exit %d", strings.Join(args, " "), code)
		}
		return out
	}
	drillJSON := func(out string) (rep drillReport, progress int) {
		t.Helper()
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var ev struct {
				Event  string          `json:"event"`
				Report json.RawMessage `json:"report"`
			}
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatalf("not a JSON event: %q", line)
			}
			switch ev.Event {
			case "progress":
				progress++
			case "drill":
				if err := json.Unmarshal(ev.Report, &rep); err != nil {
					t.Fatal(err)
				}
			}
		}
		return rep, progress
	}
	must("stack", "init", "dev")
	must("up", "--yes", "--progress=plain")
	t.Cleanup(func() { meridian("destroy", "--yes", "--progress=plain") })
	k8s.WaitUntilDeploymentAvailable(t, k8s.NewKubectlOptions("region-a", clusters.Kubeconfig(), "orders"), "orders", 10, time.Second)
	deployed := time.Since(began)

	// Unmarked, the drill refuses, and the cluster keeps its workload.
	if _, stderr, code := meridian("drill", "orders", "--yes"); code != 1 ||
		!strings.Contains(stderr, "drill refused: the us-east-1 cluster is not marked as a drill target") {
		t.Fatalf("drill of an unmarked cluster: exit %d, %s", code, stderr)
	}
	primary, err := k8s.GetKubernetesClientFromOptionsE(t, k8s.NewKubectlOptions("region-a", clusters.Kubeconfig(), ""))
	if err != nil {
		t.Fatal(err)
	}
	k8s.WaitUntilDeploymentAvailable(t, k8s.NewKubectlOptions("region-a", clusters.Kubeconfig(), "orders"), "orders", 10, time.Second)
	markDrillTarget(t, primary)

	drillStart := time.Now()
	out := must("drill", "orders", "--yes", "--json")
	drillTook := time.Since(drillStart)
	report, progress := drillJSON(out)
	t.Logf("drill (namespace scope) took %s: passed=%v RTO %s, RPO %s (%s as measured, compression %g), recovery point %+v, writes %+v, failover %+v",
		drillTook.Round(time.Millisecond), report.Passed, report.MeasuredRTO, report.MeasuredRPO, report.MeasuredRPOWall, report.TimeCompression, report.RecoveryPoint, report.Writes, report.Failover)
	if !report.Passed || !report.Identical || report.Scope != "namespace" || report.Restored < 5 || progress < len(report.Steps) {
		t.Fatalf("drill report %+v after %d progress events: want passed, identical, namespace scope and an event per step", report, progress)
	}
	// Close to the schedule's hour, not milliseconds: the outage struck
	// just before the second backup.
	rpo, err := time.ParseDuration(report.MeasuredRPO)
	if err != nil || rpo < 50*time.Minute || rpo > 75*time.Minute || report.TimeCompression != 720 {
		t.Errorf("measured RPO %s (%v) at compression %g, want close to the 1h schedule", report.MeasuredRPO, err, report.TimeCompression)
	}
	if rp := report.RecoveryPoint; rp == nil || rp.Region != "us-west-2" || !strings.Contains(rp.ARN, ":us-west-2:") {
		t.Fatalf("recovery point %+v: want one in us-west-2", rp)
	}
	if f := report.Failover; f == nil || !f.Observed || strings.Join(f.Outage, ",") != "api-usw2.orders.example.com" || strings.Join(f.Restored, ",") != "api-use1.orders.example.com" {
		t.Errorf("failover %+v: want the secondary answered during the outage and the primary after", f)
	}
	checkRestoredData(t, awsConfig(moto, "us-east-1"), report)

	// The stack's env value (examples/stacks/drill) is restored from
	// memory, never stored: not in the snapshot in the secondary bucket,
	// clear or base64, nor in the stack's state.
	// The stack's env value (examples/stacks/drill) is restored from
	// memory, never stored: not in the snapshot in the secondary bucket,
	// clear or base64, nor in the stack's state.
	obj, err := s3.NewFromConfig(awsConfig(moto, "us-west-2"), func(o *s3.Options) { o.UsePathStyle = true }).GetObject(context.Background(),
		&s3.GetObjectInput{Bucket: aws.String("orders-objects-us-west-2"), Key: aws.String("meridian/drills/latest/snapshot.json")})
	if err != nil {
		t.Fatalf("snapshot in the secondary bucket: %v", err)
	}
	snapshot := new(bytes.Buffer)
	if _, err := snapshot.ReadFrom(obj.Body); err != nil {
		t.Fatal(err)
	}
	state, err := os.ReadFile(filepath.Join(dir, ".meridian", "stacks", "dev.json"))
	if err != nil {
		t.Fatal(err)
	}
	for what, raw := range map[string]string{"snapshot": snapshot.String(), "state": string(state)} {
		if strings.Contains(raw, "change-me") || strings.Contains(raw, "Y2hhbmdlLW1l") {
			t.Errorf("the workload's env value is in the %s", what)
		}
	}
	if !strings.Contains(snapshot.String(), `"deployments"`) {
		t.Errorf("snapshot holds no deployments: %.300s", snapshot.String())
	}
	var runbook struct {
		Steps []runbookStep `json:"steps"`
	}
	// The runbook event, then the command's summary.
	runbookJSON, _, _ := strings.Cut(must("runbook", "orders", "--json"), "\n")
	if err := json.Unmarshal([]byte(runbookJSON), &runbook); err != nil {
		t.Fatal(err)
	}
	var ran []string
	for _, s := range report.Steps {
		ran = append(ran, s.Name)
	}
	checkRestoreOrder(t, runbook.Steps, ran)
	sys, err := primary.CoreV1().Namespaces().Get(context.Background(), "kube-system", metav1.GetOptions{})
	if err != nil || sys.Labels[drill.DrillTargetLabel] != "true" {
		t.Errorf("the recreated cluster is not a drill target any more: %v (%v)", sys.Labels, err)
	}
	checkRestored(t, awsConfig(moto, "us-west-2"), primary)

	// The report is the pair's latest drill in the stack's state.
	raw, err := os.ReadFile(filepath.Join(dir, ".meridian", "stacks", "dev.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Drills map[string]struct {
			ID string `json:"id"`
		} `json:"drills"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || doc.Drills["orders"].ID != report.ID {
		t.Errorf("state's drills %+v (%v), want drill %s", doc.Drills, err, report.ID)
	}

	if out := must("drill", "--last"); !strings.Contains(out, "drill "+report.ID+" of region pair orders (us-east-1): passed") {
		t.Errorf("drill --last:\n%s", out)
	}

	// What meridian deployed is what the restored cluster holds: no drift,
	// nothing to change.
	if out := must("refresh"); !strings.Contains(out, "0 drifted") {
		t.Errorf("refresh after the drill:\n%s", out)
	}
	if out := must("preview"); !strings.Contains(out, "0 to create, 0 to update, 0 to replace, 0 to delete") {
		t.Errorf("preview after the drill:\n%s", out)
	}

	// A policy whose RPO is tighter than its schedule: 15m against hourly
	// backups. It validates (the table's replica is meant to keep the
	// secondary current), but the secondary holds only what the backups
	// copied there, so the drill measures about an hour and fails.
	main := filepath.Join(dir, "main.tf")
	hcl, err := os.ReadFile(main)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(main, []byte(strings.Replace(string(hcl), `rpo = "2h"`, `rpo = "15m"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	tightStart := time.Now()
	out, stderr, code := meridian("drill", "orders", "--yes", "--json")
	tightTook := time.Since(tightStart)
	tight, _ := drillJSON(out)
	t.Logf("drill with rpo 15m took %s: exit %d, passed=%v, RPO %s, failed %v", tightTook.Round(time.Millisecond), code, tight.Passed, tight.MeasuredRPO, tight.Failed)
	if code != 1 || tight.Passed || tight.ID == "" || !strings.Contains(stderr, "RPO") || !strings.Contains(strings.Join(tight.Failed, ";"), "over the target 15m0s") {
		t.Fatalf("drill of a policy with rpo 15m and hourly backups: exit %d, passed %v, failed %v, stderr %s; want exit 1 and not passed on its RPO", code, tight.Passed, tight.Failed, stderr)
	}
	checkRestoredData(t, awsConfig(moto, "us-east-1"), tight)
	if _, _, code := meridian("drill", "--last"); code != 1 {
		t.Errorf("drill --last after a failed drill: exit %d, want 1", code)
	}
	t.Logf("timings: deploy %s, passing drill %s, failing drill %s, whole test %s", deployed.Round(time.Second), drillTook.Round(time.Second), tightTook.Round(time.Second), time.Since(began).Round(time.Second))
}

// checkRestoredData reads the primary's restored table straight from moto
// (not through meridian nor the strict layer) and checks it against the
// drill's report: the drill's records are exactly the first ones written,
// up to the recovery point, and the report counts every later one as lost.
func checkRestoredData(t *testing.T, primary aws.Config, rep drillReport) {
	t.Helper()
	if rep.Writes == nil || rep.RecoveryPoint == nil {
		t.Fatalf("report without writes or recovery point: %+v", rep)
	}
	prefix := "drill-" + rep.ID + "-"
	db := dynamodb.NewFromConfig(primary)
	pages := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String("orders")})
	created, err := time.Parse(time.RFC3339Nano, rep.RecoveryPoint.Created)
	if err != nil {
		t.Fatal(err)
	}
	seqs := map[int]bool{}
	for pages.HasMorePages() {
		page, err := pages.NextPage(context.Background())
		if err != nil {
			t.Fatalf("scan the restored table: %v", err)
		}
		for _, item := range page.Items {
			key := item["order_id"].(*ddbtypes.AttributeValueMemberS).Value
			if !strings.HasPrefix(key, prefix) {
				continue
			}
			var seq int
			if _, err := fmt.Sscanf(strings.TrimPrefix(key, prefix), "%d", &seq); err != nil {
				t.Fatalf("key %q: %v", key, err)
			}
			seqs[seq] = true
			at, err := time.Parse(time.RFC3339Nano, item["written_at"].(*ddbtypes.AttributeValueMemberS).Value)
			if err != nil || at.After(created) {
				t.Errorf("restored record %s written at %v (%v), after the recovery point %s", key, at, err, created)
			}
		}
	}
	for i := 1; i <= len(seqs); i++ {
		if !seqs[i] {
			t.Fatalf("restored records are not the first %d written: %d is missing", len(seqs), i)
		}
	}
	w := rep.Writes
	t.Logf("restored table (read from moto): %d drill records; report: %d written, %d restored, %d lost (%s .. %s)", len(seqs), w.Written, w.Restored, w.Lost, w.FirstLostKey, w.LastLostKey)
	if len(seqs) == 0 || w.Restored != len(seqs) || w.Lost != w.Written-len(seqs) || w.Lost == 0 ||
		w.FirstLostKey != fmt.Sprintf("%s%07d", prefix, len(seqs)+1) || w.LastLostKey != fmt.Sprintf("%s%07d", prefix, w.Written) {
		t.Errorf("writes %+v, but the restored table holds records 1..%d of %s", *w, len(seqs), prefix)
	}
}
