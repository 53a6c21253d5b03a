package drill

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// LifecycleFile is the executable that destroys and recreates the clusters
// of a folder (the drill's `testbed` attribute, the CLI's --testbed flag):
//
//	DIR/lifecycle destroy CONTEXT
//	DIR/lifecycle recreate CONTEXT
//
// CONTEXT is the region's cluster as the kubeconfig names it. destroy loses
// the cluster and everything in it; recreate leaves an empty cluster that
// the same context reaches. Exit 0 means done; the output goes into the
// drill's log, and into its error when the exit is not 0. The local testbed
// (make clusters) writes one; any other clusters can be drilled with a
// script of their own.
const LifecycleFile = "lifecycle"

// Executable is the Lifecycle that runs a folder's LifecycleFile.
type Executable struct {
	path string
	// contexts names each region's cluster.
	contexts map[string]string
	log      func(format string, args ...any)
}

// NewExecutable finds dir's LifecycleFile. contexts names each region's
// cluster (its kubeconfig context); log receives the executable's output,
// line by line, and may be nil.
func NewExecutable(dir string, contexts map[string]string, log func(format string, args ...any)) (*Executable, error) {
	path, err := filepath.Abs(filepath.Join(dir, LifecycleFile))
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		return nil, fmt.Errorf("%s is not an executable file", path)
	}
	if log == nil {
		log = func(string, ...any) {}
	}
	return &Executable{path: path, contexts: contexts, log: log}, nil
}

// Destroy runs `lifecycle destroy CONTEXT` for region.
func (e *Executable) Destroy(ctx context.Context, region string) error {
	return e.run(ctx, "destroy", region)
}

// Recreate runs `lifecycle recreate CONTEXT` for region.
func (e *Executable) Recreate(ctx context.Context, region string) error {
	return e.run(ctx, "recreate", region)
}

// tailLines of the output go into the error of a failed run: enough for the
// reason, not a whole cluster's start log.
const tailLines = 30

func (e *Executable) run(ctx context.Context, action, region string) error {
	name := e.contexts[region]
	if name == "" {
		return fmt.Errorf("no cluster context is configured for region %s", region)
	}
	out := &lineLog{log: e.log, prefix: LifecycleFile + " " + action + ": "}
	cmd := exec.CommandContext(ctx, e.path, action, name)
	cmd.Dir = filepath.Dir(e.path)
	cmd.Stdout, cmd.Stderr = out, out
	// On cancel, ask it to stop (a cluster half started should be stopped
	// by the script, not left behind) before it is killed.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	err := cmd.Run()
	out.flush()
	if err != nil {
		msg := fmt.Sprintf("%s %s %s: %v", e.path, action, name, err)
		if tail := out.tail(); tail != "" {
			msg += "\n" + tail
		}
		return errors.New(msg)
	}
	return nil
}

// lineLog passes output to a drill's log line by line and keeps the last
// lines for the error.
type lineLog struct {
	log     func(format string, args ...any)
	prefix  string
	partial []byte
	last    []string
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		l.line(string(l.partial[:i]))
		l.partial = l.partial[i+1:]
	}
}

func (l *lineLog) line(s string) {
	s = strings.TrimRight(s, "\r")
	if strings.TrimSpace(s) == "" {
		return
	}
	l.log("%s%s", l.prefix, s)
	l.last = append(l.last, s)
	if len(l.last) > tailLines {
		l.last = l.last[1:]
	}
}

func (l *lineLog) flush() {
	if len(l.partial) > 0 {
		l.line(string(l.partial))
		l.partial = nil
	}
}

func (l *lineLog) tail() string { return strings.Join(l.last, "\n") }
