// Package cluster runs real local Kubernetes clusters for tests and for
// `make clusters`: each is etcd + kube-apiserver + kube-controller-manager +
// kube-scheduler + kwok (fake nodes, so pods reach Running, Deployments
// become Available and claims bind), built from the Go module proxy because
// this machine has no Docker for kind. A Set of named clusters ("region-a",
// "region-b") listens on free 127.0.0.1 ports and is reachable through one
// kubeconfig with one context per cluster, named after it.
//
// Every process runs in its own process group and is stopped by its PID;
// the PIDs are kept in state.json in the set's folder, so a set started by
// one command can be stopped by another (make clusters / make clusters-down).
package cluster

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Host is the only address the clusters bind to.
const Host = "127.0.0.1"

// nodeName is the fake node kwok runs every pod on.
const nodeName = "kwok-node-0"

// StorageClass is the default storage class of every cluster; kwok binds
// the claims that use it.
const StorageClass = "kwok-volume"

// Options say which clusters to start and where.
type Options struct {
	// Dir holds certificates, etcd data, logs, the kubeconfig and state.json.
	Dir   string
	Names []string
	// Binaries come from Build or Find.
	Binaries Binaries
	// Log receives progress lines; nil discards them.
	Log io.Writer
	// ReadyTimeout bounds the start of one cluster (default 3 minutes).
	ReadyTimeout time.Duration
}

// Set is a group of running clusters sharing one kubeconfig.
type Set struct {
	mu      sync.Mutex
	dir     string
	bins    Binaries
	log     io.Writer
	timeout time.Duration
	stages  string
	// clusters keep the order of Options.Names.
	clusters []*Cluster
}

// Cluster is one named cluster of a Set.
type Cluster struct {
	Name string `json:"name"`
	// Index gives the cluster its own service and pod ranges.
	Index        int     `json:"index"`
	Dir          string  `json:"dir"`
	EtcdPort     int     `json:"etcd_port"`
	EtcdPeerPort int     `json:"etcd_peer_port"`
	APIPort      int     `json:"api_port"`
	Token        string  `json:"token"`
	Procs        []*proc `json:"procs,omitempty"`
	// StartTime is how long the last start took, until the node was Ready.
	StartTime time.Duration `json:"start_time"`
}

type proc struct {
	Name string `json:"name"`
	PID  int    `json:"pid"`
	Bin  string `json:"bin"`
	Log  string `json:"log"`
	// done is closed when our child has exited; nil for a process started
	// by another command (loaded from state.json).
	done chan struct{}
}

// Start starts the named clusters side by side and writes the kubeconfig.
// On failure it stops whatever it started and returns an error with the
// end of the failing component's log.
func Start(ctx context.Context, opts Options) (*Set, error) {
	if len(opts.Names) == 0 {
		return nil, errors.New("no cluster names given")
	}
	seen := map[string]bool{}
	for _, n := range opts.Names {
		if !validName(n) || seen[n] {
			return nil, fmt.Errorf("cluster name %q is empty, repeated or not a DNS label", n)
		}
		seen[n] = true
	}
	if m := opts.Binaries.missing(); len(m) > 0 {
		return nil, fmt.Errorf("cluster binaries missing: %s (build them with cluster.Build or `make k8s-bins`)", strings.Join(m, ", "))
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	s := &Set{dir: dir, bins: opts.Binaries, log: opts.Log, timeout: opts.ReadyTimeout}
	if s.log == nil {
		s.log = io.Discard
	}
	if s.timeout == 0 {
		s.timeout = 3 * time.Minute
	}
	if s.stages, err = writeStages(dir, opts.Binaries.StageDir); err != nil {
		return nil, err
	}
	for i, name := range opts.Names {
		s.clusters = append(s.clusters, &Cluster{Name: name, Index: i, Dir: filepath.Join(dir, name)})
	}
	errs := make([]error, len(s.clusters))
	var wg sync.WaitGroup
	for i, c := range s.clusters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A new cluster starts empty, whatever an earlier run left.
			if err := os.RemoveAll(c.Dir); err != nil {
				errs[i] = err
				return
			}
			p, err := newPKI(filepath.Join(c.Dir, "pki"), c.Name)
			if err != nil {
				errs[i] = fmt.Errorf("cluster %s: certificates: %w", c.Name, err)
				return
			}
			c.Token = p.token
			errs[i] = s.start(ctx, c, 0, 0, 0)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		_ = s.Stop()
		return nil, err
	}
	if err := s.save(); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

// Load finds the set that a Start in another process left running in dir.
func Load(dir string) (*Set, error) {
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return nil, err
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "state.json"), err)
	}
	return &Set{dir: dir, bins: st.Binaries, log: io.Discard, timeout: 3 * time.Minute,
		stages: filepath.Join(dir, "kwok-stages.yaml"), clusters: st.Clusters}, nil
}

