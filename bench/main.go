// Command bench runs meridian's engine and terraform side by side on the
// same work and prints the results as ratios (make bench):
//
//	(a) plan and apply of N independent primitives with a zero-latency
//	    driver (the engine's own overhead, state journaled to a local file
//	    on every change) against terraform with the builtin terraform_data;
//	(b) apply of 200 primitives whose every call takes 50 ms, at
//	    parallelism 10 and 50, against the ideal N x latency / parallelism
//	    (terraform's side uses a local-exec `sleep 0.05`, which adds a
//	    process start per resource);
//	(c) refresh of AWS primitives against moto (see refresh.go);
//	(d) apply of a 50-pair stack under AWS-like latency and rate limits,
//	    against its lower bound, with a target (see limits.go): the one
//	    section that can fail, and make bench with it;
//	(e) forecasting against statsmodels' Holt-Winters and ETS on public and
//	    generated series, with targets (see forecast.go): it fails make
//	    bench too.
//
// The engine side uses the memory driver, registered under its own type.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/cloud/memory"
	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
	"github.com/meridianhq/terraform-provider-meridian/internal/state"
)

func main() {
	sizes := flag.String("n", "100,1000,10000", "sizes for (a)")
	journalMax := flag.Int("journal-max", 10000, "largest N whose apply journals to a file on every change (each journal write appends the changed records to a file and fsyncs it)")
	tfTimeout := flag.Duration("tf-timeout", 5*time.Minute, "give up on one terraform apply after this long")
	out := flag.String("o", "bench/results.txt", "results file")
	only := flag.String("only", "", "run only this section, e.g. a (default: all)")
	flag.Parse()

	f, err := os.Create(*out)
	if err != nil {
		fail(err)
	}
	defer f.Close()
	w := io.MultiWriter(os.Stdout, f)
	tf, tfErr := exec.LookPath("terraform")
	tfVersion := "not found"
	if tfErr == nil {
		if b, err := exec.Command(tf, "version").Output(); err == nil {
			tfVersion = strings.SplitN(string(b), "\n", 2)[0]
		}
	}
	fmt.Fprintf(w, "meridian engine vs %s, %s, %d CPUs\n\n", tfVersion, time.Now().UTC().Format(time.RFC3339), numCPU())

	if *only == "" || *only == "a" {
		sectionA(w, *sizes, *journalMax, tf, tfErr, *tfTimeout)
	}
	if *only == "" || *only == "b" {
		sectionB(w, tf, tfErr, *tfTimeout)
	}
	sectionC(w, *only)
	limitsOK := sectionD(w, *only, tf, tfErr, *tfTimeout)
	forecastOK := sectionE(w, *only)
	fmt.Fprintln(w, "\nengine apply+journal: every state change saved through the local file backend (the changed records appended to the journal file, one fsync per group commit; folded into the state file at the end).")
	fmt.Fprintln(w, "terraform: `terraform apply -auto-approve` (plan + apply) of a fresh configuration, init not counted; in (b) each resource runs a local-exec `sleep 0.05`.")
	fmt.Fprintf(w, "\nwritten to %s\n", *out)
	if !limitsOK || !forecastOK {
		f.Close()
		if !limitsOK {
			fmt.Fprintln(os.Stderr, "bench: (d) missed its target")
		}
		if !forecastOK {
			fmt.Fprintln(os.Stderr, "bench: (e) missed a forecasting target")
		}
		os.Exit(1)
	}
}

func sectionA(w io.Writer, sizes string, journalMax int, tf string, tfErr error, tfTimeout time.Duration) {
	fmt.Fprintln(w, "(a) plan + apply of N independent primitives, zero latency, parallelism 10")
	fmt.Fprintf(w, "%-7s %-12s %-12s %-14s %-14s %s\n", "N", "engine plan", "engine apply", "apply+journal", "terraform", "terraform / engine(+journal)")
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			fail(err)
		}
		plan, apply := engineRun(n, 10, 0, false)
		journaled := "-"
		var jdur time.Duration
		if n <= journalMax {
			_, jdur = engineRun(n, 10, 0, true)
			journaled = jdur.Round(time.Millisecond).String()
		} else {
			journaled = "skipped"
		}
		tfCell, ratio := "n/a", "n/a"
		if tfErr == nil {
			d, err := terraformRun(tf, n, 10, false, tfTimeout)
			switch {
			case err != nil:
				tfCell = "> " + tfTimeout.String()
				ratio = err.Error()
			default:
				tfCell = d.Round(time.Millisecond).String()
				base := plan + apply
				if jdur > 0 {
					base = plan + jdur
				}
				ratio = fmt.Sprintf("%.1fx", float64(d)/float64(base))
			}
		}
		fmt.Fprintf(w, "%-7d %-12s %-12s %-14s %-14s %s\n", n, plan.Round(time.Microsecond), apply.Round(time.Microsecond), journaled, tfCell, ratio)
	}
}

