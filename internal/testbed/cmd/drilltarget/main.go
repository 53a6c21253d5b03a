// Command drilltarget marks a cluster as one a DR drill may destroy: it
// labels the kube-system namespace meridian.io/drill-target=true (or
// removes the label with -unmark). The demo uses it on the local testbed.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meridianhq/terraform-provider-meridian/internal/cloud/k8s"
	"github.com/meridianhq/terraform-provider-meridian/internal/drill"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig path")
	context_ := flag.String("context", "", "context of the cluster to mark")
	unmark := flag.Bool("unmark", false, "remove the mark instead")
	flag.Parse()
	if err := mark(*kubeconfig, *context_, !*unmark); err != nil {
		fmt.Fprintln(os.Stderr, "drilltarget:", err)
		os.Exit(1)
	}
}

func mark(kubeconfig, name string, on bool) error {
	clusters, err := k8s.New(map[string]k8s.ClusterConfig{name: {Kubeconfig: kubeconfig, Context: name}})
	if err != nil {
		return err
	}
	client, err := clusters.Client(name)
	if err != nil {
		return err
	}
	ctx := context.Background()
	sys, err := client.CoreV1().Namespaces().Get(ctx, "kube-system", metav1.GetOptions{})
	if err != nil {
		return err
	}
	if sys.Labels == nil {
		sys.Labels = map[string]string{}
	}
	if on {
		sys.Labels[drill.DrillTargetLabel] = "true"
	} else {
		delete(sys.Labels, drill.DrillTargetLabel)
	}
	if _, err := client.CoreV1().Namespaces().Update(ctx, sys, metav1.UpdateOptions{}); err != nil {
		return err
	}
	fmt.Printf("cluster %s: %s=%v on kube-system\n", name, drill.DrillTargetLabel, on)
	return nil
}