type state struct {
	Kubeconfig string     `json:"kubeconfig"`
	Binaries   Binaries   `json:"binaries"`
	Clusters   []*Cluster `json:"clusters"`
}

// save writes the kubeconfig and state.json.
func (s *Set) save() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var entries []kubeEntry
	for _, c := range s.clusters {
		entries = append(entries, c.entry())
	}
	if err := os.WriteFile(s.Kubeconfig(), []byte(renderKubeconfig(entries)), 0o600); err != nil {
		return err
	}
	b, err := json.MarshalIndent(state{Kubeconfig: s.Kubeconfig(), Binaries: s.bins, Clusters: s.clusters}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.dir, "state.json"), b, 0o600)
}

// reload takes in the processes that another holder of the set (a process
// that called Load, such as a provider running a drill) started by
// recreating a cluster: state.json has their PIDs and address. Without it,
// Stop would stop only the processes this holder knows and leave those.
func (s *Set) reload() {
	b, err := os.ReadFile(filepath.Join(s.dir, "state.json"))
	if err != nil {
		return
	}
	var st state
	if json.Unmarshal(b, &st) != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, disk := range st.Clusters {
		for _, c := range s.clusters {
			if c.Name != disk.Name {
				continue
			}
			known := map[int]bool{}
			for _, p := range c.Procs {
				known[p.PID] = true
			}
			adopted := false
			for _, p := range disk.Procs {
				if !known[p.PID] && p.alive() {
					c.Procs = append(c.Procs, p)
					adopted = true
				}
			}
			if adopted {
				c.EtcdPort, c.EtcdPeerPort, c.APIPort = disk.EtcdPort, disk.EtcdPeerPort, disk.APIPort
			}
		}
	}
}

// Dir is the set's folder.
func (s *Set) Dir() string { return s.dir }

// Kubeconfig is the path of the kubeconfig with one context per cluster.
func (s *Set) Kubeconfig() string { return filepath.Join(s.dir, "kubeconfig") }

// Names lists the clusters in the order they were asked for.
func (s *Set) Names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, c := range s.clusters {
		out = append(out, c.Name)
	}
	return out
}

// Cluster returns the named cluster.
func (s *Set) Cluster(name string) (*Cluster, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.clusters {
		if c.Name == name {
			return c, true
		}
	}
	return nil, false
}

// Stop stops every process of every cluster (SIGTERM to its process group,
// SIGKILL after 10 s) and removes state.json. The folder stays, with the
// logs, for the caller to remove.
func (s *Set) Stop() error {
	s.reload()
	s.mu.Lock()
	clusters := append([]*Cluster(nil), s.clusters...)
	s.mu.Unlock()
	errs := make([]error, len(clusters))
	var wg sync.WaitGroup
	for i, c := range clusters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.stop()
		}()
	}
	wg.Wait()
	err := errors.Join(errs...)
	if rmErr := os.Remove(filepath.Join(s.dir, "state.json")); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
		err = errors.Join(err, rmErr)
	}
	return err
}

// Destroy stops the named cluster and deletes its etcd data: the cluster
// and everything in it are gone, as in the loss of a region. Its context
// stays in the kubeconfig and points at nothing until Recreate.
func (s *Set) Destroy(name string) error {
	s.reload()
	c, ok := s.Cluster(name)
	if !ok {
		return fmt.Errorf("no cluster named %q", name)
	}
	if err := c.stop(); err != nil {
		return err
	}
	if err := os.RemoveAll(c.etcdData()); err != nil {
		return err
	}
	return s.save()
}

