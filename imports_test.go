package main

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/meridianhq/terraform-provider-meridian"

// notProduct are the packages of this module that only tests and developers
// run, so they may use the testbed: the testbed itself (its servers, cluster
// sets and commands) and bench, the main package of `make bench`, which
// starts moto through the testbed to measure the engine against terraform.
// test/ is a module of its own and is not in ./... at all.
var notProduct = []string{module + "/internal/testbed", module + "/bench"}

// TestProductImportsNoTestbed keeps the testbed out of what users run: no
// package built into the provider, the CLI, the SDK or the example programs
// may depend, directly or not, on internal/testbed, nor import "testing".
// Test files are not counted: go list follows only the packages' own
// imports.
//
// "testing" is checked on the module's own product packages, each of which
// is listed here: any of their dependencies inside the module is one of
// them or is under internal/testbed. Outside the module, hashicorp's
// go-plugin (which every provider serves through) imports "testing" for its
// test helpers; that is not ours to change.
func TestProductImportsNoTestbed(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}|{{join .Imports " "}}|{{join .Deps " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	products := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, rest, _ := strings.Cut(line, "|")
		imports, deps, _ := strings.Cut(rest, "|")
		if isNotProduct(pkg) {
			continue
		}
		products++
		var bad []string
		for _, imp := range strings.Fields(imports) {
			if isUnder(imp, "testing") {
				bad = append(bad, imp+" (imported)")
			}
		}
		for _, dep := range strings.Fields(deps) {
			if isUnder(dep, module+"/internal/testbed") {
				bad = append(bad, dep)
			}
		}
		if len(bad) > 0 {
			t.Errorf("%s depends on %s", pkg, strings.Join(bad, ", "))
		}
	}
	// The provider, the CLI, the SDK and the packages under them: fewer
	// means go list found the wrong tree and the test proved nothing.
	if products < 10 {
		t.Fatalf("only %d product packages found:\n%s", products, out)
	}
}

func isNotProduct(pkg string) bool {
	for _, p := range notProduct {
		if isUnder(pkg, p) {
			return true
		}
	}
	return false
}

func isUnder(pkg, root string) bool { return pkg == root || strings.HasPrefix(pkg, root+"/") }
