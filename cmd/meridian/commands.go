package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/meridianhq/terraform-provider-meridian/internal/stack"
	"github.com/meridianhq/terraform-provider-meridian/internal/state"
	"github.com/meridianhq/terraform-provider-meridian/sdk"
)

func previewCmd(f *flags) *cobra.Command {
	c := &cobra.Command{
		Use:   "preview",
		Short: "Show what up would change: counts and each step's property changes",
		Long: `Show what up would change: each resource's steps and their property changes,
then the counts. Nothing is changed and, unless --refresh, no cloud object is
read but the ones a change would touch (taken names, data at risk).

--refresh reads every recorded primitive first and records what the cloud
holds, as meridian refresh does, so the plan shows drift (off by default, as
in pulumi: a preview reads the state, not the cloud).
--expect-no-changes exits 1 when the plan has any change, for CI to gate on drift.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := open(cmd, f, true)
			if err != nil {
				return err
			}
			if err := p.check(cmd.Context()); err != nil {
				return err
			}
			targets, err := p.targets()
			if err != nil {
				return err
			}
			if err := p.refreshFirst(cmd, targets); err != nil {
				return err
			}
			pv, err := p.ws.Preview(cmd.Context(), p.program, targets...)
			if err != nil {
				return p.locate(err)
			}
			p.showPreview(pv)
			if n := len(pv.Plan.Changes()); n > 0 && f.expectEmpty {
				return fmt.Errorf("the plan of stack %s has %d changes (--expect-no-changes)", p.name, n)
			}
			return nil
		},
	}
	f.with(c, withJSON|withParallel|withTargets)
	c.Flags().BoolVar(&f.refresh, "refresh", false, "read the cloud and record drift before planning, as meridian refresh does (default false)")
	c.Flags().BoolVar(&f.expectEmpty, "expect-no-changes", false, "exit 1 if the plan has any change (for CI: drift or an unapplied change)")
	return c
}

func upCmd(f *flags) *cobra.Command {
	c := &cobra.Command{
		Use:   "up",
		Short: "Create, update and delete primitives until the cloud matches the stack",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			p, err := open(cmd, f, true)
			if err != nil {
				return err
			}
			if err := p.check(cmd.Context()); err != nil {
				return err
			}
			targets, err := p.targets()
			if err != nil {
				return err
			}
			if err := p.refreshFirst(cmd, targets); err != nil {
				return err
			}
			// The plan holds the stack's lock until it is applied or
			// closed: what is applied is what was shown and confirmed.
			plan, err := p.ws.Plan(cmd.Context(), p.program, targets...)
			if err != nil {
				return p.planFailed("up", p.locate(err))
			}
			// Unless it is applied, the plan releases the lock, unchanged.
			defer func() { err = errors.Join(err, plan.Close()) }()
			if !f.yes {
				p.showPreview(plan.Preview)
				if len(plan.Plan.Changes()) == 0 {
					return nil
				}
				if err := p.confirm(cmd, "Apply these changes?"); err != nil {
					return err
				}
			}
			outputs := func([]sdk.RegionPair) map[string]string {
				out, _ := p.st.OutputValues()
				return out
			}
			res, err := plan.Apply(cmd.Context(), outputs)
			return p.finish("up", res, p.locate(err))
		},
	}
	f.with(c, withJSON|withYes|withParallel|withTargets|withProgress)
	c.Flags().BoolVar(&f.refresh, "refresh", false, "read the cloud and record drift before planning, as meridian refresh does (default false)")
	return c
}

func destroyCmd(f *flags) *cobra.Command {
	return f.with(&cobra.Command{
		Use:   "destroy",
		Short: "Delete every primitive of the stack, dependents first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			p, err := open(cmd, f, false)
			if err != nil {
				return err
			}
			targets, err := p.targets()
			if err != nil {
				return err
			}
			plan, err := p.ws.PlanDestroy(cmd.Context(), targets...)
			if err != nil {
				return p.planFailed("destroy", err)
			}
			defer func() { err = errors.Join(err, plan.Close()) }()
			if !f.yes {
				p.showPreview(plan.Preview)
				if err := p.confirm(cmd, "Delete these primitives?"); err != nil {
					return err
				}
			}
			res, err := plan.Apply(cmd.Context(), nil)
			return p.finish("destroy", res, err)
		},
	}, withJSON|withYes|withParallel|withTargets|withProgress)
}

func refreshCmd(f *flags) *cobra.Command {
	return f.with(&cobra.Command{
		Use:   "refresh",
		Short: "Read every recorded primitive and record what the cloud holds (drift)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := open(cmd, f, false)
			if err != nil {
				return err
			}
			targets, err := p.targets()
			if err != nil {
				return err
			}
			drifts, warnings, err := p.ws.Refresh(cmd.Context(), targets...)
			p.showDrifts(drifts, warnings, err)
			return err
		},
	}, withJSON|withParallel|withTargets|withProgress)
}

// refreshFirst refreshes the stack before a plan when --refresh is set.
func (p *project) refreshFirst(cmd *cobra.Command, targets []string) error {
	if !p.f.refresh {
		return nil
	}
	drifts, warnings, err := p.ws.Refresh(cmd.Context(), targets...)
	if p.live != nil {
		p.live.stop(err == nil)
		p.live, _ = p.liveDisplay(cmd) // a fresh tree for the run
	}
	for _, d := range drifts {
		p.showDrift(d)
	}
	p.warn(warnings)
	if err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	return nil
}

func (p *project) showDrift(d sdk.Drift) {
	if p.f.json {
		p.emit(map[string]any{"event": "drift", "name": d.Name, "type": d.Type, "region": d.Region, "id": d.ID, "gone": d.Gone, "changes": d.Changes})
	} else {
		p.printf("drift: %s\n", d)
	}
}

// showDrifts prints what a refresh found and its summary: with --json the
// last line is a summary event, as up's.
func (p *project) showDrifts(drifts []sdk.Drift, warnings []string, err error) {
	if p.live != nil {
		p.live.stop(err == nil)
	}
	for _, d := range drifts {
		p.showDrift(d)
	}
	p.warn(warnings)
	took := time.Since(p.start).Round(time.Millisecond)
	if p.f.json {
		m := map[string]any{"event": "summary", "operation": "refresh", "stack": p.name, "drifted": len(drifts), "elapsed_ms": took.Milliseconds(), "ok": err == nil}
		if err != nil {
			m["error"] = err.Error()
		}
		p.emit(m)
	} else if err == nil {
		p.printf("refresh of stack %s: %d drifted\n", p.name, len(drifts))
	}
}

func importCmd(f *flags) *cobra.Command {
	return f.with(&cobra.Command{
		Use:   "import PRIMARY_REGION/NAME",
		Short: "Adopt a region pair deployed elsewhere, from the manifest it keeps in its primary region",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			region, name, ok := strings.Cut(args[0], "/")
			if !ok || region == "" || name == "" {
				return fmt.Errorf("%q: expected PRIMARY_REGION/NAME, e.g. us-east-1/checkout", args[0])
			}
			p, err := open(cmd, f, false)
			if err != nil {
				return err
			}
			// An object is one stack's: importing it into a second one makes
			// two stacks manage it, so say whose it is first.
			owner, err := p.ws.ManifestOwner(cmd.Context(), region, name)
			if err != nil {
				p.warn([]string{fmt.Sprintf("cannot read who owns region pair %s: %v", name, err)})
			} else if other, ok := p.ws.OtherStack(owner); ok {
				p.warn([]string{fmt.Sprintf("region pair %s is already owned by stack %s (meridian:owner %s): after this import two stacks manage it; forget it in one of them (meridian stack forget %s)", name, other, owner, name)})
			}
			rp, err := p.ws.Import(cmd.Context(), region, name)
			if err != nil {
				return err
			}
			if f.json {
				p.emit(map[string]any{"event": "imported", "name": rp.Name, "blueprint": rp})
				p.emit(map[string]any{"event": "summary", "operation": "import", "stack": p.name, "ok": true})
				return nil
			}
			p.printf("imported region pair %s into stack %s; declare it in the stack, e.g.\n\n%s", rp.Name, p.name, stack.Format(rp))
			return nil
		},
	}, withJSON|withParallel)
}

func stackCmd(f *flags) *cobra.Command {
	c := &cobra.Command{Use: "stack", Short: "Create, select, list and inspect stacks"}
	store := func(cmd *cobra.Command) (state.Store, error) {
		st, err := f.loadStack(strings.HasPrefix(f.stateLocation(), "s3://"))
		if err != nil {
			return nil, err
		}
		// The stack name only picks a backend; the store is shared.
		ws, err := sdk.Open(cmd.Context(), sdk.Options{Stack: "default", State: f.stateLocation(), StateKMSKey: f.stateKMSKey, AWS: st.AWS})
		if err != nil {
			return nil, err
		}
		return ws.Store(), nil
	}
	selectStack := func(name string) error {
		if err := os.MkdirAll(filepath.Dir(f.currentFile()), 0o755); err != nil {
			return err
		}
		return os.WriteFile(f.currentFile(), []byte(name+"\n"), 0o644)
	}
	c.AddCommand(&cobra.Command{
		Use: "init NAME", Short: "Create a stack and select it", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := store(cmd)
			if err != nil {
				return err
			}
			b, err := s.Stack(args[0])
			if err != nil {
				return err
			}
			doc, err := b.Load(cmd.Context())
			if err != nil {
				return err
			}
			if doc.Serial == 0 {
				if err := b.Save(cmd.Context(), doc); err != nil {
					return err
				}
			}
			if err := selectStack(args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "stack %s created at %s and selected\n", args[0], b.Where())
			return nil
		},
	})
	c.AddCommand(&cobra.Command{
		Use: "select NAME", Short: "Make NAME the stack commands use", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := store(cmd)
			if err != nil {
				return err
			}
			names, err := s.Stacks(cmd.Context())
			if err != nil {
				return err
			}
			for _, n := range names {
				if n == args[0] {
					return selectStack(n)
				}
			}
			return fmt.Errorf("no stack %q (stacks: %s); create it with `meridian stack init %s`", args[0], strings.Join(names, ", "), args[0])
		},
	})
	c.AddCommand(f.with(&cobra.Command{
		Use: "ls", Short: "List stacks, their primitives and locks", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := store(cmd)
			if err != nil {
				return err
			}
			names, err := s.Stacks(cmd.Context())
			if err != nil {
				return err
			}
			current, _ := f.stackName()
			out := cmd.OutOrStdout()
			for _, n := range names {
				b, _ := s.Stack(n)
				doc, err := b.Load(cmd.Context())
				if err != nil {
					return err
				}
				l, locked, err := b.ReadLock(cmd.Context())
				if err != nil {
					return err
				}
				if f.json {
					p := &project{out: out}
					m := map[string]any{"event": "stack", "name": n, "current": n == current, "records": len(doc.Records), "serial": doc.Serial}
					if locked {
						m["lock"] = l
					}
					p.emit(m)
					continue
				}
				mark := " "
				if n == current {
					mark = "*"
				}
				lock := ""
				if locked {
					lock = "  locked by " + l.String()
				}
				fmt.Fprintf(out, "%s %-20s %4d primitives%s\n", mark, n, len(doc.Records), lock)
			}
			if f.json {
				(&project{out: out}).emit(map[string]any{"event": "summary", "operation": "stack ls", "stacks": len(names), "current": current, "ok": true})
			}
			return nil
		},
	}, withJSON))
	c.AddCommand(f.with(&cobra.Command{
		Use: "output [NAME]", Short: "Print the stack's outputs as of its last complete up", Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := open(cmd, f, false)
			if err != nil {
				return err
			}
			doc, err := p.ws.State(cmd.Context())
			if err != nil {
				return err
			}
			if len(args) == 1 {
				v, ok := doc.Outputs[args[0]]
				if !ok {
					return fmt.Errorf("stack %s has no output %q", p.name, args[0])
				}
				if f.json {
					p.emit(map[string]any{"event": "output", "stack": p.name, "name": args[0], "value": v})
					return nil
				}
				fmt.Fprintln(cmd.OutOrStdout(), v)
				return nil
			}
			if f.json {
				p.emit(map[string]any{"event": "summary", "operation": "stack output", "stack": p.name, "outputs": doc.Outputs, "ok": true})
				return nil
			}
			for _, k := range slices.Sorted(maps.Keys(doc.Outputs)) {
				fmt.Fprintf(cmd.OutOrStdout(), "%s = %s\n", k, doc.Outputs[k])
			}
			return nil
		},
	}, withJSON))
	c.AddCommand(f.with(&cobra.Command{
		Use:   "forget ADDRESS...",
		Short: "Drop records from the stack's state without touching the cloud (asks for confirmation unless --yes)",
		Long: "Removes the records of the named resources or primitives from the stack's state. The objects stay in the cloud, " +
			"no longer managed by meridian. Use it when a delete was refused because the object is not meridian's to delete " +
			"(its ownership marks are another's), or to hand an object over to something else.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, addresses []string) error {
			p, err := open(cmd, f, false)
			if err != nil {
				return err
			}
			if !f.yes {
				if err := ask(cmd, fmt.Sprintf("Forget %s? The objects stay in the cloud, unmanaged.", strings.Join(addresses, ", "))); err != nil {
					return err
				}
			}
			forgotten, err := p.ws.Forget(cmd.Context(), addresses)
			if err != nil {
				return err
			}
			for _, name := range forgotten {
				fmt.Fprintf(cmd.OutOrStdout(), "forgot %s (left in the cloud)\n", name)
			}
			return nil
		},
	}, withYes))
	var force bool
	rm := f.with(&cobra.Command{
		Use:   "rm NAME",
		Short: "Delete a stack's state (asks for confirmation unless --yes); refused while it records primitives unless --force",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := f.loadStack(strings.HasPrefix(f.stateLocation(), "s3://"))
			if err != nil {
				return err
			}
			ws, err := sdk.Open(cmd.Context(), sdk.Options{Stack: args[0], State: f.stateLocation(), StateKMSKey: f.stateKMSKey, AWS: st.AWS})
			if err != nil {
				return err
			}
			names, err := ws.Store().Stacks(cmd.Context())
			if err != nil {
				return err
			}
			if !slices.Contains(names, args[0]) {
				return fmt.Errorf("no stack %q (stacks: %s)", args[0], strings.Join(names, ", "))
			}
			if !f.yes {
				if err := ask(cmd, fmt.Sprintf("Delete the state of stack %s?", args[0])); err != nil {
					return err
				}
			}
			if err := ws.RemoveStack(cmd.Context(), force); err != nil {
				return err
			}
			if current, _ := f.stackName(); current == args[0] && f.stack == "" {
				os.Remove(f.currentFile())
			}
			fmt.Fprintf(cmd.OutOrStdout(), "stack %s removed\n", args[0])
			return nil
		},
	}, withYes)
	rm.Flags().BoolVar(&force, "force", false, "remove even though the stack records primitives (their objects stay in the cloud, unmanaged)")
	c.AddCommand(rm)
	var file string
	export := f.with(&cobra.Command{
		Use:   "export",
		Short: "Print the stack's state as JSON (to stdout, or --file), read under the stack's lock",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := open(cmd, f, false)
			if err != nil {
				return err
			}
			doc, err := p.ws.ExportState(cmd.Context())
			if err != nil {
				return err
			}
			b, err := json.MarshalIndent(doc, "", "  ")
			if err != nil {
				return err
			}
			b = append(b, '\n')
			if file == "" || file == "-" {
				_, err = cmd.OutOrStdout().Write(b)
				return err
			}
			if err := os.WriteFile(file, b, 0o600); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "stack %s exported to %s: %d records, serial %d\n", p.name, file, len(doc.Records), doc.Serial)
			return nil
		},
	}, 0)
	export.Flags().StringVarP(&file, "file", "f", "", "write the state to FILE instead of stdout")
	c.AddCommand(export)
	c.AddCommand(f.with(&cobra.Command{
		Use:   "import FILE",
		Short: "Replace the stack's state with a document stack export wrote (FILE, or - for stdin), under the stack's lock",
		Long: "Replaces the stack's state with the document, holding the stack's lock. Nothing in the cloud changes: the next " +
			"preview compares the stack with the imported records. Asks for confirmation unless --yes when the stack holds records.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var raw []byte
			var err error
			if args[0] == "-" {
				raw, err = io.ReadAll(cmd.InOrStdin())
			} else {
				raw, err = os.ReadFile(args[0])
			}
			if err != nil {
				return err
			}
			var doc state.Document
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&doc); err != nil {
				return fmt.Errorf("%s is not a stack state (meridian stack export writes one): %w", args[0], err)
			}
			p, err := open(cmd, f, false)
			if err != nil {
				return err
			}
			cur, err := p.ws.State(cmd.Context())
			if err != nil {
				return err
			}
			if len(cur.Records) > 0 && !f.yes {
				if err := ask(cmd, fmt.Sprintf("Replace the %d records of stack %s with the %d of %s?", len(cur.Records), p.name, len(doc.Records), args[0])); err != nil {
					return err
				}
			}
			if err := p.ws.ImportState(cmd.Context(), doc); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "stack %s: state imported from %s (%d records)\n", p.name, args[0], len(doc.Records))
			return nil
		},
	}, withYes))
	c.AddCommand(f.with(&cobra.Command{
		Use:   "unlock",
		Short: "Remove the stack's lock after its holder died (asks for confirmation unless --yes)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := open(cmd, f, false)
			if err != nil {
				return err
			}
			b := p.ws.Backend()
			l, locked, err := b.ReadLock(cmd.Context())
			if err != nil {
				return err
			}
			if !locked {
				return fmt.Errorf("stack %s is not locked", p.name)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "stack %s is locked by %s\n", p.name, l)
			if why := l.Stale(timeNow()); why != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "the lock looks stale: %s\n", why)
			} else {
				fmt.Fprintln(cmd.ErrOrStderr(), "the holder may still be running: unlocking lets two runs write the same stack")
			}
			if !f.yes {
				if err := ask(cmd, "Remove the lock?"); err != nil {
					return err
				}
			}
			if err := b.BreakLock(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "stack %s unlocked (lock %s of %s removed)\n", p.name, l.ID, l.Holder)
			return nil
		},
	}, withYes))
	return c
}

var timeNow = time.Now
