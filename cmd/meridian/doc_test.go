package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// keepDrill writes a stack state that keeps the recorded fixture drill
// report (internal/architecture/testdata: a fixture, not a live drill, as
// a live one needs two Kubernetes clusters) as region pair checkout's
// latest drill, as meridian drill keeps it.
func keepDrill(t *testing.T, dir, stackName string) {
	t.Helper()
	report, err := os.ReadFile(filepath.Join("..", "..", "internal", "architecture", "testdata", "drill-report.fixture.json"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := json.Marshal(map[string]any{"version": 1, "stack": stackName, "serial": 1, "records": []any{},
		"drills": map[string]json.RawMessage{"checkout": report}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, ".meridian", "stacks"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".meridian", "stacks", stackName+".json"), doc, 0o644); err != nil {
		t.Fatal(err)
	}
}

// The document of examples/stacks/platform after a drill, and each of its
// diagrams, against the golden files (go test -update rewrites them).
func TestDocGolden(t *testing.T) {
	dir := platformStack(t)
	keepDrill(t, dir, "platform")
	c := newCLI(t, dir)
	out := filepath.Join(dir, "doc")
	r := c.must("doc", "--stack", "platform", "--at", "2026-11-30", "--out", out)
	if got, want := strings.TrimSpace(r.stdout), filepath.Join(out, "architecture.md"); got != want {
		t.Errorf("meridian doc printed %q, want the document's path %q", got, want)
	}
	files, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, f.Name())
		b, err := os.ReadFile(filepath.Join(out, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "doc-"+f.Name(), string(b))
	}
	if want := "architecture.md capacity-checkout-web.svg failover-checkout.svg runbook-checkout.svg topology-checkout.svg"; strings.Join(names, " ") != want {
		t.Errorf("meridian doc wrote %v, want %s", names, want)
	}

	// --json: one summary event naming the files, for machines.
	r = c.must("doc", "--json", "--stack", "platform", "--at", "2026-11-30", "--out", filepath.Join(dir, "doc2"))
	var ev struct {
		Event     string   `json:"event"`
		Document  string   `json:"document"`
		Diagrams  []string `json:"diagrams"`
		Decisions int      `json:"decisions"`
		Findings  []any    `json:"findings"`
		OK        bool     `json:"ok"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &ev); err != nil || ev.Event != "doc_summary" || ev.Document != filepath.Join(dir, "doc2", "architecture.md") ||
		len(ev.Diagrams) != 4 || ev.Decisions != 6 || ev.Findings == nil || len(ev.Findings) != 0 || !ev.OK {
		t.Errorf("meridian doc --json: %v\n%s", err, r.stdout)
	}
}

// --check is a CI gate: exit 1 with each finding while a choice cannot be
// defended, exit 0 when every one is.
func TestDocCheck(t *testing.T) {
	dir := platformStack(t)
	c := newCLI(t, dir)

	r := c.run("doc", "--check", "--stack", "undrilled", "--at", "2026-11-30")
	if r.code != 1 || !strings.Contains(r.stdout, "never_drilled\tmeridian_dr_policy.checkout\t") || !strings.Contains(r.stdout, "1 findings") {
		t.Errorf("a stack never drilled: exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "doc")); !os.IsNotExist(err) {
		t.Errorf("--check wrote the document (doc/: %v)", err)
	}

	keepDrill(t, dir, "drilled")
	r = c.run("doc", "--check", "--stack", "drilled", "--at", "2026-11-30")
	if r.code != 0 || strings.TrimSpace(r.stdout) != "0 findings" {
		t.Errorf("drilled ten days ago: exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	r = c.run("doc", "--check", "--stack", "drilled", "--at", "2027-03-01")
	if r.code != 1 || !strings.Contains(r.stdout, "stale_drill\tmeridian_dr_policy.checkout\tthe last drill (fixture-20261120, 2026-11-20) is older than 31 days (drill.schedule monthly)") {
		t.Errorf("drilled 101 days before: exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	r = c.run("doc", "--check", "--json", "--stack", "drilled", "--at", "2027-03-01")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var finding, summary map[string]any
	if len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &finding) != nil || json.Unmarshal([]byte(lines[1]), &summary) != nil ||
		finding["kind"] != "stale_drill" || summary["event"] != "doc_check_summary" || summary["ok"] != false || r.code != 1 {
		t.Errorf("--json: exit %d, stdout:\n%s", r.code, r.stdout)
	}
}

// A pair with neither a DR policy nor a cost tag policy: both findings, and
// its topology cannot be weighed.
func TestDocCheckUndefendedPair(t *testing.T) {
	dir := t.TempDir()
	stack := `provider "meridian" {
  aws {
    access_key = "test"
    secret_key = "test"
  }
}

resource "meridian_region_pair" "search" {
  name             = "search"
  primary_region   = "eu-west-1"
  secondary_region = "eu-central-1"
  kv_table {
    hash_key = "id"
  }
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(stack), 0o644); err != nil {
		t.Fatal(err)
	}
	r := newCLI(t, dir).run("doc", "--check", "--stack", "dev", "--at", "2026-11-30")
	for _, want := range []string{
		"no_dr_policy\tmeridian_region_pair.search\tregion pair \"search\" has no meridian_dr_policy",
		"untagged_cost\tstack\tno meridian_cost_tag_policy",
		// Without a DR policy there is no runbook to weigh active-passive's
		// restore against, and no capacity plan to price the alternative.
		"no_alternative\ttopology of search\t",
		"3 findings",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("missing %q in:\n%s", want, r.stdout)
		}
	}
	if r.code != 1 {
		t.Errorf("exit %d, want 1; stderr:\n%s", r.code, r.stderr)
	}
}

// The review reads the state and the stack only: a stack with a
// kubernetes block is documented without its clusters (a CI job has none).
func TestDocWithoutClusters(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "stacks", "drill", "main.tf"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	c := newCLI(t, dir)
	vars := []string{"--var", "aws_endpoint=http://127.0.0.1:1", "--var", "kubeconfig=" + filepath.Join(dir, "no-such-kubeconfig")}
	r := c.must(append([]string{"doc", "--stack", "demo", "--out", filepath.Join(dir, "doc")}, vars...)...)
	md, err := os.ReadFile(strings.TrimSpace(r.stdout))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "**Decision: health check of orders.** Chosen: HTTPS /health every 30s, failure threshold 3, TTL 60s.") {
		t.Errorf("the document of the drill stack has no health check decision:\n%s", md)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "doc", "topology-orders.svg"))
	if err != nil || strings.Count(string(svg), ">Kubernetes cluster<") != 2 {
		t.Errorf("topology-orders.svg: %v, want a cluster in each region", err)
	}
}
