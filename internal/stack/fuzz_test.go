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
	for _, dir := range []string{"testdata", "../../examples/quickstart", "../../examples/stacks"} {
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
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		st, diags := Parse(map[string][]byte{"fuzz.tf": src}, map[string]string{})
		_ = FormatDiagnostics(diags)
		if !diags.HasErrors() && st != nil {
			_, _ = st.Graph()
		}
	})
}
