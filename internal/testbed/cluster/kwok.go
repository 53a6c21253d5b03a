package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
)

// nodeName is the fake node kwok runs every pod on.
const nodeName = "kwok-node-0"

// StorageClass is the default storage class of every cluster; kwok binds
// the claims that use it.
const StorageClass = "kwok-volume"

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