// Recreate destroys the named cluster if it still runs and starts an empty
// one under the same name, CA and token. It takes the old ports when they
// are still free, so the kubeconfig stays valid; otherwise the kubeconfig
// is rewritten with the new address.
func (s *Set) Recreate(ctx context.Context, name string) error {
	c, ok := s.Cluster(name)
	if !ok {
		return fmt.Errorf("no cluster named %q", name)
	}
	if err := s.Destroy(name); err != nil {
		return err
	}
	if err := s.start(ctx, c, c.EtcdPort, c.EtcdPeerPort, c.APIPort); err != nil {
		return err
	}
	return s.save()
}

// start runs the cluster's components and waits until its node is Ready.
// Ports that are zero, or taken, are replaced by free ones.
func (s *Set) start(ctx context.Context, c *Cluster, etcdPort, peerPort, apiPort int) error {
	began := time.Now()
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	const attempts = 4
	var err error
	for attempt := 1; attempt <= attempts; attempt++ {
		if attempt > 1 || etcdPort == 0 || !portsFree(etcdPort, peerPort, apiPort) {
			if etcdPort, peerPort, apiPort, err = freePorts(); err != nil {
				return err
			}
		}
		c.EtcdPort, c.EtcdPeerPort, c.APIPort = etcdPort, peerPort, apiPort
		err = s.startOnce(ctx, c)
		if err == nil {
			c.StartTime = time.Since(began)
			fmt.Fprintf(s.log, "cluster %s ready at %s in %s\n", c.Name, c.Server(), c.StartTime.Round(100*time.Millisecond))
			return nil
		}
		_ = c.stop()
		if !errors.Is(err, errPortTaken) || ctx.Err() != nil {
			return fmt.Errorf("cluster %s: %w", c.Name, err)
		}
		fmt.Fprintf(s.log, "cluster %s: a port was taken, trying others\n", c.Name)
	}
	return fmt.Errorf("cluster %s: gave up after %d sets of ports: %w", c.Name, attempts, err)
}

var errPortTaken = errors.New("port already in use")

