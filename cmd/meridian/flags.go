package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/meridianhq/terraform-provider-meridian/internal/stack"
	"github.com/meridianhq/terraform-provider-meridian/sdk"
)

// flags are the options of the commands; each command declares the ones
// it uses (see the with* constants), so a flag it would ignore is an error.
type flags struct {
	dir         string
	stack       string
	state       string
	stateKMSKey string
	vars        []string
	json        bool
	yes         bool
	parallel    int
	targets     []string
	progress    string
	refresh     bool
	expectEmpty bool
}

// Flags a command may take besides the shared ones (--dir, --stack,
// --state, --var).
const (
	withJSON = 1 << iota
	withYes
	withParallel
	withTargets
	withProgress
)

// with declares the flags of which on c.
func (f *flags) with(c *cobra.Command, which int) *cobra.Command {
	fl := c.Flags()
	if which&withJSON != 0 {
		fl.BoolVar(&f.json, "json", false, "print one JSON object per line (the last one a summary; errors too)")
	}
	if which&withYes != 0 {
		fl.BoolVarP(&f.yes, "yes", "y", false, "do not ask for confirmation")
	}
	if which&withParallel != 0 {
		fl.IntVarP(&f.parallel, "parallel", "p", 0, "cloud calls in flight, at least 1 (default: the provider block's parallelism, else 10)")
	}
	if which&withTargets != 0 {
		fl.StringArrayVarP(&f.targets, "target", "t", nil, "limit the run to a resource (its address, such as meridian_dr_policy.LABEL; a pair's name; or PREFIX/primitive), what it depends on and, for deletes, what depends on it (repeatable; a target that matches nothing is an error)")
	}
	if which&withProgress != 0 {
		fl.StringVar(&f.progress, "progress", "auto", "how progress shows: tree (redrawn in place), plain (a line per step) or auto (tree on a terminal)")
	}
	return c
}

func (f *flags) stateLocation() string {
	if f.state != "" {
		return f.state
	}
	return filepath.Join(f.dir, sdk.DefaultState)
}

func (f *flags) currentFile() string { return filepath.Join(f.dir, ".meridian", "current") }

// stackName is --stack, else the selected stack.
func (f *flags) stackName() (string, error) {
	if f.stack != "" {
		return f.stack, nil
	}
	b, err := os.ReadFile(f.currentFile())
	if errors.Is(err, os.ErrNotExist) {
		return "", errors.New("no stack selected: run `meridian stack init NAME` or pass --stack NAME")
	}
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

func (f *flags) varMap() (map[string]string, error) {
	out := map[string]string{}
	for _, v := range f.vars {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--var %q: expected name=value", v)
		}
		out[k] = val
	}
	return out, nil
}

// loadStack parses the stack files; needStack=false tolerates their absence
// (stack commands on a local state need no files).
func (f *flags) loadStack(needStack bool) (*stack.Stack, error) {
	vars, err := f.varMap()
	if err != nil {
		return nil, err
	}
	st, diags := stack.LoadDir(f.dir, vars)
	if diags.HasErrors() {
		if !needStack && st == nil {
			return &stack.Stack{}, nil
		}
		return nil, fmt.Errorf("the stack has errors:\n%s", strings.TrimRight(stack.FormatDiagnostics(diags), "\n"))
	}
	return st, nil
}
