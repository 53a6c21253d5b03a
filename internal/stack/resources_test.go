package stack

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/NAME, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from what the stack gives (go test -update rewrites it):\n%s", path, got)
	}
}

// TestParseAllKinds reads a stack with every kind of block, each referring
// to the one before it as in terraform, and compares the blueprints with a
// golden file.
func TestParseAllKinds(t *testing.T) {
	st, diags := LoadDir("testdata/full", nil)
	if diags.HasErrors() {
		t.Fatal(FormatDiagnostics(diags))
	}
	if len(st.RegionPairs) != 1 || len(st.CostTagPolicies) != 1 || len(st.DRPolicies) != 1 || len(st.CapacityReservations) != 1 {
		t.Fatalf("parsed %d pairs, %d tag policies, %d DR policies, %d reservations", len(st.RegionPairs), len(st.CostTagPolicies), len(st.DRPolicies), len(st.CapacityReservations))
	}
	pair := st.RegionPairs[0].Blueprint
	if pair.CostTagPolicy == nil || pair.CostTagPolicy.Name != "finance" || pair.CostTagPolicy.EnforceInCloud != nil {
		t.Errorf("the pair's cost_tag_policy is the policy attribute (without enforcement): %+v", pair.CostTagPolicy)
	}
	dr := st.DRPolicies[0]
	if jsonOf(dr.Blueprint.RegionPair) != jsonOf(pair) {
		t.Errorf("region_pair = meridian_region_pair.checkout.spec gave\n%s\nnot\n%s", jsonOf(dr.Blueprint.RegionPair), jsonOf(pair))
	}
	c := st.CapacityReservations[0]
	abs, _ := filepath.Abs("testdata/full/demand.csv")
	if c.CSVFile != abs || c.Blueprint.RTO != "1h" || c.Blueprint.Interval != 0.8 {
		t.Errorf("capacity: csv_file %q (want %q), rto %q, interval %v (want 0.8)", c.CSVFile, abs, c.Blueprint.RTO, c.Blueprint.Interval)
	}
	if c.Address() != "meridian_capacity_reservation.web" || dr.Address() != "meridian_dr_policy.checkout" || st.CostTagPolicies[0].Address() != "meridian_cost_tag_policy.finance" {
		t.Errorf("addresses: %s %s %s", c.Address(), dr.Address(), st.CostTagPolicies[0].Address())
	}
	// The default tags of the pair and of its DR policy come from the
	// policy the pair names, and their graphs pass the policy.
	g, err := st.Graph()
	if err != nil {
		t.Fatal(err)
	}
	// Every resource deploys, named after its type and name (a pair by its name).
	prefixes := map[string]int{}
	for _, p := range g.Primitives {
		prefixes[strings.SplitN(p.Name, Separator, 2)[0]]++
	}
	for _, want := range []string{"checkout", "meridian_dr_policy.checkout", "meridian_capacity_reservation.checkout-web", "meridian_cost_tag_policy.finance"} {
		if prefixes[want] == 0 {
			t.Errorf("no primitives of %s in the stack's graph: %v", want, prefixes)
		}
	}
	for _, p := range g.Primitives {
		governed := strings.HasPrefix(p.Name, "checkout/") || strings.HasPrefix(p.Name, "meridian_dr_policy.checkout/")
		if governed && p.Tags != nil && p.Tags["owner"] != "finops" {
			t.Errorf("%s lacks the policy's default tag: %v", p.Name, p.Tags)
		}
	}
	c.CSVFile = filepath.Base(c.CSVFile) // the golden file holds no machine's path
	summary := map[string]any{
		"cost_tag_policy": st.CostTagPolicies[0].Blueprint, "policy": st.CostTagPolicies[0].PolicyJSON(),
		"dr_policy": dr.Blueprint, "dr_primitives": len(dr.Graph.Primitives), "estimated_rto": dr.Runbook.Estimate,
		"capacity": c.Blueprint, "csv_file": c.CSVFile,
	}
	b, _ := json.MarshalIndent(summary, "", "  ")
	golden(t, "full.golden.json", string(b)+"\n")

	out, diags := st.OutputValues()
	if diags.HasErrors() {
		t.Fatal(FormatDiagnostics(diags))
	}
	if out["runbook"] != dr.Runbook.Markdown("checkout") || !strings.Contains(out["runbook"], "| 1 | `aws_dynamodb_table.kv` |") {
		t.Errorf("runbook output:\n%s", out["runbook"])
	}
}