func (s *Set) startOnce(ctx context.Context, c *Cluster) error {
	p := pki{dir: filepath.Join(c.Dir, "pki"), token: c.Token}
	logs := filepath.Join(c.Dir, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return err
	}
	c.Procs = nil
	etcdURL := fmt.Sprintf("http://%s:%d", Host, c.EtcdPort)
	peerURL := fmt.Sprintf("http://%s:%d", Host, c.EtcdPeerPort)
	etcd, err := c.spawn("etcd", s.bins.Etcd, logs,
		"--name="+c.Name,
		"--data-dir="+c.etcdData(),
		"--listen-client-urls="+etcdURL,
		"--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster="+c.Name+"="+peerURL,
		"--initial-cluster-state=new",
		// A test cluster trades durability for speed.
		"--unsafe-no-fsync=true",
		"--log-level=warn",
	)
	if err != nil {
		return err
	}
	if err := waitFor(ctx, etcd, "etcd /health", func(ctx context.Context) error {
		return httpOK(ctx, http.DefaultClient, etcdURL+"/health", "")
	}); err != nil {
		return err
	}

	api, err := c.spawn("kube-apiserver", s.bins.APIServer, logs,
		"--etcd-servers="+etcdURL,
		"--bind-address="+Host,
		"--advertise-address="+Host,
		"--secure-port="+strconv.Itoa(c.APIPort),
		// No Endpoints for the kubernetes service: it would point at a
		// loopback address that pods could not reach anyway.
		"--endpoint-reconciler-type=none",
		"--tls-cert-file="+p.serverCert(),
		"--tls-private-key-file="+p.serverKey(),
		"--client-ca-file="+p.caCert(),
		"--token-auth-file="+p.tokens(),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+p.saPub(),
		"--service-account-signing-key-file="+p.saKey(),
		"--service-cluster-ip-range="+c.serviceCIDR(),
		"--allow-privileged=true",
		"--profiling=false",
	)
	if err != nil {
		return err
	}
	client, err := c.httpClient()
	if err != nil {
		return err
	}
	if err := waitFor(ctx, api, "kube-apiserver /readyz", func(ctx context.Context) error {
		return httpOK(ctx, client, c.Server()+"/readyz", c.Token)
	}); err != nil {
		return err
	}

	kubeconfig := filepath.Join(c.Dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(renderKubeconfig([]kubeEntry{c.entry()})), 0o600); err != nil {
		return err
	}
	delegated := []string{"--kubeconfig=" + kubeconfig, "--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig, "--leader-elect=false", "--secure-port=0"}
	if _, err := c.spawn("kube-controller-manager", s.bins.ControllerManager, logs, append(delegated,
		"--cluster-name="+c.Name,
		"--service-account-private-key-file="+p.saKey(),
		"--root-ca-file="+p.caCert(),
		"--service-cluster-ip-range="+c.serviceCIDR(),
		// The node lifecycle controller stays: it clears the not-ready
		// taint once kwok reports the node Ready. Nothing here has a
		// cloud or a pod network to manage.
		"--controllers=*,-node-ipam-controller,-cloud-node-lifecycle-controller,-node-route-controller,-service-lb-controller",
	)...); err != nil {
		return err
	}
	// kwok fakes kubelets but does not schedule.
	if _, err := c.spawn("kube-scheduler", s.bins.Scheduler, logs, delegated...); err != nil {
		return err
	}
	if _, err := c.spawn("kwok", s.bins.Kwok, logs,
		"--kubeconfig="+kubeconfig,
		"--config="+s.stages,
		"--manage-all-nodes=true",
		"--node-lease-duration-seconds=40",
		"--cidr="+c.podCIDR(),
		"--node-ip="+Host,
	); err != nil {
		return err
	}
	if err := c.bootstrap(ctx, client); err != nil {
		return err
	}
	return waitFor(ctx, nil, "node "+nodeName+" Ready and schedulable", func(ctx context.Context) error {
		for _, p := range c.Procs {
			if !p.alive() {
				return fmt.Errorf("%w: %s exited\n--- %s log (tail) ---\n%s", errFatal, p.Name, p.Name, p.tail(30))
			}
		}
		return nodeReady(ctx, client, c)
	})
}

func (c *Cluster) etcdData() string { return filepath.Join(c.Dir, "etcd") }

// serviceCIDR and podCIDR differ per cluster, so two clusters never hand out
// the same addresses (as two regions would not).
func (c *Cluster) serviceCIDR() string { return fmt.Sprintf("10.%d.0.0/16", 96+c.Index) }
func (c *Cluster) podCIDR() string     { return fmt.Sprintf("10.%d.0.1/16", 144+c.Index) }

// Server is the API server's URL.
func (c *Cluster) Server() string { return fmt.Sprintf("https://%s:%d", Host, c.APIPort) }

// Context is the cluster's context name in the kubeconfig.
func (c *Cluster) Context() string { return c.Name }

// CAFile is the PEM file of the CA that signed the API server's certificate.
func (c *Cluster) CAFile() string { return pki{dir: filepath.Join(c.Dir, "pki")}.caCert() }

// CAData is the PEM of the cluster's CA.
func (c *Cluster) CAData() ([]byte, error) { return os.ReadFile(c.CAFile()) }

// RSS is the resident memory of the cluster's processes, in bytes.
func (c *Cluster) RSS() int64 {
	var total int64
	for _, p := range c.Procs {
		total += rss(p.PID)
	}
	return total
}

// Running reports whether every process of the cluster is alive.
func (c *Cluster) Running() bool {
	if len(c.Procs) == 0 {
		return false
	}
	for _, p := range c.Procs {
		if !p.alive() {
			return false
		}
	}
	return true
}

// PIDs are the process ids (and process group ids) of the cluster's processes.
func (c *Cluster) PIDs() map[string]int {
	out := map[string]int{}
	for _, p := range c.Procs {
		out[p.Name] = p.PID
	}
	return out
}

func (c *Cluster) entry() kubeEntry {
	ca, _ := c.CAData()
	return kubeEntry{Name: c.Name, Server: c.Server(), CA: ca, Token: c.Token}
}

func (c *Cluster) httpClient() (*http.Client, error) {
	ca, err := c.CAData()
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("cluster %s: no certificate in %s", c.Name, c.CAFile())
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
	}}, nil
}

