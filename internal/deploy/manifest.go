package deploy

import (
	"context"
	"fmt"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// Parameters reads SSM parameters: where a region pair keeps its manifest.
type Parameters interface {
	GetParameter(ctx context.Context, region, name string) (map[string]any, error)
}

// Manifest is what a region pair keeps in its primary region, so that it
// can be imported and drilled from anywhere: the pair as declared and the
// ids of its primitives, by primitive name.
type Manifest struct {
	Blueprint blueprint.RegionPair `json:"blueprint"`
	IDs       map[string]string    `json:"ids"`
}

// ReadManifest reads the manifest of region pair name in region. Its IDs
// include the manifest's own.
func ReadManifest(ctx context.Context, params Parameters, region, name string) (Manifest, error) {
	var m Manifest
	doc, err := params.GetParameter(ctx, region, compile.ManifestName(name))
	if err != nil {
		return m, fmt.Errorf("no meridian manifest %s in %s: %w", compile.ManifestName(name), region, err)
	}
	if err := primitive.Decode(doc, &m); err != nil {
		return m, fmt.Errorf("the manifest %s is not a region pair's: %w", compile.ManifestName(name), err)
	}
	if m.IDs == nil {
		m.IDs = map[string]string{}
	}
	m.IDs[compile.Manifest] = compile.ManifestName(name)
	// A manifest written before manifests were kept stated.
	m.Blueprint = m.Blueprint.Stated()
	return m, nil
}