// A pair that breaks the policy it names reads, but does not compile: up
// and preview stop, and meridian cost reports the violations.
func TestPairBreaksItsTagPolicy(t *testing.T) {
	src := `resource "meridian_cost_tag_policy" "t" {
  name          = "f"
  required_tags = ["team"]
}
resource "meridian_region_pair" "p" {
  name             = "pay"
  primary_region   = "us-east-1"
  secondary_region = "us-west-2"
  cost_tag_policy  = meridian_cost_tag_policy.t.policy
  kv_table {
    hash_key = "k"
  }
}
`
	st, diags := Parse(map[string][]byte{"s.tf": []byte(src)}, nil)
	if diags.HasErrors() {
		t.Fatal(FormatDiagnostics(diags))
	}
	if _, err := st.Graph(); err == nil || !strings.Contains(err.Error(), `required tag "team" is not set`) {
		t.Errorf("graph: %v", err)
	}
	graphs, diags := st.TagGraphs()
	if diags.HasErrors() || len(graphs) != 1 || graphs[0].Resource != "meridian_region_pair.p" || len(graphs[0].Graph.Primitives) != 3 {
		t.Fatalf("tag graphs: %+v\n%s", graphs, FormatDiagnostics(diags))
	}
}

func TestCapacityPlanFromCSV(t *testing.T) {
	st, diags := LoadDir("testdata/full", nil)
	if diags.HasErrors() {
		t.Fatal(FormatDiagnostics(diags))
	}
	bp, p, diags := st.CapacityReservations[0].Plan()
	if diags.HasErrors() {
		t.Fatal(FormatDiagnostics(diags))
	}
	if len(bp.Demand.Values) != 336 || bp.Demand.Start != "2026-10-01T00:00:00Z" {
		t.Errorf("history: %d values from %q", len(bp.Demand.Values), bp.Demand.Start)
	}
	if p.Primary.Reserved == 0 || p.Secondary.Reserved != p.Primary.Reserved || p.MonthlyCost >= p.AllOnDemand {
		t.Errorf("plan: %s", p.Table())
	}
	g, diags := st.CapacityReservations[0].Graph(st.DefaultTags)
	if diags.HasErrors() || len(g.Primitives) == 0 {
		t.Fatalf("graph: %d primitives\n%s", len(g.Primitives), FormatDiagnostics(diags))
	}
}

