// Package testbed starts and stops the real servers that tests and the demo
// run against on one machine (moto for AWS), installs the provider into a
// terraform filesystem mirror, and writes the terraform CLI config that uses
// it. Everything listens on 127.0.0.1 only; nothing talks to the internet.
package testbed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Host is the only address the testbed binds to or talks to.
const Host = "127.0.0.1"

// MotoReadyTimeout bounds how long StartMoto waits for moto to answer, unless
// the context passed to StartMoto has an earlier deadline. moto is usually
// ready in 4-12 s on this project's machines.
var MotoReadyTimeout = 60 * time.Second

// motoStartAttempts is how often StartMoto picks a new port when the one it
// picked was taken by someone else before moto could bind it.
const motoStartAttempts = 5

// Moto is a running moto_server process, standing in for every AWS endpoint.
type Moto struct {
	port int
	cmd  *exec.Cmd
	log  *tailBuffer
	done chan struct{} // closed when the process has exited
	err  error         // the process's exit status, valid after done is closed

	stopOnce sync.Once
	stopErr  error
}

// StartMoto starts `moto_server -H 127.0.0.1 -p PORT` on a free loopback port
// and waits until it answers a real HTTP request. ctx bounds the start only;
// the server runs until Stop. The error includes the tail of moto's log.
func StartMoto(ctx context.Context) (*Moto, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, fmt.Errorf("moto_server not found on PATH (it comes with the machine's Python: pip package moto[server]): %w", err)
	}
	var lastErr error
	for attempt := 1; attempt <= motoStartAttempts; attempt++ {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		m, err := startMoto(ctx, bin, port)
		if err == nil {
			return m, nil
		}
		lastErr = err
		if !errors.Is(err, errPortTaken) || ctx.Err() != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("gave up after %d ports: %w", motoStartAttempts, lastErr)
}

var errPortTaken = errors.New("port already in use")

func startMoto(ctx context.Context, bin string, port int) (*Moto, error) {
	m := &Moto{port: port, log: newTailBuffer(64 << 10), done: make(chan struct{})}
	m.cmd = exec.Command(bin, "-H", Host, "-p", strconv.Itoa(port))
	m.cmd.Stdout = m.log
	m.cmd.Stderr = m.log
	// AWS managed policies exist in every AWS account (the DR backup role
	// attaches AWS Backup's); moto loads them only when asked (~1.5 s more on
	// the first IAM call of an account).
	m.cmd.Env = append(os.Environ(), "PYTHONUNBUFFERED=1", "MOTO_IAM_LOAD_MANAGED_POLICIES=true")
	// Its own process group, so Stop can end moto and anything it spawned.
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := m.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		m.err = m.cmd.Wait()
		close(m.done)
	}()

	if err := m.waitReady(ctx); err != nil {
		_ = m.Stop()
		if strings.Contains(m.log.String(), "Address already in use") {
			return nil, fmt.Errorf("moto_server on %s:%d: %w\n--- moto log (tail) ---\n%s", Host, port, errPortTaken, m.LogTail(20))
		}
		return nil, fmt.Errorf("moto_server on %s:%d did not become ready: %w\n--- moto log (tail) ---\n%s", Host, port, err, m.LogTail(40))
	}
	return m, nil
}

// waitReady polls until moto answers GET /moto-api/ with 200 and has logged
// that it is running on our port. The log check makes sure the answer came
// from our process, not from another server that won a race for the port.
func (m *Moto) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, MotoReadyTimeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	listening := fmt.Sprintf("%s:%d", Host, m.port)
	var last error = errors.New("no answer yet")
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-m.done:
			return fmt.Errorf("moto_server exited early (%v)", m.err)
		case <-ctx.Done():
			return fmt.Errorf("%w after waiting for a real answer; last: %v", ctx.Err(), last)
		case <-tick.C:
		}
		if !strings.Contains(m.log.String(), listening) {
			last = errors.New("moto has not logged that it runs on " + listening)
			continue
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.Endpoint()+"/moto-api/", nil)
		resp, err := client.Do(req)
		if err != nil {
			last = err
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			last = fmt.Errorf("GET /moto-api/: %s", resp.Status)
			continue
		}
		select {
		case <-m.done:
			return fmt.Errorf("moto_server exited early (%v)", m.err)
		default:
			return nil
		}
	}
}

// Endpoint is the URL of every AWS service of this moto server.
func (m *Moto) Endpoint() string { return fmt.Sprintf("http://%s:%d", Host, m.port) }

// Port is the loopback port moto listens on.
func (m *Moto) Port() int { return m.port }

// PID is the process id of moto (also its process group id).
func (m *Moto) PID() int { return m.cmd.Process.Pid }

// Reset wipes all of moto's state (POST /moto-api/reset).
func (m *Moto) Reset() error {
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Post(m.Endpoint()+"/moto-api/reset", "application/json", nil)
	if err != nil {
		return fmt.Errorf("reset moto: %w", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reset moto: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// Stop ends moto's process group (SIGTERM, then SIGKILL after 10 s) and waits
// for the process. It is safe to call more than once.
func (m *Moto) Stop() error {
	m.stopOnce.Do(func() {
		pid := m.cmd.Process.Pid
		select {
		case <-m.done:
			return // already exited
		default:
		}
		if err := syscall.Kill(-pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			m.stopErr = fmt.Errorf("stop moto (pgid %d): %w", pid, err)
		}
		select {
		case <-m.done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			select {
			case <-m.done:
			case <-time.After(10 * time.Second):
				m.stopErr = fmt.Errorf("stop moto (pgid %d): still running after SIGKILL", pid)
			}
		}
	})
	return m.stopErr
}

// Exited is closed once the moto process has exited.
func (m *Moto) Exited() <-chan struct{} { return m.done }

// Log returns what moto has written to stdout and stderr (the last 64 KiB).
func (m *Moto) Log() string { return m.log.String() }

// LogTail returns the last n lines of moto's log.
func (m *Moto) LogTail(n int) string { return lastLines(m.log.String(), n) }

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
// Callers must handle a race for it (StartMoto retries).
func FreePort() (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(Host, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", Host, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
