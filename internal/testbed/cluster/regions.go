package cluster

import (
	"context"
	"fmt"
)

// Regions destroys and recreates the set's clusters by the region each
// stands for, as a drill loses and rebuilds a region.
type Regions struct {
	Set *Set
	// Contexts names each region's cluster: its context in the kubeconfig.
	Contexts map[string]string
}

func (r Regions) name(region string) (string, error) {
	if c := r.Contexts[region]; c != "" {
		return c, nil
	}
	return "", fmt.Errorf("no cluster context is configured for region %s", region)
}

// Destroy destroys the cluster of region.
func (r Regions) Destroy(_ context.Context, region string) error {
	name, err := r.name(region)
	if err != nil {
		return err
	}
	return r.Set.Destroy(name)
}

// Recreate starts an empty cluster for region in place of the old one.
func (r Regions) Recreate(ctx context.Context, region string) error {
	name, err := r.name(region)
	if err != nil {
		return err
	}
	return r.Set.Recreate(ctx, name)
}
