package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// errDrillNeedsTerraform says why the CLI does not drill: a drill destroys
// and recreates the primary region's Kubernetes cluster and restores the
// pair's workload in it, and a stack cannot declare clusters (the
// provider's kubernetes block) or workloads (a region pair's workload
// block) yet.
var errDrillNeedsTerraform = errors.New(`meridian drill is not available in the CLI yet: a drill destroys the primary region's Kubernetes cluster, recreates it and restores the region pair's workload, and a stack cannot declare Kubernetes clusters (the provider's kubernetes block) or workloads (a region pair's workload block).
Drill with terraform instead: declare a meridian_dr_drill resource next to the meridian_dr_policy (see examples/drill/main.tf and docs/resources/dr_drill.md); ` + "`meridian runbook`" + ` prints the restore order the drill follows`)

func drillCmd(_ *flags) *cobra.Command {
	return &cobra.Command{
		Use:   "drill [LABEL]",
		Short: "Not in the CLI yet: drill a DR policy with the meridian_dr_drill terraform resource",
		Long:  errDrillNeedsTerraform.Error() + ".",
		Args:  cobra.ArbitraryArgs,
		RunE: func(*cobra.Command, []string) error {
			return errDrillNeedsTerraform
		},
	}
}
