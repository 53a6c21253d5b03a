package main_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestTagPolicyViolationsInPreview is issue 13 item 8: preview and up
// reported a tag policy violation without file:line, naming the resource
// meridian_region_pair.<name attribute>; meridian cost named it by its
// label. Now the three agree: the block's address, at the line of its tags,
// before any cloud call (AWS_ENDPOINT_URL counts them).
func TestTagPolicyViolationsInPreview(t *testing.T) {
	dir := platformStack(t)
	main := filepath.Join(dir, "main.tf")
	// The block's label differs from its name attribute.
	edit(t, main, `resource "meridian_region_pair" "checkout" {`, `resource "meridian_region_pair" "shop" {`)
	for strings.Contains(readFile(t, main), "meridian_region_pair.checkout") {
		edit(t, main, "meridian_region_pair.checkout", "meridian_region_pair.shop")
	}
	edit(t, main, `  tags = { service = "checkout" }`, `  tags = { service = "nope" }`)
	endpoint, calls := countingEndpoint(t, "")
	c := newCLI(t, dir, noWayOut(endpoint)...)
	c.must("stack", "init", "dev")
	line := lineOf(t, main, `  tags = { service = "nope" }`)
	want := regexp.MustCompile(`main\.tf:` + line + `,\d+: error: Cost tag policy violation: meridian_region_pair\.shop: Tag value not allowed: service = "nope"`)
	for _, args := range [][]string{{"preview"}, {"up", "--yes"}} {
		r := c.run(args...)
		if r.code != 1 || !want.MatchString(r.stderr) || strings.Contains(r.stderr, "meridian_region_pair.checkout") {
			t.Errorf("meridian %s: exit %d, want the violation at main.tf:%s named by the label:\n%s", args[0], r.code, line, r.stderr)
		}
	}
	r := c.run("cost")
	if !strings.Contains(r.stdout, "meridian_region_pair.shop") {
		t.Errorf("cost names the pair otherwise:\n%s", r.stdout)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("a plan that breaks its tag policy made %d cloud requests", n)
	}
}

// TestKeyConflictWithoutPolicyWarns: cost_center in the provider's
// default_tags and cost-center on a pair with no tag policy is a warning in
// preview (at the pair's tags), not silence; under a policy it is an error.
func TestKeyConflictWithoutPolicyWarns(t *testing.T) {
	m := startMoto(t)
	dir := t.TempDir()
	writeStack(t, dir, "kc", 1, 4)
	edit(t, filepath.Join(dir, "stack.tf"), `tags = { service = "kc-00" }`, `tags = { service = "kc-00", cost_centre = "x" }`)
	c := newCLI(t, dir)
	c.must("stack", "init", "dev")
	r := c.must("preview", "--var", "aws_endpoint="+m.Endpoint())
	if !regexp.MustCompile(`warning: stack\.tf:\d+,\d+: warning: Tag key conflict: meridian_region_pair\.p00: .*"cost-centre", "cost_centre"`).MatchString(r.stdout) {
		t.Errorf("no key conflict warning:\n%s", r.stdout)
	}
	r = c.must("preview", "--json", "--var", "aws_endpoint="+m.Endpoint())
	if !strings.Contains(r.stdout, `"event":"warning"`) || !strings.Contains(r.stdout, "Tag key conflict") {
		t.Errorf("no key conflict warning event:\n%s", r.stdout)
	}
}

func lineOf(t *testing.T, path, text string) string {
	t.Helper()
	for i, l := range strings.Split(readFile(t, path), "\n") {
		if l == text {
			return strconv.Itoa(i + 1)
		}
	}
	t.Fatalf("%s has no line %q", path, text)
	return ""
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
