package main_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
	"github.com/meridianhq/terraform-provider-meridian/internal/stack"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed/strict"
)

// The parity tests run one table of declarations through terraform (the
// provider, installed from a local mirror as a user installs it) and
// through the CLI, and require the same answer from both: the same errors
// (summary and line) for a broken declaration, the same primitives for a
// valid one. Both sides call the application layer (internal/deploy); a
// rule or a look-up that one side does and the other does not shows here.

// parityHeader is what every fixture starts with: terraform needs the
// required_providers block, the CLI ignores it.
const parityHeader = `terraform {
  required_providers {
    meridian = {
      source  = "meridianhq/meridian"
      version = "0.1.0"
    }
  }
}

variable "aws_endpoint" {
  type = string
}

provider "meridian" {
  aws {
    endpoint                    = var.aws_endpoint
    access_key                  = "test"
    secret_key                  = "test"
    s3_use_path_style           = true
    skip_credentials_validation = true
    emulator                    = true
  }
  default_tags = {
    cost-centre = "cc-1234"
  }
}
`

// parityHeaderLines is how many lines parityHeader takes: fixture lines
// below count from the first line after it.
var parityHeaderLines = strings.Count(parityHeader, "\n")

const parityPair = `resource "meridian_region_pair" "p" {
  name             = "pay"
  primary_region   = "us-east-1"
  secondary_region = "us-west-2"
  object_store {
    bucket_prefix = "parity-pay"
  }
  kv_table {
    hash_key = "k"
  }
}
`

func parityDR(body string) string {
	return parityPair + "resource \"meridian_dr_policy\" \"d\" {\n  name        = \"pay\"\n  region_pair = meridian_region_pair.p.spec\n" + body + "\n}\n"
}

func parityCapacity(body string) string {
	return "resource \"meridian_capacity_reservation\" \"c\" {\n  name             = \"web\"\n  primary_region   = \"us-east-1\"\n  secondary_region = \"us-west-2\"\n  instance_types   = [\"m5.large\"]\n  image_id         = \"ami-1\"\n" + body + "\n}\n"
}

// diagnostic is an error as both sides locate it: the summary and the
// line in main.tf, counted from the end of parityHeader.
type diagnostic struct {
	Summary string
	Line    int
}

func (d diagnostic) String() string { return fmt.Sprintf("line %d: %s", d.Line, d.Summary) }

