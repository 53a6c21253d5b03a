package main_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// openTerminal opens a pseudo-terminal: meridian asks its questions only
// when its stdin is a terminal. The test answers by writing to the master.
func openTerminal(t *testing.T) (master, tty *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal on this machine: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	// The terminal echoes the answers: read the echo so that it never fills up.
	go io.Copy(io.Discard, master)
	return master, tty
}

// asking is a meridian command waiting at its question on a terminal.
type asking struct {
	cmd            *exec.Cmd
	stdout, stderr *lockedBuffer
	master         *os.File
	done           chan error
}

// ask starts meridian args with a terminal for stdin and waits until it
// asks question.
func (c *cli) ask(question string, args ...string) *asking {
	c.t.Helper()
	master, tty := openTerminal(c.t)
	cmd, _, _ := c.command(args...)
	a := &asking{cmd: cmd, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, master: master, done: make(chan error, 1)}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, a.stdout, a.stderr
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	go func() { a.done <- cmd.Wait() }()
	c.t.Cleanup(func() { cmd.Process.Kill() })
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(a.stderr.String(), question) {
		select {
		case err := <-a.done:
			c.t.Fatalf("meridian %s ended before it asked %q: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), question, err, tail(a.stdout.String(), 10), a.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("meridian %s never asked %q:\n%s", strings.Join(args, " "), question, a.stderr.String())
		}
	}
	return a
}

// answer types the answer and returns the command's exit code.
func (a *asking) answer(t *testing.T, answer string) int {
	t.Helper()
	if _, err := a.master.WriteString(answer + "\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-a.done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(3 * time.Minute):
		t.Fatalf("meridian went on for 3 minutes after the answer %q:\n%s", answer, tail(a.stdout.String(), 10))
	}
	return -1
}

// shownAndDone lists the steps of a --json run: those its preview showed
// (plan_step events) and those it did (step events that ended done).
func shownAndDone(t *testing.T, stdout string) (shown, done []string) {
	t.Helper()
	for _, ev := range jsonLines(t, stdout) {
		step := fmt.Sprintf("%v %v", ev["op"], ev["name"])
		switch {
		case ev["event"] == "plan_step":
			shown = append(shown, step)
		case ev["event"] == "step" && ev["status"] == "done":
			done = append(done, step)
		}
	}
	slices.Sort(shown)
	slices.Sort(done)
	return shown, done
}

// TestUpAppliesTheShownPlan is issue 14's "up applies exactly the plan it
// showed". While up waits at its question, the stack is locked: another
// up is refused, naming the waiting one, and an edit of the stack files
// changes nothing; after "y" up does exactly the steps its preview showed.
// While destroy waits, the stack is locked too, and "n" releases the lock
// with nothing changed.
func TestUpAppliesTheShownPlan(t *testing.T) {
	m := startMoto(t)
	dir := t.TempDir()
	writeStack(t, dir, "shown", 1, 10)
	c := newCLI(t, dir, "MERIDIAN_STATE=")
	endpoint := "--var=aws_endpoint=" + m.Endpoint()
	c.must("stack", "init", "dev")

	up := c.ask("Apply these changes?", "up", "--json", endpoint)
	edit(t, filepath.Join(dir, "stack.tf"), `service = "shown-00"`, `service = "edited"`)
	locked := func(what string, waiting *asking) {
		t.Helper()
		r := c.run("up", "--yes", endpoint)
		if r.code != 3 || !strings.Contains(r.stderr, fmt.Sprintf("(pid %d)", waiting.cmd.Process.Pid)) {
			t.Fatalf("up while %s waits for its answer: exit %d, want 3 (locked by pid %d)\nstdout:\n%s\nstderr:\n%s",
				what, r.code, waiting.cmd.Process.Pid, tail(r.stdout, 10), r.stderr)
		}
	}
	locked("up", up)
	if code := up.answer(t, "y"); code != 0 {
		t.Fatalf("up after y: exit %d\n%s\n%s", code, tail(up.stdout.String(), 10), up.stderr.String())
	}
	shown, done := shownAndDone(t, up.stdout.String())
	if len(shown) != 12 || !slices.Equal(shown, done) {
		t.Fatalf("up showed %d steps and did %d:\nshown %v\ndone  %v", len(shown), len(done), shown, done)
	}
	// The edit made while up waited was not applied: it is the next plan.
	if r := c.must("preview", endpoint); !strings.Contains(r.stdout, `tags.service: "shown-00" => "edited"`) {
		t.Fatalf("preview after up:\n%s", r.stdout)
	}
	before, err := os.ReadFile(filepath.Join(dir, ".meridian", "stacks", "dev.json"))
	if err != nil {
		t.Fatal(err)
	}

	destroy := c.ask("Delete these primitives?", "destroy", "--json", endpoint)
	locked("destroy", destroy)
	if code := destroy.answer(t, "n"); code != 1 || !strings.Contains(destroy.stderr.String(), "cancelled") {
		t.Fatalf("destroy after n: exit %d\n%s", code, destroy.stderr.String())
	}
	if shown, done := shownAndDone(t, destroy.stdout.String()); len(shown) != 12 || len(done) != 0 {
		t.Fatalf("destroy showed %v and did %v after n", shown, done)
	}
	after, err := os.ReadFile(filepath.Join(dir, ".meridian", "stacks", "dev.json"))
	if err != nil || !bytes.Equal(before, after) {
		t.Fatalf("the state changed although destroy was cancelled (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".meridian", "stacks", "dev.lock")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the lock is left after a cancelled destroy: %v", err)
	}
	c.must("destroy", "--yes", endpoint)
	if n := len(readState(t, filepath.Join(dir, ".meridian", "stacks", "dev.json")).Records); n != 0 {
		t.Fatalf("%d records after destroy", n)
	}
}

// offeringsCounter is an endpoint in front of next that counts the
// DescribeInstanceTypeOfferings requests it passes on.
func offeringsCounter(t *testing.T, next string) (string, *atomic.Int64) {
	t.Helper()
	u, err := url.Parse(next)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if bytes.Contains(body, []byte("Action=DescribeInstanceTypeOfferings")) {
			n.Add(1)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &n
}

// opens counts the times path is opened from now on (inotify).
func opens(t *testing.T, path string) func() int {
	t.Helper()
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Skipf("no inotify: %v", err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	// Closes are watched too: inotify merges an event with an identical
	// one still queued, so opens with no close between would count once.
	if _, err := unix.InotifyAddWatch(fd, path, unix.IN_OPEN|unix.IN_CLOSE); err != nil {
		t.Fatal(err)
	}
	n := 0
	return func() int {
		buf := make([]byte, 64*unix.SizeofInotifyEvent)
		for {
			k, err := unix.Read(fd, buf)
			if err != nil || k <= 0 {
				return n // EAGAIN: every event so far is counted
			}
			// A watch on a file names no file: every event is SizeofInotifyEvent long.
			for i := 0; i+unix.SizeofInotifyEvent <= k; i += unix.SizeofInotifyEvent {
				ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[i]))
				if ev.Mask&unix.IN_OPEN != 0 {
					n++
				}
			}
		}
	}
}

// TestUpDeclaresOnce: an up that is shown and confirmed declares its
// program once, so a capacity reservation's instance type offerings are
// asked once per region (they were asked again by the plan made after
// the confirmation), and its demand history is read once (it was read
// by the names check, the tags check and each declaration).
func TestUpDeclaresOnce(t *testing.T) {
	_, capacity, _ := startCapacityMoto(t)
	endpoint, offerings := offeringsCounter(t, capacity)
	dir := t.TempDir()
	writeStack(t, dir, "once", 1, 10)
	csv, err := os.ReadFile(filepath.Join("..", "..", "examples", "stacks", "platform", "demand.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "demand.csv"), csv, 0o644); err != nil {
		t.Fatal(err)
	}
	// The platform example's capacity reservation, on its own.
	platform := readFile(t, filepath.Join("..", "..", "examples", "stacks", "platform", "main.tf"))
	start := strings.Index(platform, `resource "meridian_capacity_reservation" "web"`)
	if start < 0 || !strings.Contains(platform[start:], "\n}\n") {
		t.Fatal("examples/stacks/platform/main.tf declares no meridian_capacity_reservation.web")
	}
	end := start + strings.Index(platform[start:], "\n}\n") + 3
	reservation := "\n" + strings.Replace(platform[start:end], "meridian_dr_policy.checkout.rto", `"1h"`, 1)
	f, err := os.OpenFile(filepath.Join(dir, "stack.tf"), os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteString(reservation)
		err = errors.Join(err, f.Close())
	}
	if err != nil {
		t.Fatal(err)
	}
	c := newCLI(t, dir, "MERIDIAN_STATE=")
	c.must("stack", "init", "dev")
	reads := opens(t, filepath.Join(dir, "demand.csv"))
	up := c.ask("Apply these changes?", "up", "--progress=plain", "--var=aws_endpoint="+endpoint)
	if code := up.answer(t, "y"); code != 0 {
		t.Fatalf("up after y: exit %d\n%s\n%s", code, tail(up.stdout.String(), 10), up.stderr.String())
	}
	if n := offerings.Load(); n != 2 {
		t.Errorf("up asked DescribeInstanceTypeOfferings %d times, want 2 (once in each region)", n)
	}
	if n := reads(); n != 1 {
		t.Errorf("up opened demand.csv %d times, want 1", n)
	}
	c.must("destroy", "--yes", "--var=aws_endpoint="+endpoint)
}