func sectionB(w io.Writer, tf string, tfErr error, tfTimeout time.Duration) {
	fmt.Fprintln(w, "\n(b) apply of 200 primitives, 50 ms per call")
	fmt.Fprintf(w, "%-11s %-9s %-12s %-8s %-14s %s\n", "parallelism", "ideal", "engine", "/ideal", "terraform", "/ideal")
	for _, par := range []int{10, 50} {
		const n, latency = 200, 50 * time.Millisecond
		ideal := time.Duration(n) * latency / time.Duration(par)
		_, apply := engineRun(n, par, latency, true)
		tfCell, tfRatio := "n/a", "n/a"
		if tfErr == nil {
			if d, err := terraformRun(tf, n, par, true, tfTimeout); err == nil {
				tfCell, tfRatio = d.Round(time.Millisecond).String(), fmt.Sprintf("%.2fx", float64(d)/float64(ideal))
			} else {
				tfCell = err.Error()
			}
		}
		fmt.Fprintf(w, "%-11d %-9s %-12s %-8s %-14s %s\n", par, ideal, apply.Round(time.Millisecond), fmt.Sprintf("%.2fx", float64(apply)/float64(ideal)), tfCell, tfRatio)
	}
}

func graph(n int) primitive.Graph {
	g := primitive.Graph{Primitives: make([]primitive.Primitive, n)}
	for i := range n {
		g.Primitives[i] = primitive.Primitive{
			Name: fmt.Sprintf("obj.%05d", i), Type: memory.Type, Region: "local",
			Properties: map[string]any{"key": fmt.Sprintf("k%d", i), "input": fmt.Sprintf("v%d", i)},
		}
	}
	return g
}

// engineRun plans and applies n primitives and returns the time of each.
func engineRun(n, parallelism int, latency time.Duration, journal bool) (time.Duration, time.Duration) {
	ctx := context.Background()
	drivers := engine.Drivers{memory.Type: memory.New(latency)}
	e := &engine.Engine{Drivers: drivers, Parallelism: parallelism}
	if journal {
		dir, err := os.MkdirTemp("", "meridian-bench-")
		if err != nil {
			fail(err)
		}
		defer os.RemoveAll(dir)
		b, _ := state.LocalStore{Dir: dir}.Stack("bench")
		doc := state.Document{}
		e.Journal = state.Journal(ctx, b, &doc)
	}
	g := graph(n)
	var st engine.State
	start := time.Now()
	p, err := engine.Diff(g, st, drivers)
	if err != nil {
		fail(err)
	}
	plan := time.Since(start)
	start = time.Now()
	if err := e.Apply(ctx, p, &st); err != nil {
		fail(err)
	}
	return plan, time.Since(start)
}

// terraformRun applies n terraform_data resources in a fresh directory.
func terraformRun(tf string, n, parallelism int, sleep bool, timeout time.Duration) (time.Duration, error) {
	dir, err := os.MkdirTemp("", "meridian-bench-tf-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "resource \"terraform_data\" \"r%d\" {\n  input = \"v%d\"\n", i, i)
		if sleep {
			b.WriteString("  provisioner \"local-exec\" {\n    command = \"sleep 0.05\"\n  }\n")
		}
		b.WriteString("}\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(b.String()), 0o644); err != nil {
		return 0, err
	}
	env := append(os.Environ(), "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1", "TF_CLI_CONFIG_FILE=/dev/null")
	run := terraformCommand(tf, dir, env, timeout)
	if err := run(context.Background(), "init", "-input=false"); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	if err := run(ctx, "apply", "-auto-approve", "-input=false", "-parallelism="+strconv.Itoa(parallelism)); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func numCPU() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "processor\t:")
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

// terraformCommand runs terraform in dir with env; an error names the
// subcommand and terraform's last line, or the timeout that cut it short.
func terraformCommand(tf, dir string, env []string, timeout time.Duration) func(ctx context.Context, args ...string) error {
	return func(ctx context.Context, args ...string) error {
		cmd := exec.CommandContext(ctx, tf, args...)
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("timed out after %s", timeout)
			}
			return fmt.Errorf("terraform %s: %v: %s", args[0], err, lastLine(string(out)))
		}
		return nil
	}
}
