// Command meridian deploys HCL stacks with meridian's engine, without
// terraform: preview, up, destroy, refresh and import, with the state in a
// local directory or an S3 bucket; it also plans (capacity, runbook, cost)
// and drills a deployed stack's DR policy (drill).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/meridianhq/terraform-provider-meridian/internal/state"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := newRoot().ExecuteContext(ctx)
	if err != nil {
		var le *state.LockedError
		if errors.As(err, &le) {
			fmt.Fprintln(os.Stderr, "error:", le.Error())
			os.Exit(3)
		}
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// flags are the options every command shares.
type flags struct {
	dir      string
	stack    string
	state    string
	vars     []string
	json     bool
	yes      bool
	parallel int
	targets  []string
	progress string
}

func newRoot() *cobra.Command {
	f := &flags{}
	root := &cobra.Command{
		Use:           "meridian",
		Short:         "Deploy meridian stacks (HCL) with meridian's engine",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	p := root.PersistentFlags()
	p.StringVarP(&f.dir, "dir", "C", ".", "directory of the stack files (*.tf, *.hcl)")
	p.StringVarP(&f.stack, "stack", "s", "", "stack to use (default: the selected one, see meridian stack select)")
	p.StringVar(&f.state, "state", os.Getenv("MERIDIAN_STATE"), "where stacks live: a directory or s3://BUCKET/PREFIX (default <dir>/.meridian/stacks; env MERIDIAN_STATE)")
	p.StringArrayVar(&f.vars, "var", nil, "set a variable: --var name=value (repeatable)")
	p.BoolVar(&f.json, "json", false, "print one JSON event per line")
	p.StringVar(&f.progress, "progress", "auto", "how up and destroy show progress: tree (redrawn in place), plain (a line per step) or auto (tree on a terminal)")
	p.BoolVarP(&f.yes, "yes", "y", false, "do not ask for confirmation")
	p.IntVarP(&f.parallel, "parallel", "p", 0, "cloud calls in flight (default: the provider block's parallelism, else 10)")
	p.StringArrayVarP(&f.targets, "target", "t", nil, "limit the run to a resource (its address, such as meridian_dr_policy.LABEL; a pair's name; or PREFIX/primitive), what it depends on and, for deletes, what depends on it (repeatable; a target that matches nothing is an error)")
	root.AddCommand(previewCmd(f), upCmd(f), destroyCmd(f), refreshCmd(f), importCmd(f), stackCmd(f))
	root.AddCommand(capacityCmd(f), runbookCmd(f), costCmd(f), drillCmd(f))
	return root
}
