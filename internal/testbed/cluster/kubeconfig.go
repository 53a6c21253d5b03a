package cluster

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// kubeEntry is one cluster as a kubeconfig names it: a cluster, a user and
// a context that share the cluster's name.
type kubeEntry struct {
	Name   string
	Server string
	CA     []byte
	Token  string
}

// renderKubeconfig writes the kubeconfig that `kind get kubeconfig` users
// expect: one context per cluster, the first one current. It is written by
// hand because it is small and the testbed should not pull in client-go.
func renderKubeconfig(entries []kubeEntry) string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Config\npreferences: {}\nclusters:\n")
	for _, e := range entries {
		fmt.Fprintf(&b, "- name: %s\n  cluster:\n    server: %s\n    certificate-authority-data: %s\n",
			e.Name, e.Server, base64.StdEncoding.EncodeToString(e.CA))
	}
	b.WriteString("users:\n")
	for _, e := range entries {
		fmt.Fprintf(&b, "- name: %s-admin\n  user:\n    token: %s\n", e.Name, e.Token)
	}
	b.WriteString("contexts:\n")
	for _, e := range entries {
		fmt.Fprintf(&b, "- name: %s\n  context:\n    cluster: %s\n    user: %s-admin\n", e.Name, e.Name, e.Name)
	}
	if len(entries) > 0 {
		fmt.Fprintf(&b, "current-context: %s\n", entries[0].Name)
	}
	return b.String()
}
