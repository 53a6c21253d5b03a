package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

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

// Start starts the named clusters side by side and writes the kubeconfig
// and the lifecycle executable a DR drill runs (see lifecycleFile).
// On failure it stops whatever it started and returns an error with the
// end of the failing component's log.
func Start(ctx context.Context, opts Options) (*Set, error) {
	if len(opts.Names) == 0 {
		return nil, errors.New("no cluster names given")
	}
	// A cluster's folder is named after it, next to the set's own files.
	seen := map[string]bool{"kubeconfig": true, lifecycleFile: true}
	for _, n := range opts.Names {
		if !validName(n) || seen[n] {
			return nil, fmt.Errorf("cluster name %q is empty, repeated, reserved or not a DNS label", n)
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
	if err := writeLifecycle(ctx, dir); err != nil {
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
// log receives progress lines (of a Recreate); nil discards them.
func Load(dir string, log io.Writer) (*Set, error) {
	if log == nil {
		log = io.Discard
	}
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return nil, err
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "state.json"), err)
	}
	return &Set{dir: dir, bins: st.Binaries, log: log, timeout: 3 * time.Minute,
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
