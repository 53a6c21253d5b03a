// Command meridian deploys HCL stacks with meridian's engine, without
// terraform: preview, up, destroy, refresh and import, with the state in a
// local directory or an S3 bucket; it also plans (capacity, runbook, cost)
// and drills a deployed stack's DR policy (drill).
//
// Exit codes: 0 success, 1 error, 2 usage (an unknown command or flag, wrong
// arguments), 3 the stack is locked by another run, 130 interrupted (Ctrl-C
// or SIGTERM, after a clean stop).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/meridianhq/terraform-provider-meridian/internal/state"
	"github.com/meridianhq/terraform-provider-meridian/internal/version"
)

// Exit codes, as the README lists them.
const (
	exitError       = 1
	exitUsage       = 2
	exitLocked      = 3
	exitInterrupted = 130
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot()
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return
	}
	code := exitError
	var le *state.LockedError
	var ue usageError
	switch {
	case errors.As(err, &le):
		code = exitLocked
	case errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command "):
		code = exitUsage
	case ctx.Err() != nil:
		code = exitInterrupted
	}
	// With --json every line of stdout is JSON, errors included.
	if cmd != nil {
		if j := cmd.Flags().Lookup("json"); j != nil && j.Value.String() == "true" && !summarized.Load() {
			b, _ := json.Marshal(map[string]any{"event": "summary", "operation": strings.TrimPrefix(cmd.CommandPath(), "meridian "),
				"ok": false, "error": err.Error(), "exit_code": code})
			fmt.Fprintln(os.Stdout, string(b))
		}
	}
	if code == exitInterrupted {
		// One line, not one per step the stop cancelled or skipped.
		n := strings.Count(err.Error(), "\n") + 1
		fmt.Fprintf(os.Stderr, "interrupted: stopped cleanly; %d steps were cancelled or not started, and what finished is recorded: run the command again to finish\n", n)
		os.Exit(code)
	}
	fmt.Fprintln(os.Stderr, "error:", err)
	if code == exitUsage && cmd != nil {
		fmt.Fprintf(os.Stderr, "run '%s --help' for usage\n", cmd.CommandPath())
	}
	os.Exit(code)
}

// usageError is a command line the command cannot take: exit code 2.
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

func newRoot() *cobra.Command {
	f := &flags{}
	root := &cobra.Command{
		Use:           "meridian",
		Short:         "Deploy meridian stacks (HCL) with meridian's engine",
		Long:          "Deploy meridian stacks (HCL) with meridian's engine.\n\nExit codes: 0 success, 1 error, 2 usage, 3 the stack is locked, 130 interrupted.",
		Version:       version.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		// Flags are checked before any command runs.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if fl := cmd.Flags().Lookup("parallel"); fl != nil && fl.Changed && f.parallel < 1 {
				return usageError{fmt.Errorf("--parallel %d: must be at least 1", f.parallel)}
			}
			return nil
		},
	}
	root.SetVersionTemplate("meridian {{.Version}}\n")
	p := root.PersistentFlags()
	p.StringVarP(&f.dir, "dir", "C", ".", "directory of the stack files (*.tf, *.hcl)")
	p.StringVarP(&f.stack, "stack", "s", "", "stack to use (default: the selected one, see meridian stack select)")
	p.StringVar(&f.state, "state", os.Getenv("MERIDIAN_STATE"), "where stacks live: a directory or s3://BUCKET/PREFIX (default <dir>/.meridian/stacks; env MERIDIAN_STATE)")
	p.StringVar(&f.stateKMSKey, "state-kms-key", os.Getenv("MERIDIAN_STATE_KMS_KEY"), "KMS key (id, ARN or alias) that encrypts the objects of an s3:// state, SSE-KMS (env MERIDIAN_STATE_KMS_KEY)")
	p.StringArrayVar(&f.vars, "var", nil, "set a variable: --var name=value (repeatable)")
	root.AddCommand(previewCmd(f), upCmd(f), destroyCmd(f), refreshCmd(f), importCmd(f), stackCmd(f))
	root.AddCommand(capacityCmd(f), runbookCmd(f), costCmd(f), drillCmd(f), docCmd(f))
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	usageErrors(root)
	return root
}

// usageErrors makes wrong arguments a usage error (exit 2) in every
// command, and makes an unknown subcommand of a command that only groups
// others (stack) an error with suggestions, as cobra does for the root:
// cobra would print the group's help and exit 0.
func usageErrors(c *cobra.Command) {
	if args := c.Args; args != nil {
		c.Args = func(cmd *cobra.Command, a []string) error {
			if err := args(cmd, a); err != nil {
				return usageError{err}
			}
			return nil
		}
	}
	if c.HasParent() && c.HasSubCommands() && c.Run == nil && c.RunE == nil {
		c.Args = cobra.ArbitraryArgs
		c.SuggestionsMinimumDistance = 2 // cobra's default, which it sets only on the root
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
			}
			var names []string
			for _, sub := range cmd.Commands() {
				if sub.IsAvailableCommand() {
					names = append(names, sub.Name())
				}
			}
			slices.Sort(names)
			return usageError{fmt.Errorf("%s\n\n%s has: %s", msg, cmd.CommandPath(), strings.Join(names, ", "))}
		}
	}
	for _, sub := range c.Commands() {
		usageErrors(sub)
	}
}
