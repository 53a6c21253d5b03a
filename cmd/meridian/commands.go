package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/meridianhq/terraform-provider-meridian/internal/stack"
	"github.com/meridianhq/terraform-provider-meridian/internal/state"
	"github.com/meridianhq/terraform-provider-meridian/sdk"
)

func previewCmd(f *flags) *cobra.Command {
	return &cobra.Command{
		Use:   "preview",
		Short: "Show what up would change: counts and each step's property changes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := open(cmd, f, true)
			if err != nil {
				return err
			}
			if err := p.checkNames(); err != nil {
				return err
			}
			if err := p.checkMeasured(cmd.Context()); err != nil {
				return err
			}
			targets, err := p.targets()
			if err != nil {
				return err
			}
			pv, err := p.ws.Preview(cmd.Context(), p.program, targets...)
			if err != nil {
				return err
			}
			p.showPreview(pv)
			return nil
		},
	}
}

func upCmd(f *flags) *cobra.Command {
	return &cobra.Command{
		Use:   "up",
		Short: "Create, update and delete primitives until the cloud matches the stack",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := open(cmd, f, true)
			if err != nil {
				return err
			}
			if err := p.checkNames(); err != nil {
				return err
			}
			if err := p.checkMeasured(cmd.Context()); err != nil {
				return err
			}
			targets, err := p.targets()
			if err != nil {
				return err
			}
			if !f.yes {
				pv, err := p.ws.Preview(cmd.Context(), p.program, targets...)
				if err != nil {
					return err
				}
				p.showPreview(pv)
				if len(pv.Plan.Changes()) == 0 {
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
			res, err := p.ws.Up(cmd.Context(), p.program, outputs, targets...)
			return p.finish("up", res, err)
		},
	}
}

func destroyCmd(f *flags) *cobra.Command {
	return &cobra.Command{
		Use:   "destroy",
		Short: "Delete every primitive of the stack, dependents first",
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
			if !f.yes {
				pv, err := p.ws.PreviewDestroy(cmd.Context(), targets...)
				if err != nil {
					return err
				}
				p.showPreview(pv)
				if err := p.confirm(cmd, "Delete these primitives?"); err != nil {
					return err
				}
			}
			res, err := p.ws.Destroy(cmd.Context(), targets...)
			return p.finish("destroy", res, err)
		},
	}
}

func refreshCmd(f *flags) *cobra.Command {
	return &cobra.Command{
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
			for _, d := range drifts {
				if f.json {
					p.emit(map[string]any{"event": "drift", "name": d.Name, "type": d.Type, "region": d.Region, "id": d.ID, "gone": d.Gone, "changes": d.Changes})
				} else {
					p.printf("drift: %s\n", d)
				}
			}
			p.warn(warnings)
			if err == nil && !f.json {
				p.printf("refresh of stack %s: %d drifted\n", p.name, len(drifts))
			}
			return err
		},
	}
}

func importCmd(f *flags) *cobra.Command {
	return &cobra.Command{
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
			rp, err := p.ws.Import(cmd.Context(), region, name)
			if err != nil {
				return err
			}
			if f.json {
				p.emit(map[string]any{"event": "imported", "name": rp.Name, "blueprint": rp})
				return nil
			}
			p.printf("imported region pair %s into stack %s; declare it in the stack, e.g.\n\n%s", rp.Name, p.name, stack.Format(rp))
			return nil
		},
	}
}

func stackCmd(f *flags) *cobra.Command {
	c := &cobra.Command{Use: "stack", Short: "Create, select, list and inspect stacks"}
	store := func(cmd *cobra.Command) (state.Store, error) {
		st, err := f.loadStack(strings.HasPrefix(f.stateLocation(), "s3://"))
		if err != nil {
			return nil, err
		}
		// The stack name only picks a backend; the store is shared.
		ws, err := sdk.Open(cmd.Context(), sdk.Options{Stack: "default", State: f.stateLocation(), AWS: st.AWS})
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
	c.AddCommand(&cobra.Command{
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
			return nil
		},
	})
	c.AddCommand(&cobra.Command{
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
				fmt.Fprintln(cmd.OutOrStdout(), v)
				return nil
			}
			if f.json {
				p.emit(map[string]any{"event": "outputs", "stack": p.name, "outputs": doc.Outputs})
				return nil
			}
			for _, k := range sortedMap(doc.Outputs) {
				fmt.Fprintf(cmd.OutOrStdout(), "%s = %s\n", k, doc.Outputs[k])
			}
			return nil
		},
	})
	c.AddCommand(&cobra.Command{
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
	})
	c.AddCommand(&cobra.Command{
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
	})
	return c
}

var timeNow = time.Now
