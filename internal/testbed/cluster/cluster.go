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
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// Host is the only address the clusters bind to.
const Host = "127.0.0.1"

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
