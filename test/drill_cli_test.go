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

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/gruntwork-io/terratest/modules/k8s"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meridianhq/terraform-provider-meridian/internal/drill"
)

// TestDrillCLI drills with the meridian CLI what TestDrill drills with
// terraform: meridian up deploys examples/stacks/drill (a pair whose
// workload runs in two local clusters) against moto, and meridian drill
// destroys the primary cluster for real and restores it.
func TestDrillCLI(t *testing.T) {
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
	must("stack", "init", "dev")
	must("up", "--yes", "--progress=plain")
	t.Cleanup(func() { meridian("destroy", "--yes", "--progress=plain") })
	k8s.WaitUntilDeploymentAvailable(t, k8s.NewKubectlOptions("region-a", clusters.Kubeconfig(), "orders"), "orders", 10, time.Second)

	// Unmarked, the drill refuses, and the cluster keeps its workload.
	if _, stderr, code := meridian("drill", "orders", "--testbed", clusters.Dir(), "--yes"); code != 1 ||
		!strings.Contains(stderr, "drill refused: the us-east-1 cluster is not marked as a drill target") {
		t.Fatalf("drill of an unmarked cluster: exit %d, %s", code, stderr)
	}
	primary, err := k8s.GetKubernetesClientFromOptionsE(t, k8s.NewKubectlOptions("region-a", clusters.Kubeconfig(), ""))
	if err != nil {
		t.Fatal(err)
	}
	k8s.WaitUntilDeploymentAvailable(t, k8s.NewKubectlOptions("region-a", clusters.Kubeconfig(), "orders"), "orders", 10, time.Second)
	markDrillTarget(t, primary)

	out := must("drill", "orders", "--testbed", clusters.Dir(), "--yes", "--json")
	var report struct {
		ID          string `json:"id"`
		Passed      bool   `json:"passed"`
		Identical   bool   `json:"identical"`
		Restored    int    `json:"restored"`
		MeasuredRTO string `json:"measured_rto"`
		MeasuredRPO string `json:"measured_rpo"`
		Steps       []struct {
			Name string `json:"name"`
		} `json:"steps"`
	}
	progress := 0
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
			if err := json.Unmarshal(ev.Report, &report); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("drill: passed=%v identical=%v measured RTO %s (target 1h), RPO %s (target 15m), %d progress events", report.Passed, report.Identical, report.MeasuredRTO, report.MeasuredRPO, progress)
	if !report.Passed || !report.Identical || report.Restored < 5 || report.MeasuredRTO == "" || report.MeasuredRPO == "" || progress < len(report.Steps) {
		t.Fatalf("drill report %+v after %d progress events: want passed, identical, both measurements and an event per step", report, progress)
	}
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
}