// TestParityDiagnostics: each broken declaration gives terraform plan and
// meridian preview the same errors at the same lines.
func TestParityDiagnostics(t *testing.T) {
	tf := testbed.RequireTool(t, "terraform")
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 to run it against moto (make test does)")
	}
	// The strict layer serves the EC2 capacity API that the offering
	// look-up needs; its AWS behaviours are not what this test is about.
	endpoint := testbed.StartStrict(t, strict.Options{Off: strict.Behaviours()}).Endpoint()
	var history strings.Builder
	for h := range 72 {
		fmt.Fprintf(&history, "2026-01-%02dT%02d:00:00Z,%d\n", 1+h/24, h%24, 10+h%24)
	}
	files := map[string]string{
		"two.csv":  "2026-01-01T00:00:00Z,1\n2026-01-01T00:30:00Z,2\n",
		"bad.json": "{}",
		"hist.csv": history.String(),
	}
	prices := blueprint.DefaultPrices()
	for _, region := range []string{"us-east-1", "us-west-2"} {
		prices.Prices[region]["hpc6a.48xlarge"] = blueprint.TypePrice{VCPUs: 2, OnDemand: 0.1, Reserved: 0.06, Spot: 0.03}
	}
	raw, _ := json.Marshal(prices)
	files["hpc.json"] = string(raw)

	cases := []struct {
		name, src string
		want      []diagnostic // lines count from the fixture's first line
	}{
		{"pair: one region twice", strings.Replace(parityPair, `"us-west-2"`, `"us-east-1"`, 1), []diagnostic{{"Primary and secondary region are the same", 4}}},
		{"pair: unknown region", strings.Replace(parityPair, `"us-west-2"`, `"us-west-9"`, 1), []diagnostic{{"Unknown region", 4}}},
		{"dr: rpo without a unit", parityDR("  rpo = \"15\"\n  rto = \"1h\""), []diagnostic{{"Invalid RPO", 15}}},
		{"dr: rto shorter than the restore", parityDR("  rpo = \"15m\"\n  rto = \"5m\""), []diagnostic{{"RTO shorter than the estimated restore time", 16}}},
		{"dr: schedule looser than the rpo", parityDR("  rpo = \"10m\"\n  rto = \"1h\"\n  backup {\n    schedule = \"rate(1 hour)\"\n  }"),
			[]diagnostic{{"Backup schedule looser than the RPO", 18}}},
		{"dr: restore order", parityDR("  rpo = \"15m\"\n  rto = \"4h\"\n  restore_order = [\"aws_dynamodb_table_replica.kv\"]"), []diagnostic{{"Invalid restore order", 17}}},
		{"tags: key case", "resource \"meridian_cost_tag_policy\" \"t\" {\n  name     = \"f\"\n  key_case = \"SHOUT\"\n}\n", []diagnostic{{"Invalid key case", 3}}},
		{"tags: exemption without a reason", "resource \"meridian_cost_tag_policy\" \"t\" {\n  name       = \"f\"\n  exemptions = { aws_route53_record = \" \" }\n}\n",
			[]diagnostic{{"Exemption without a reason", 3}}},
		{"capacity: batch out of range", parityCapacity("  batch = 1.5\n  demand {\n    values = [1]\n  }"), []diagnostic{{"Invalid batch share", 7}}},
		{"capacity: bad season", parityCapacity("  demand {\n    values = [1]\n    season = \"5h\"\n    step   = \"2h\"\n  }"), []diagnostic{{"Season not a whole number of steps", 9}}},
		{"capacity: no such file", parityCapacity("  demand {\n    csv_file = \"${path.module}/nope.csv\"\n  }"), []diagnostic{{"Cannot read demand history", 8}}},
		{"capacity: step unlike the file", parityCapacity("  demand {\n    csv_file = \"${path.module}/two.csv\"\n  }"), []diagnostic{{"Step does not match the history", 7}}},
		{"capacity: unreadable price table", parityCapacity("  price_table = \"${path.module}/bad.json\"\n  demand {\n    values = [1]\n  }"), []diagnostic{{"Cannot read price table", 7}}},
		{"capacity: cloudwatch window", parityCapacity("  demand {\n    cloudwatch {\n      namespace   = \"AWS/EC2\"\n      metric_name = \"CPUUtilization\"\n      start_time  = \"yesterday\"\n      end_time    = \"2026-01-03T00:00:00Z\"\n    }\n  }"),
			[]diagnostic{{"Invalid time", 11}}},
		{"capacity: type not offered", strings.Replace(parityCapacity("  price_table = \"${path.module}/hpc.json\"\n  demand {\n    csv_file = \"${path.module}/hist.csv\"\n  }"), `"m5.large"`, `"m5.large", "hpc6a.48xlarge"`, 1),
			[]diagnostic{{"Instance type not offered", 5}, {"Instance type not offered", 5}}}, // one a region
	}

	mirror, cliConfig := installProvider(t)
	tfDir := t.TempDir()
	cliDir := t.TempDir()
	for _, dir := range []string{tfDir, cliDir} {
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	env := parityTerraformEnv(cliConfig)
	if err := os.WriteFile(filepath.Join(tfDir, "main.tf"), []byte(parityHeader), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := terraform(tf, tfDir, env, "init", "-input=false", "-no-color"); err != nil {
		t.Fatalf("terraform init (mirror %s): %v\n%s", mirror, err, out)
	}
	c := newCLI(t, cliDir, "MERIDIAN_STATE=")
	c.must("stack", "init", "dev")

	cases = append(cases, struct {
		name, src string
		want      []diagnostic
	}{"pair: one bucket prefix twice", parityClash, nil})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := parityHeader + tc.src
			for _, dir := range []string{tfDir, cliDir} {
				if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(src), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			out, _ := terraform(tf, tfDir, env, "plan", "-json", "-input=false", "-var", "aws_endpoint="+endpoint)
			fromTerraform := terraformErrors(t, out)
			r := c.run("preview", "--json", "--var", "aws_endpoint="+endpoint)
			fromCLI := cliErrors(t, r)
			if tc.src == parityClash {
				checkClash(t, fromTerraform, fromCLI)
				return
			}
			want := slices.Clone(tc.want)
			slices.SortFunc(want, compareDiagnostics)
			if !slices.Equal(fromTerraform, want) || !slices.Equal(fromCLI, want) {
				t.Errorf("want %v\nterraform plan: %v\nmeridian preview: %v\n(terraform output:\n%s\nmeridian stderr:\n%s)", want, fromTerraform, fromCLI, tail(out, 20), r.stderr)
			}
		})
	}
}

// parityClash is two pairs that claim one bucket prefix. The CLI sees the
// whole stack and reports the clash at both declarations; terraform plans
// resources one at a time, in no fixed order, so the provider reports it
// at whichever comes second. Both must name it alike, at those lines.
var parityClash = parityPair + strings.Replace(strings.Replace(parityPair, `"p"`, `"q"`, 1), `"pay"`, `"pay2"`, 1)