func TestResourceDiagnostics(t *testing.T) {
	const pair = `resource "meridian_region_pair" "p" {
  name             = "pay"
  primary_region   = "us-east-1"
  secondary_region = "us-west-2"
  kv_table {
    hash_key = "k"
  }
}
`
	dr := func(body string) string {
		return pair + "resource \"meridian_dr_policy\" \"d\" {\n  name        = \"pay\"\n  region_pair = meridian_region_pair.p.spec\n" + body + "\n}\n"
	}
	capacity := func(body string) string {
		return "resource \"meridian_capacity_reservation\" \"c\" {\n  name = \"web\"\n  primary_region = \"us-east-1\"\n  secondary_region = \"us-west-2\"\n  instance_types = [\"m5.large\"]\n  image_id = \"ami-1\"\n" + body + "\n}\n"
	}
	cases := []struct {
		name, src string
		want      []string
	}{
		{"dr: missing rto", dr(`  rpo = "15m"`), []string{"stack.tf:9,", "Missing required argument", `"rto" is required`}},
		{"dr: rpo without a unit", dr("  rpo = \"15\"\n  rto = \"1h\""), []string{"stack.tf:12,", "Invalid RPO", "meridian_dr_policy.d: rpo:", "has no unit"}},
		{"dr: schedule looser than the rpo", strings.Replace(dr("  rpo = \"10m\"\n  rto = \"1h\"\n  backup {\n    schedule = \"rate(1 hour)\"\n  }"), "kv_table {\n    hash_key = \"k\"", "object_store {\n    bucket_prefix = \"acme-pay\"", 1), []string{"stack.tf:15,", "Backup schedule looser than the RPO", "meridian_dr_policy.d: backup.schedule"}},
		{"dr: rto shorter than the restore", dr("  rpo = \"15m\"\n  rto = \"5m\""), []string{"stack.tf:13,", "RTO shorter than the estimated restore time", "meridian_dr_policy.d: rto"}},
		{"dr: restore order", dr("  rpo = \"15m\"\n  rto = \"4h\"\n  restore_order = [\"aws_dynamodb_table_replica.kv\"]"), []string{"Invalid restore order", "would be restored before"}},
		{"dr: region_pair not a spec", pair + "resource \"meridian_dr_policy\" \"d\" {\n  name = \"x\"\n  region_pair = \"pay\"\n  rpo = \"15m\"\n  rto = \"1h\"\n}\n", []string{"stack.tf:11,", "Invalid region pair", "meridian_region_pair.NAME.spec"}},
		{"dr: pair not declared", "resource \"meridian_dr_policy\" \"d\" {\n  name = \"x\"\n  region_pair = meridian_region_pair.nope.spec\n  rpo = \"15m\"\n  rto = \"1h\"\n}\n", []string{"stack.tf:3,", "meridian_dr_policy.d: region_pair", `"nope"`}},
		{"dr: unknown attribute in backup", dr("  rpo = \"15m\"\n  rto = \"1h\"\n  backup {\n    vault = \"x\"\n  }"), []string{"stack.tf:15,", "Unsupported argument", "vault"}},
		{"tag policy: both values and pattern", "resource \"meridian_cost_tag_policy\" \"t\" {\n  name = \"f\"\n  allowed_values = { env = { values = [\"a\"], pattern = \"b\" } }\n}\n", []string{"stack.tf:3,", "Ambiguous allowed values", "meridian_cost_tag_policy.t: allowed_values"}},
		{"tag policy: key case", "resource \"meridian_cost_tag_policy\" \"t\" {\n  name = \"f\"\n  key_case = \"SHOUT\"\n}\n", []string{"stack.tf:3,", "Invalid key case"}},
		{"tag policy: wrong type", "resource \"meridian_cost_tag_policy\" \"t\" {\n  name = \"f\"\n  required_tags = \"cost-centre\"\n}\n", []string{"stack.tf:3,", "meridian_cost_tag_policy.t: required_tags: list of string required"}},
		{"tag policy: exemption without a reason", "resource \"meridian_cost_tag_policy\" \"t\" {\n  name = \"f\"\n  exemptions = { aws_route53_record = \" \" }\n}\n", []string{"stack.tf:3,", "Exemption without a reason"}},
		{"tag policy: enforcement without a target", "resource \"meridian_cost_tag_policy\" \"t\" {\n  name = \"f\"\n  enforce_in_cloud {\n  }\n}\n", []string{"stack.tf:3,", "Missing enforcement target"}},
		{"pair: cost_tag_policy not a policy", strings.Replace(pair, "  kv_table", "  cost_tag_policy = \"finance\"\n  kv_table", 1), []string{"stack.tf:5,", "Invalid cost tag policy", "meridian_region_pair.p: cost_tag_policy"}},
		{"capacity: no demand", capacity(""), []string{"stack.tf:1,", "Missing demand", "meridian_capacity_reservation.c"}},
		{"capacity: two histories", capacity("  demand {\n    values = [1, 2]\n    csv_file = \"d.csv\"\n  }"), []string{"stack.tf:7,", "Two histories"}},
		{"capacity: no history", capacity("  demand {\n    step = \"1h\"\n  }"), []string{"stack.tf:7,", "Missing demand history"}},
		{"capacity: batch out of range", capacity("  batch = 1.5\n  demand {\n    values = [1]\n  }"), []string{"stack.tf:7,", "Invalid batch share", "meridian_capacity_reservation.c: batch"}},
		{"capacity: interval out of range", capacity("  interval = 1.5\n  demand {\n    values = [1]\n  }"), []string{"stack.tf:7,", "Invalid interval", "meridian_capacity_reservation.c: interval"}},
		{"capacity: coverage below the rto", capacity("  rto = \"30m\"\n  failover_coverage = 0.5\n  demand {\n    values = [1]\n  }"), []string{"stack.tf:8,", "Failover coverage below what the RTO needs"}},
		{"capacity: unknown type", capacity("  demand {\n    values = [1]\n  }\n  instance_typo = 1"), []string{"stack.tf:10,", "Unsupported argument", "instance_typo"}},
		{"capacity: no price", strings.Replace(capacity("  demand {\n    values = [1]\n  }"), "m5.large", "m5.24xlarge", 1), []string{"stack.tf:5,", "No price for instance type"}},
		{"capacity: bad season", capacity("  demand {\n    values = [1]\n    season = \"5h\"\n    step = \"2h\"\n  }"), []string{"stack.tf:9,", "Season not a whole number of steps", "demand.season"}},
		{"capacity: split in clusters that are not there", capacity("  kubernetes {\n    namespace = \"batch\"\n  }\n  demand {\n    values = [1]\n  }"), []string{"stack.tf:7,", "No cluster for the region", "meridian_capacity_reservation.c: the split is enforced in us-east-1"}},
		{"unsupported resource", "resource \"meridian_dr_drill\" \"x\" {}\n", []string{"stack.tf:1,", "Unsupported resource type", "meridian_dr_policy", "meridian_capacity_reservation"}},
		{"duplicate", "resource \"meridian_cost_tag_policy\" \"t\" {\n  name = \"f\"\n}\nresource \"meridian_cost_tag_policy\" \"t\" {\n  name = \"g\"\n}\n", []string{"stack.tf:4,", "Duplicate resource", "meridian_cost_tag_policy.t"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, diags := Parse(map[string][]byte{"stack.tf": []byte(c.src)}, nil)
			if !diags.HasErrors() {
				t.Fatalf("no error for:\n%s", c.src)
			}
			out := FormatDiagnostics(diags)
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("diagnostics lack %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestCapacityResolveErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := "resource \"meridian_capacity_reservation\" \"c\" {\n  name = \"web\"\n  primary_region = \"us-east-1\"\n  secondary_region = \"us-west-2\"\n  instance_types = [\"m5.large\"]\n  image_id = \"ami-1\"\n%s\n}\n"
	cases := []struct{ name, body, want string }{
		{"missing file", "  demand {\n    csv_file = \"nope.csv\"\n  }", "stack.tf:8,.*Cannot read demand history"},
		{"step mismatch", "  demand {\n    csv_file = \"two.csv\"\n  }", "Step does not match the history"},
		{"cloudwatch window", "  demand {\n    cloudwatch {\n      namespace = \"AWS/EC2\"\n    }\n  }", "Invalid time"},
		{"cloudwatch without AWS", "  demand {\n    cloudwatch {\n      namespace = \"AWS/EC2\"\n      metric_name = \"CPUUtilization\"\n      start_time = \"2026-01-01T00:00:00Z\"\n      end_time = \"2026-01-03T00:00:00Z\"\n    }\n  }", "stack.tf:8,.*No AWS configured"},
		{"too little history", "  demand {\n    values = [1, 2, 3]\n  }", "Too little demand history"},
		{"price table", "  price_table = \"prices.json\"\n  demand {\n    values = [1]\n  }", "Cannot read price table"},
	}
	write("two.csv", "2026-01-01T00:00:00Z,1\n2026-01-01T00:30:00Z,2\n")
	write("prices.json", "{}")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			write("stack.tf", strings.Replace(base, "%s", c.body, 1))
			st, diags := LoadDir(dir, nil)
			if diags.HasErrors() {
				t.Fatal(FormatDiagnostics(diags))
			}
			_, _, diags = st.CapacityReservations[0].Plan()
			out := FormatDiagnostics(diags)
			parts := strings.Split(c.want, ".*")
			if !diags.HasErrors() || !strings.Contains(out, parts[len(parts)-1]) || !strings.Contains(out, "meridian_capacity_reservation.c") {
				t.Errorf("want %q, got:\n%s", c.want, out)
			}
			if len(parts) > 1 && !strings.Contains(out, parts[0]) {
				t.Errorf("want %q at %q, got:\n%s", parts[1], parts[0], out)
			}
		})
	}
}

// The CLI's capacity flags and the stack agree on the defaults the
// provider's schema gives.
func TestDRPolicyDefaults(t *testing.T) {
	src := `resource "meridian_region_pair" "p" {
  name             = "pay"
  primary_region   = "us-east-1"
  secondary_region = "us-west-2"
  kv_table {
    hash_key = "k"
  }
}
resource "meridian_dr_policy" "d" {
  name        = "pay"
  region_pair = meridian_region_pair.p.spec
  rpo         = "15m"
  rto         = "4h"
  backup {
    retention_days = 7
  }
}
`
	st, diags := Parse(map[string][]byte{"s.tf": []byte(src)}, nil)
	if diags.HasErrors() {
		t.Fatal(FormatDiagnostics(diags))
	}
	got := st.DRPolicies[0].Blueprint
	if !got.Backup.CrossRegionCopy || got.Drill.MaxDeviationPercent != DefaultDrillDeviation || got.Backup.RetentionDays != 7 {
		t.Errorf("defaults: %+v", got)
	}
	want := blueprint.DRPolicy{Name: "pay", RPO: "15m", RTO: "4h", RegionPair: st.RegionPairs[0].Blueprint,
		Backup: blueprint.Backup{RetentionDays: 7, CrossRegionCopy: true}, Drill: blueprint.Drill{MaxDeviationPercent: 20}}
	if jsonOf(got) != jsonOf(want) {
		t.Errorf("got %s\nwant %s", jsonOf(got), jsonOf(want))
	}
}

// A stack directory that terraform has initialised still loads: the lock
// file is not a stack file.
func TestLoadDirSkipsHiddenFiles(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile("testdata/two_pairs.tf")
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"main.tf":             string(src),
		".terraform.lock.hcl": "provider \"registry.terraform.io/meridianhq/meridian\" {\n  version = \"0.1.0\"\n}\n",
		"main.tf~":            "not hcl {",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	st, diags := LoadDir(dir, nil)
	if diags.HasErrors() {
		t.Fatal(FormatDiagnostics(diags))
	}
	if len(st.RegionPairs) != 2 {
		t.Errorf("%d pairs", len(st.RegionPairs))
	}
}
