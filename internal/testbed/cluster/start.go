package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

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