// spawn starts a component in its own process group, its output in a log file.
func (c *Cluster) spawn(name, bin, logDir string, args ...string) (*proc, error) {
	logPath := filepath.Join(logDir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Dir = c.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{Name: name, PID: cmd.Process.Pid, Bin: bin, Log: logPath, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	c.Procs = append(c.Procs, p)
	return p, nil
}

// stop ends the processes in reverse order of their start.
func (c *Cluster) stop() error {
	var errs []error
	for i := len(c.Procs) - 1; i >= 0; i-- {
		if err := c.Procs[i].stop(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		c.Procs = nil
	}
	return errors.Join(errs...)
}

func (p *proc) alive() bool {
	if p.done != nil {
		select {
		case <-p.done:
			return false
		default:
			return true
		}
	}
	// Not our child: make sure the PID still belongs to the program we
	// started, not to a process that reused it after a reboot.
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.PID))
	if err != nil {
		return false
	}
	argv0, _, _ := strings.Cut(string(cmdline), "\x00")
	if argv0 != p.Bin {
		return false
	}
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.PID))
	if err != nil {
		return false
	}
	// A zombie waits for its parent to reap it; it runs nothing.
	if _, rest, ok := strings.Cut(string(st), ") "); ok && strings.HasPrefix(rest, "Z") {
		return false
	}
	return true
}

func (p *proc) stop() error {
	if !p.alive() {
		return nil
	}
	if err := syscall.Kill(-p.PID, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop %s (pgid %d): %w", p.Name, p.PID, err)
	}
	if p.waitGone(10 * time.Second) {
		return nil
	}
	_ = syscall.Kill(-p.PID, syscall.SIGKILL)
	if p.waitGone(10 * time.Second) {
		return nil
	}
	return fmt.Errorf("stop %s (pgid %d): %w after SIGKILL", p.Name, p.PID, errStillRunning)
}

var errStillRunning = errors.New("still running")

