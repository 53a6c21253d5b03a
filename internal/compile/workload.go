package compile

import (
	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// Primitive types of the Kubernetes driver set. A Kubernetes primitive's
// region is the AWS region name its cluster stands for.
const (
	K8sNamespace             = "k8s_namespace"
	K8sConfigMap             = "k8s_configmap"
	K8sDeployment            = "k8s_deployment"
	K8sService               = "k8s_service"
	K8sPersistentVolumeClaim = "k8s_persistent_volume_claim"
)

// Config map keys a workload reads to know where it runs.
const (
	EnvRegion       = "MERIDIAN_REGION"
	EnvRegionRole   = "MERIDIAN_REGION_ROLE"
	EnvPeerRegion   = "MERIDIAN_PEER_REGION"
	EnvPeerEndpoint = "MERIDIAN_PEER_ENDPOINT"
)

// workload adds the pair's service to both regions' clusters: a namespace
// named after the pair holding a config map with the region's role and its
// peer, an optional volume claim, a deployment and a service. The secondary
// of an active-passive pair runs the standby replica count.
func (b *graphBuilder) workload(rp blueprint.RegionPair, w blueprint.Workload) {
	regions := map[string]string{"primary": rp.PrimaryRegion, "secondary": rp.SecondaryRegion}
	peers := map[string]string{"primary": "secondary", "secondary": "primary"}
	endpoints := map[string]string{}
	for role, region := range regions {
		endpoints[role] = rp.Name + "." + rp.Name + ".svc.cluster.local (" + region + ")"
	}
	if d := rp.DNS; d != nil {
		endpoints["primary"], endpoints["secondary"] = d.PrimaryEndpoint, d.SecondaryEndpoint
	}
	for _, role := range []string{"primary", "secondary"} {
		region, ns := regions[role], K8sNamespace+"."+role
		b.add(primitive.Primitive{
			Name: ns, Type: K8sNamespace, Region: region,
			Properties: map[string]any{"name": rp.Name},
		}, role)
		config := K8sConfigMap + "." + role
		b.add(primitive.Primitive{
			Name: config, Type: K8sConfigMap, Region: region,
			Properties: map[string]any{
				"namespace": primitive.Ref(ns, "id"),
				"name":      rp.Name + "-region",
				"data": map[string]any{
					EnvRegion: region, EnvRegionRole: role,
					EnvPeerRegion: regions[peers[role]], EnvPeerEndpoint: endpoints[peers[role]],
				},
			},
		}, role)
		replicas := w.Replicas
		if role == "secondary" && rp.Mode == blueprint.ActivePassive {
			replicas = w.StandbyReplicas
		}
		ports := make([]any, len(w.Ports))
		for i, p := range w.Ports {
			ports[i] = p
		}
		env := map[string]any{}
		for k, v := range w.Env {
			env[k] = v
		}
		deployment := map[string]any{
			"namespace": primitive.Ref(ns, "id"), "name": rp.Name, "image": w.Image, "replicas": replicas,
			"ports": ports, "env": env, "config_map": rp.Name + "-region",
		}
		// The drivers output no names, so the dependencies are explicit.
		needs := []string{config}
		if v := w.Volume; v != nil {
			claim := K8sPersistentVolumeClaim + "." + role
			b.add(primitive.Primitive{
				Name: claim, Type: K8sPersistentVolumeClaim, Region: region,
				Properties: map[string]any{"namespace": primitive.Ref(ns, "id"), "name": rp.Name + "-data", "storage": v.Size},
			}, role)
			deployment["volume_claim"], deployment["mount_path"] = rp.Name+"-data", v.MountPath
			needs = append(needs, claim)
		}
		// env values may be secrets: the engine keeps only their seal.
		b.add(primitive.Primitive{Name: K8sDeployment + "." + role, Type: K8sDeployment, Region: region, Properties: deployment,
			DependsOn: needs, Sensitive: []string{"env"}}, role)
		if len(w.Ports) > 0 {
			b.add(primitive.Primitive{
				Name: K8sService + "." + role, Type: K8sService, Region: region,
				Properties: map[string]any{"namespace": primitive.Ref(ns, "id"), "name": rp.Name, "ports": ports},
				DependsOn:  []string{K8sDeployment + "." + role},
			}, role)
		}
	}
}
