package blueprint

import (
	"fmt"
	"regexp"
	"strings"
)

// Workload is the service a region pair runs on Kubernetes, once in each
// region's cluster.
type Workload struct {
	Image string `json:"image"`
	// Replicas run in every active region.
	Replicas int `json:"replicas,omitempty"`
	// StandbyReplicas run in the secondary region of an active-passive pair,
	// warm enough to take traffic while it scales up.
	StandbyReplicas int               `json:"standby_replicas,omitempty"`
	Ports           []int             `json:"ports,omitempty"`
	Env             map[string]string `json:"env,omitempty"`
	Volume          *Volume           `json:"volume,omitempty"`
}

// Volume is a claim mounted into the workload's containers.
type Volume struct {
	Size      string `json:"size"`
	MountPath string `json:"mount_path,omitempty"`
}

// Workload defaults.
const (
	DefaultReplicas        = 2
	DefaultStandbyReplicas = 1
	DefaultMountPath       = "/data"
)

func (w Workload) withDefaults() Workload {
	if w.Replicas == 0 {
		w.Replicas = DefaultReplicas
	}
	if w.StandbyReplicas == 0 {
		w.StandbyReplicas = DefaultStandbyReplicas
	}
	if w.Volume != nil && w.Volume.MountPath == "" {
		v := *w.Volume
		v.MountPath = DefaultMountPath
		w.Volume = &v
	}
	return w
}

var (
	quantityPattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$`)
	envNamePattern  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

func (w Workload) validate() []Problem {
	var ps []Problem
	add := func(summary, detail string, paths ...string) {
		ps = append(ps, Problem{Paths: paths, Summary: summary, Detail: detail})
	}
	if strings.TrimSpace(w.Image) == "" || strings.ContainsAny(w.Image, " \t") {
		add("Invalid image", fmt.Sprintf("%q is not a container image reference.", w.Image), "workload.image")
	}
	if w.Replicas < 1 {
		add("Invalid replicas", fmt.Sprintf("replicas %d: an active region runs at least one.", w.Replicas), "workload.replicas")
	}
	if w.StandbyReplicas < 0 || w.StandbyReplicas > w.Replicas {
		add("Invalid standby replicas", fmt.Sprintf("standby_replicas %d must be between 0 and replicas (%d).", w.StandbyReplicas, w.Replicas), "workload.standby_replicas")
	}
	for _, p := range w.Ports {
		if p < 1 || p > 65535 {
			add("Invalid port", fmt.Sprintf("%d is not a TCP port.", p), "workload.ports")
		}
	}
	for _, k := range sortedKeys(w.Env) {
		if !envNamePattern.MatchString(k) || strings.HasPrefix(k, "MERIDIAN_") {
			add("Invalid environment variable", fmt.Sprintf("%q must be a C identifier and not start with MERIDIAN_ (reserved for the region role and peer).", k), "workload.env")
		}
	}
	if v := w.Volume; v != nil {
		if !quantityPattern.MatchString(v.Size) {
			add("Invalid volume size", fmt.Sprintf("%q is not a Kubernetes quantity such as \"1Gi\".", v.Size), "workload.volume.size")
		}
		if !strings.HasPrefix(v.MountPath, "/") {
			add("Invalid mount path", fmt.Sprintf("%q must be an absolute path.", v.MountPath), "workload.volume.mount_path")
		}
	}
	return ps
}