func (p *proc) waitGone(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if !p.alive() {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return !p.alive()
}

func (p *proc) tail(n int) string {
	b, err := os.ReadFile(p.Log)
	if err != nil {
		return err.Error()
	}
	return lastLines(string(b), n)
}

// errFatal marks a readiness failure that waiting longer cannot fix.
var errFatal = errors.New("cannot become ready")

// waitFor polls check until it succeeds, the context ends, or p exits (then
// the error carries the end of p's log).
func waitFor(ctx context.Context, p *proc, what string, check func(context.Context) error) error {
	var last error = errors.New("no answer yet")
	for {
		if p != nil && !p.alive() {
			log := p.tail(30)
			err := fmt.Errorf("%s exited before %s\n--- %s log (tail) ---\n%s", p.Name, what, p.Name, log)
			if strings.Contains(log, "address already in use") {
				return fmt.Errorf("%w: %w", errPortTaken, err)
			}
			return err
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		last = check(cctx)
		cancel()
		if last == nil {
			return nil
		}
		if errors.Is(last, errFatal) {
			return last
		}
		select {
		case <-ctx.Done():
			msg := fmt.Sprintf("waiting for %s: %v; last: %v", what, ctx.Err(), last)
			if p != nil {
				msg += fmt.Sprintf("\n--- %s log (tail) ---\n%s", p.Name, p.tail(30))
			}
			return errors.New(msg)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func httpOK(ctx context.Context, client *http.Client, url, token string) error {
	status, body, err := call(ctx, client, http.MethodGet, url, token, nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("GET %s: %d: %s", url, status, lastLines(string(body), 5))
	}
	return nil
}

func call(ctx context.Context, client *http.Client, method, url, token string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}

// bootstrap creates what kwok needs to act as the cluster's kubelets and
// volume provisioner: the default StorageClass its volume stages select and
// one fake node.
func (c *Cluster) bootstrap(ctx context.Context, client *http.Client) error {
	objects := []struct {
		path string
		obj  map[string]any
	}{
		{"/apis/storage.k8s.io/v1/storageclasses", map[string]any{
			"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
			"metadata": map[string]any{"name": StorageClass, "annotations": map[string]string{
				"storageclass.kubernetes.io/is-default-class": "true"}},
			"provisioner":       "kwok.x-k8s.io/volume",
			"reclaimPolicy":     "Delete",
			"volumeBindingMode": "Immediate",
		}},
		{"/api/v1/nodes", map[string]any{
			"apiVersion": "v1", "kind": "Node",
			"metadata": map[string]any{
				"name":        nodeName,
				"annotations": map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
				"labels": map[string]string{
					"type": "kwok", "kubernetes.io/hostname": nodeName, "kubernetes.io/os": "linux",
					"kubernetes.io/arch": "amd64", "topology.kubernetes.io/region": c.Name,
				},
			},
			"status": map[string]any{
				"allocatable": map[string]string{"cpu": "32", "memory": "256Gi", "pods": "250"},
				"capacity":    map[string]string{"cpu": "32", "memory": "256Gi", "pods": "250"},
			},
		}},
	}
	for _, o := range objects {
		err := waitFor(ctx, nil, "create "+o.path, func(ctx context.Context) error {
			status, body, err := call(ctx, client, http.MethodPost, c.Server()+o.path, c.Token, o.obj)
			switch {
			case err != nil:
				return err
			case status == http.StatusCreated || status == http.StatusConflict:
				return nil
			default:
				return fmt.Errorf("POST %s: %d: %s", o.path, status, lastLines(string(body), 5))
			}
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func nodeReady(ctx context.Context, client *http.Client, c *Cluster) error {
	status, body, err := call(ctx, client, http.MethodGet, c.Server()+"/api/v1/nodes/"+nodeName, c.Token, nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("GET node: %d", status)
	}
	var node struct {
		Spec struct {
			Taints []struct{ Key, Effect string }
		}
		Status struct {
			Conditions []struct{ Type, Status string }
		}
	}
	if err := json.Unmarshal(body, &node); err != nil {
		return err
	}
	ready := false
	for _, cond := range node.Status.Conditions {
		if cond.Type == "Ready" && cond.Status == "True" {
			ready = true
		}
	}
	if !ready {
		return errors.New("node is not Ready yet")
	}
	for _, t := range node.Spec.Taints {
		if t.Effect == "NoSchedule" || t.Effect == "NoExecute" {
			return fmt.Errorf("node still has taint %s:%s", t.Key, t.Effect)
		}
	}
	return nil
}

// writeStages gathers kwok's Stage configs for nodes, pods and volumes from
// its module into one config file.
func writeStages(dir, stageDir string) (string, error) {
	if stageDir == "" {
		return "", errors.New("no kwok Stage folder (Binaries.StageDir): use cluster.Build or cluster.Find")
	}
	files := []string{
		"node/fast/node-initialize.yaml",
		"node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
		"pod/fast/pod-ready.yaml",
		"pod/fast/pod-complete.yaml",
		"pod/fast/pod-delete.yaml",
		"volume/fast/pvc-provision.yaml",
		"volume/fast/pvc-delete.yaml",
		"volume/fast/pv-bind.yaml",
		"volume/fast/pv-delete.yaml",
	}
	var out bytes.Buffer
	for i, f := range files {
		b, err := os.ReadFile(filepath.Join(stageDir, f))
		if err != nil {
			return "", fmt.Errorf("kwok Stage config: %w", err)
		}
		if i > 0 {
			out.WriteString("---\n")
		}
		out.Write(bytes.TrimSpace(b))
		out.WriteString("\n")
	}
	path := filepath.Join(dir, "kwok-stages.yaml")
	return path, os.WriteFile(path, out.Bytes(), 0o644)
}

func validName(n string) bool {
	if n == "" || len(n) > 63 || n[0] == '-' || n[len(n)-1] == '-' {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(Host, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", Host, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// freePorts returns three distinct free ports, held open together so the
// kernel cannot hand out the same one twice.
func freePorts() (int, int, int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports [3]int
	for i := range ports {
		l, err := net.Listen("tcp", net.JoinHostPort(Host, "0"))
		if err != nil {
			return 0, 0, 0, fmt.Errorf("find a free port on %s: %w", Host, err)
		}
		ls = append(ls, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports[0], ports[1], ports[2], nil
}

func portsFree(ports ...int) bool {
	for _, p := range ports {
		l, err := net.Listen("tcp", net.JoinHostPort(Host, strconv.Itoa(p)))
		if err != nil {
			return false
		}
		l.Close()
	}
	return true
}

func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb * 1024
			}
		}
	}
	return 0
}
