// Command clusters builds the local Kubernetes testbed's binaries and starts
// or stops a set of named clusters (make k8s-bins, make clusters, make
// clusters-down). The clusters outlive the command; their PIDs are kept in
// the set's folder, and `down` stops them by PID.
//
// destroy and recreate lose and rebuild one cluster of a running set: the
// set's lifecycle script, which a DR drill runs, execs them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/testbed/cluster"
)

const usage = `usage: clusters build
       clusters up   [-dir DIR] [-names region-a,region-b]
       clusters down [-dir DIR]
       clusters destroy  [-dir DIR] NAME
       clusters recreate [-dir DIR] NAME`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	dir := fs.String("dir", filepath.Join(".testbed", "clusters"), "folder of the cluster set (certificates, data, logs, kubeconfig, PIDs)")
	names := fs.String("names", "region-a,region-b", "comma-separated cluster names; each is a kubeconfig context")
	_ = fs.Parse(os.Args[2:])

	var err error
	switch os.Args[1] {
	case "build":
		err = build(ctx)
	case "up":
		err = up(ctx, *dir, strings.Split(*names, ","))
	case "down":
		err = down(*dir)
	case "destroy", "recreate":
		err = lifecycle(ctx, os.Args[1], *dir, fs.Args())
	default:
		err = errors.New(usage)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "clusters:", err)
		os.Exit(1)
	}
}

func build(ctx context.Context) error {
	start := time.Now()
	bins, err := cluster.Build(ctx, os.Stdout)
	if err != nil {
		return err
	}
	cache, _ := cluster.CacheDir()
	fmt.Printf("cluster binaries ready in %s (%s)\n  kwok stages: %s\n", cache, time.Since(start).Round(time.Second), bins.StageDir)
	return nil
}

func up(ctx context.Context, dir string, names []string) error {
	if set, err := cluster.Load(dir, nil); err == nil {
		for _, n := range set.Names() {
			if c, _ := set.Cluster(n); c.Running() {
				return fmt.Errorf("clusters already running in %s (kubeconfig %s); stop them with `make clusters-down`", dir, set.Kubeconfig())
			}
		}
	}
	// Whatever is left (a machine restart, a failed start) runs nothing;
	// but never empty a folder that is not a cluster set's.
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		if _, err := os.Stat(filepath.Join(dir, "kwok-stages.yaml")); err != nil {
			return fmt.Errorf("%s is not empty and holds no cluster set; choose another -dir", dir)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	start := time.Now()
	bins, err := cluster.Build(ctx, os.Stdout)
	if err != nil {
		return err
	}
	fmt.Printf("binaries ready in %s\n", time.Since(start).Round(time.Second))
	start = time.Now()
	set, err := cluster.Start(ctx, cluster.Options{Dir: dir, Names: names, Binaries: bins, Log: os.Stdout})
	if err != nil {
		return fmt.Errorf("%w\n(logs are in %s)", err, dir)
	}
	fmt.Printf("%d clusters ready in %s\n", len(names), time.Since(start).Round(100*time.Millisecond))
	for _, n := range set.Names() {
		c, _ := set.Cluster(n)
		fmt.Printf("  %-10s %s  start %s  rss %d MiB  pids %v\n", n, c.Server(), c.StartTime.Round(100*time.Millisecond), c.RSS()>>20, c.PIDs())
	}
	fmt.Printf("kubeconfig: %s\n  export KUBECONFIG=%s\n  kubectl --context %s get nodes\nstop them with: make clusters-down\n",
		set.Kubeconfig(), set.Kubeconfig(), names[0])
	return nil
}

func down(dir string) error {
	set, err := cluster.Load(dir, nil)
	if errors.Is(err, os.ErrNotExist) {
		fmt.Printf("no clusters running in %s\n", dir)
		if _, err := os.Stat(filepath.Join(dir, "kwok-stages.yaml")); err != nil {
			return nil // not a cluster set's folder (or none): leave it be
		}
		return os.RemoveAll(dir)
	}
	if err != nil {
		return err
	}
	if err := set.Stop(); err != nil {
		return err
	}
	fmt.Printf("stopped %s\n", strings.Join(set.Names(), ", "))
	return os.RemoveAll(dir)
}

// lifecycle destroys or recreates the named cluster of the set in dir. Its
// progress goes to stdout, which a drill keeps in its log.
func lifecycle(ctx context.Context, action, dir string, args []string) error {
	if len(args) != 1 {
		return errors.New(usage)
	}
	set, err := cluster.Load(dir, os.Stdout)
	if err != nil {
		return fmt.Errorf("no running cluster set in %s: %w", dir, err)
	}
	start := time.Now()
	if action == "destroy" {
		err = set.Destroy(args[0])
	} else {
		err = set.Recreate(ctx, args[0])
	}
	if err != nil {
		return err
	}
	fmt.Printf("%s %s in %s\n", action, args[0], time.Since(start).Round(time.Millisecond))
	return nil
}