func checkClash(t *testing.T, fromTerraform, fromCLI []diagnostic) {
	t.Helper()
	want := []diagnostic{{compile.ClashSummary, 6}, {compile.ClashSummary, 17}}
	if !slices.Equal(slices.Compact(fromCLI), want) {
		t.Errorf("meridian preview: want %v, got %v", want, fromCLI)
	}
	if len(fromTerraform) == 0 {
		t.Errorf("terraform plan reports no clash")
	}
	for _, d := range fromTerraform {
		if !slices.Contains(want, d) {
			t.Errorf("terraform plan: %v is not one of %v", d, want)
		}
	}
}

func compareDiagnostics(a, b diagnostic) int {
	if a.Line != b.Line {
		return a.Line - b.Line
	}
	return strings.Compare(a.Summary, b.Summary)
}

// terraformErrors reads the error diagnostics of `terraform plan -json`.
func terraformErrors(t *testing.T, out string) []diagnostic {
	t.Helper()
	var ds []diagnostic
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct {
			Type       string `json:"type"`
			Diagnostic struct {
				Severity, Summary string
				Range             *struct {
					Start struct{ Line int }
				}
			} `json:"diagnostic"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil || line.Type != "diagnostic" || line.Diagnostic.Severity != "error" {
			continue
		}
		d := diagnostic{Summary: line.Diagnostic.Summary, Line: -1}
		if line.Diagnostic.Range != nil {
			d.Line = line.Diagnostic.Range.Start.Line - parityHeaderLines
		}
		ds = append(ds, d)
	}
	slices.SortFunc(ds, compareDiagnostics)
	return ds
}

// cliDiagnostic is one "file:line,col: error: Summary: detail" line of
// the CLI's errors (stack.FormatDiagnostics).
var cliDiagnostic = regexp.MustCompile(`(?m)main\.tf:(\d+),\d+(?:-\d+)?: error: ([^:]+):`)

// cliErrors reads the errors of `meridian preview --json`: its summary
// event's error.
func cliErrors(t *testing.T, r result) []diagnostic {
	t.Helper()
	var ds []diagnostic
	for _, line := range strings.Split(r.stdout, "\n") {
		var ev struct {
			Event, Error string
		}
		if json.Unmarshal([]byte(line), &ev) != nil || ev.Event != "summary" {
			continue
		}
		for _, m := range cliDiagnostic.FindAllStringSubmatch(ev.Error, -1) {
			n, _ := strconv.Atoi(m[1])
			ds = append(ds, diagnostic{Summary: m[2], Line: n - parityHeaderLines})
		}
		if len(ds) == 0 && ev.Error != "" {
			ds = append(ds, diagnostic{Summary: ev.Error, Line: -1}) // not located: shown whole
		}
	}
	slices.SortFunc(ds, compareDiagnostics)
	return ds
}

// TestParityPrimitives: a valid declaration compiles to the same
// primitives, applied by terraform and by meridian up.
func TestParityPrimitives(t *testing.T) {
	tf := testbed.RequireTool(t, "terraform")
	m := startMoto(t)
	mirror, cliConfig := installProvider(t)
	src := parityHeader + parityDR("  rpo = \"1h\"\n  rto = \"4h\"") + `resource "meridian_cost_tag_policy" "t" {
  name          = "finance"
  required_tags = ["cost-centre"]
}
`
	tfDir, cliDir := t.TempDir(), t.TempDir()
	for _, dir := range []string{tfDir, cliDir} {
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := parityTerraformEnv(cliConfig)
	vars := []string{"-var", "aws_endpoint=" + m.Endpoint()}
	for _, args := range [][]string{{"init", "-input=false", "-no-color"}, append([]string{"apply", "-auto-approve", "-input=false", "-no-color"}, vars...)} {
		if out, err := terraform(tf, tfDir, env, args...); err != nil {
			t.Fatalf("terraform %s (mirror %s): %v\n%s", args[0], mirror, err, tail(out, 30))
		}
	}
	out, err := terraform(tf, tfDir, env, "show", "-json")
	if err != nil {
		t.Fatalf("terraform show: %v\n%s", err, out)
	}
	var shown struct {
		Values struct {
			RootModule struct {
				Resources []struct {
					Type   string
					Values struct {
						Primitives []struct{ Name, Type, Region string }
					}
				}
			} `json:"root_module"`
		}
	}
	if err := json.Unmarshal([]byte(out), &shown); err != nil {
		t.Fatalf("terraform show -json: %v", err)
	}
	var fromTerraform []string
	for _, r := range shown.Values.RootModule.Resources {
		for _, p := range r.Values.Primitives {
			fromTerraform = append(fromTerraform, fmt.Sprintf("%s %s %s %s", r.Type, p.Type, p.Name, p.Region))
		}
	}
	if out, err := terraform(tf, tfDir, env, append([]string{"destroy", "-auto-approve", "-input=false", "-no-color"}, vars...)...); err != nil {
		t.Fatalf("terraform destroy: %v\n%s", err, tail(out, 30))
	}

	// moto keeps a deleted Backup plan's name (TESTBED.md): start afresh.
	if err := m.Reset(); err != nil {
		t.Fatal(err)
	}
	c := newCLI(t, cliDir, "MERIDIAN_STATE=")
	endpoint := "--var=aws_endpoint=" + m.Endpoint()
	c.must("stack", "init", "dev", endpoint)
	c.must("up", "--yes", endpoint)
	raw, err := os.ReadFile(filepath.Join(cliDir, ".meridian", "stacks", "dev.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Records []struct{ Name, Type, Region string }
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var fromCLI []string
	for _, r := range doc.Records {
		// A pair's primitives are named "pay/...", another resource's "meridian_dr_policy.pay/...".
		prefix, name, _ := strings.Cut(r.Name, stack.Separator)
		typ, _, ok := strings.Cut(prefix, ".")
		if !ok {
			typ = stack.ResourceType
		}
		fromCLI = append(fromCLI, fmt.Sprintf("%s %s %s %s", typ, r.Type, name, r.Region))
	}
	c.must("destroy", "--yes", endpoint)
	slices.Sort(fromTerraform)
	slices.Sort(fromCLI)
	if len(fromTerraform) < 10 || !slices.Equal(fromTerraform, fromCLI) {
		t.Errorf("primitives differ:\nterraform (%d):\n  %s\nmeridian (%d):\n  %s", len(fromTerraform), strings.Join(fromTerraform, "\n  "), len(fromCLI), strings.Join(fromCLI, "\n  "))
	}
}

// installProvider builds the provider into a filesystem mirror and writes
// a terraform CLI config that installs it from there.
func installProvider(t *testing.T) (mirror, cliConfig string) {
	t.Helper()
	tmp := t.TempDir()
	mirror = filepath.Join(tmp, "mirror")
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if err := testbed.InstallProvider(root, mirror); err != nil {
		t.Fatal(err)
	}
	cliConfig = filepath.Join(tmp, "terraformrc")
	if err := testbed.WriteCLIConfig(cliConfig, mirror); err != nil {
		t.Fatal(err)
	}
	return mirror, cliConfig
}

func parityTerraformEnv(cliConfig string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "TF_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "TF_CLI_CONFIG_FILE="+cliConfig, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1", "TF_INPUT=0")
}

func terraform(tf, dir string, env []string, args ...string) (string, error) {
	cmd := exec.Command(tf, args...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestParityImport: one region pair, deployed by a stack, is imported by
// terraform import and by meridian import into a second stack. Both read
// the manifest the pair keeps, and must recover the same declaration and
// the same records (primitive, type, id, region); terraform's next plan,
// over the declaration the pair was deployed from, must be empty.
func TestParityImport(t *testing.T) {
	tf := testbed.RequireTool(t, "terraform")
	m := startMoto(t)
	_, cliConfig := installProvider(t)
	src := parityHeader + parityPair
	deployDir, tfDir, cliDir := t.TempDir(), t.TempDir(), t.TempDir()
	for _, dir := range []string{deployDir, tfDir, cliDir} {
		if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	endpoint := "--var=aws_endpoint=" + m.Endpoint()
	deployed := newCLI(t, deployDir, "MERIDIAN_STATE=")
	deployed.must("stack", "init", "dev", endpoint)
	deployed.must("up", "--yes", endpoint)

	env := parityTerraformEnv(cliConfig)
	vars := []string{"-var", "aws_endpoint=" + m.Endpoint()}
	for _, args := range [][]string{
		{"init", "-input=false", "-no-color"},
		append([]string{"import", "-input=false", "-no-color"}, append(vars, "meridian_region_pair.p", "us-east-1/pay")...),
	} {
		if out, err := terraform(tf, tfDir, env, args...); err != nil {
			t.Fatalf("terraform %s: %v\n%s", args[0], err, tail(out, 30))
		}
	}
	if out, err := terraform(tf, tfDir, env, append([]string{"plan", "-detailed-exitcode", "-input=false", "-no-color"}, vars...)...); err != nil {
		t.Errorf("terraform plan after import is not empty (%v):\n%s", err, tail(out, 40))
	}
	out, err := terraform(tf, tfDir, env, "show", "-json")
	if err != nil {
		t.Fatalf("terraform show: %v\n%s", err, out)
	}
	var shown struct {
		Values struct {
			RootModule struct {
				Resources []struct {
					Address string
					Values  map[string]any
				}
			} `json:"root_module"`
		}
	}
	if err := json.Unmarshal([]byte(out), &shown); err != nil || len(shown.Values.RootModule.Resources) != 1 {
		t.Fatalf("terraform show -json: %v, %d resources", err, len(shown.Values.RootModule.Resources))
	}
	values := shown.Values.RootModule.Resources[0].Values
	tfPair := pairFromValues(t, values)
	var tfRecords []string
	prims, _ := values["primitives"].([]any)
	for _, p := range prims {
		p := p.(map[string]any)
		tfRecords = append(tfRecords, fmt.Sprintf("%s %s %s %s", p["name"], p["type"], p["id"], p["region"]))
	}

	imported := newCLI(t, cliDir, "MERIDIAN_STATE=")
	imported.must("stack", "init", "copy", endpoint)
	r := imported.must("import", "us-east-1/pay", "--json", endpoint)
	var cliPair blueprint.RegionPair
	for line := range strings.Lines(r.stdout) {
		var ev struct {
			Event     string
			Blueprint json.RawMessage
		}
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Event == "imported" {
			if err := json.Unmarshal(ev.Blueprint, &cliPair); err != nil {
				t.Fatal(err)
			}
		}
	}
	raw, err := os.ReadFile(filepath.Join(cliDir, ".meridian", "stacks", "copy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Records []struct{ Name, Type, ID, Region string }
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var cliRecords []string
	for _, rec := range doc.Records {
		_, name, _ := strings.Cut(rec.Name, stack.Separator)
		cliRecords = append(cliRecords, fmt.Sprintf("%s %s %s %s", name, rec.Type, rec.ID, rec.Region))
	}
	// A pair that is not there: both refuse it for the same reason, and
	// neither records anything.
	const absent = "no meridian manifest /meridian/region_pair/absent in us-east-1"
	q := strings.NewReplacer(`"p"`, `"q"`, `"pay"`, `"absent"`, "parity-pay", "parity-absent").Replace(parityPair)
	if err := os.WriteFile(filepath.Join(tfDir, "main.tf"), []byte(src+q), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = terraform(tf, tfDir, env, append([]string{"import", "-input=false", "-no-color"}, append(vars, "meridian_region_pair.q", "us-east-1/absent")...)...)
	if err == nil || !strings.Contains(strings.Join(strings.Fields(out), " "), absent) {
		t.Errorf("terraform import of an absent pair: %v\n%s", err, tail(out, 20))
	}
	if r := imported.run("import", "us-east-1/absent", endpoint); r.code == 0 || !strings.Contains(r.stderr, absent) {
		t.Errorf("meridian import of an absent pair: exit %d\n%s", r.code, r.stderr)
	}
	deployed.must("destroy", "--yes", endpoint)

	if cliPair.Name != "pay" || !reflect.DeepEqual(tfPair, cliPair) {
		a, _ := json.Marshal(tfPair)
		b, _ := json.Marshal(cliPair)
		t.Errorf("declarations differ:\nterraform: %s\nmeridian:  %s", a, b)
	}
	slices.Sort(tfRecords)
	slices.Sort(cliRecords)
	if len(tfRecords) < 8 || !slices.Equal(tfRecords, cliRecords) {
		t.Errorf("records differ:\nterraform (%d):\n  %s\nmeridian (%d):\n  %s", len(tfRecords), strings.Join(tfRecords, "\n  "), len(cliRecords), strings.Join(cliRecords, "\n  "))
	}
}

// pairFromValues reads a region pair from its terraform state values: the
// schema's names are the blueprint's, and a block is held as a list of one
// or as an object.
func pairFromValues(t *testing.T, values map[string]any) blueprint.RegionPair {
	t.Helper()
	flat := map[string]any{}
	for k, v := range values {
		if list, ok := v.([]any); ok && k != "primitives" {
			if len(list) == 0 {
				continue
			}
			v = list[0]
		}
		flat[k] = v
	}
	raw, err := json.Marshal(flat)
	if err != nil {
		t.Fatal(err)
	}
	var rp blueprint.RegionPair
	if err := json.Unmarshal(raw, &rp); err != nil {
		t.Fatalf("state values as a blueprint: %v\n%s", err, raw)
	}
	return rp
}
