package stack

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// FuzzParse proves that no input makes the parser or the compiler panic:
// whatever the bytes, the answer is a stack or diagnostics.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"testdata", "testdata/full", "../../examples/quickstart", "../../examples/stacks", "../../examples/stacks/pairs", "../../examples/stacks/platform"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.tf"))
		for _, name := range files {
			if b, err := os.ReadFile(name); err == nil {
				f.Add(b)
			}
		}
	}
	for _, s := range []string{
		``,
		`resource "meridian_region_pair" "x" {}`,
		`resource "meridian_region_pair" "x" { name = 1e400 }`,
		`resource "meridian_region_pair" "x" { dns { ttl = -99999999999999 health_check { port = "x" } } }`,
		`provider "meridian" { aws { endpoints = { s3 = null } } default_tags = { a = null } }`,
		`variable "v" { default = { a = [1, 2] } }` + "\n" + `resource "meridian_region_pair" "x" { name = var.v }`,
		`resource "meridian_region_pair" "x" { tags = { for k in [1] : k => k } }`,
		"resource \"meridian_region_pair\" \"x\" {\n name = <<EOT\nabc\nEOT\n}",
		`output "o" { value = meridian_region_pair.x.failover_fqdn }`,
		`resource "meridian_region_pair" "x" { name = "${upper("a")}" }`,
		`resource "meridian_cost_tag_policy" "t" { name = "f" allowed_values = { a = { values = [null] } } }`,
		`resource "meridian_cost_tag_policy" "t" { name = "f" allowed_values = { a = {} } key_case = "kebab-case" required_tags = [null] }`,
		`resource "meridian_cost_tag_policy" "t" { name = "f" enforce_in_cloud { target_id = 1 } }` + "\n" + `resource "meridian_region_pair" "p" { name = "abc" primary_region = "us-east-1" secondary_region = "us-west-2" cost_tag_policy = meridian_cost_tag_policy.t.policy kv_table { hash_key = "k" } }`,
		`resource "meridian_region_pair" "p" { name = "abc" primary_region = "us-east-1" secondary_region = "us-west-2" cost_tag_policy = "{\"required_tags\":[\"x\"]}" kv_table { hash_key = "k" } }`,
		`resource "meridian_dr_policy" "d" { name = "x" region_pair = "{}" rpo = "1m" rto = "1h" }`,
		`resource "meridian_dr_policy" "d" { name = "x" region_pair = "{\"name\":\"abc\",\"primary_region\":\"us-east-1\",\"secondary_region\":\"us-west-2\",\"kv_table\":{\"hash_key\":\"k\"}}" rpo = "15m" rto = "4h" restore_order = ["x", null] backup { retention_days = -1 } drill { max_deviation_percent = 1e99 } }`,
		`resource "meridian_region_pair" "p" { name = "abc" primary_region = "us-east-1" secondary_region = "us-west-2" kv_table { hash_key = "k" } }` + "\n" + `resource "meridian_dr_policy" "d" { name = "abc" region_pair = meridian_region_pair.p.spec rpo = "15m" rto = "4h" }` + "\n" + `output "o" { value = meridian_dr_policy.d.runbook_markdown }`,
		`resource "meridian_capacity_reservation" "c" { name = "web" primary_region = "us-east-1" secondary_region = "us-west-2" instance_types = ["m5.large"] image_id = "ami-1" demand { values = [1e400, -1, null] } }`,
		`resource "meridian_capacity_reservation" "c" { name = "web" primary_region = "us-east-1" secondary_region = "us-west-2" instance_types = ["m5.large"] image_id = "ami-1" failover_coverage = null batch = -1e300 demand { csv_file = "${path.module}/d.csv" cloudwatch { dimensions = { a = null } } } }`,
		`resource "meridian_capacity_reservation" "c" { rto = meridian_dr_policy.nope.rto demand {} kubernetes { namespace = "-" } }`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		st, diags := Parse(map[string][]byte{"fuzz.tf": src}, map[string]string{})
		_ = FormatDiagnostics(diags)
		if !diags.HasErrors() && st != nil {
			_, _ = st.Graph()
			_, _ = st.OutputValues()
		}
	})
}
