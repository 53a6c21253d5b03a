package compile

import (
	"encoding/json"
	"testing"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

func workloadPair(mode blueprint.Mode) blueprint.RegionPair {
	rp := fullActivePassive()
	rp.Mode = mode
	rp.Workload = &blueprint.Workload{Image: "registry.example/payments:2.1", Replicas: 3, Ports: []int{8080},
		Env: map[string]string{"LOG_LEVEL": "info"}, Volume: &blueprint.Volume{Size: "1Gi"}}
	return rp
}

func TestWorkloadGolden(t *testing.T) {
	g, err := RegionPair(workloadPair(blueprint.ActivePassive), defaultTags)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.MarshalIndent(g, "", "  ")
	checkGolden(t, "workload_active_passive.golden.json", append(got, '\n'))
}

// The secondary runs standby replicas in active-passive, full replicas in active-active.
func TestWorkloadReplicasByMode(t *testing.T) {
	for mode, want := range map[blueprint.Mode]float64{blueprint.ActivePassive: blueprint.DefaultStandbyReplicas, blueprint.ActiveActiveSharded: 3} {
		g, err := RegionPair(workloadPair(mode), nil)
		if err != nil {
			t.Fatal(err)
		}
		prims := byName(g)
		if got := prims[primitive.K8sDeployment+".primary"].Properties["replicas"]; got != float64(3) {
			t.Errorf("%s: primary replicas = %v, want 3", mode, got)
		}
		if got := prims[primitive.K8sDeployment+".secondary"].Properties["replicas"]; got != want {
			t.Errorf("%s: secondary replicas = %v, want %v", mode, got, want)
		}
		if got := prims[primitive.K8sDeployment+".secondary"].Tags[TagRegionRole]; got != "secondary" {
			t.Errorf("%s: secondary deployment's role tag = %q", mode, got)
		}
		data := prims[primitive.K8sConfigMap+".primary"].Properties["data"].(map[string]any)
		if data[EnvPeerRegion] != "us-west-2" || data[EnvPeerEndpoint] != "api-usw2.example.com" {
			t.Errorf("%s: primary config map %v, want the secondary as peer", mode, data)
		}
	}
}

func TestWorkloadRules(t *testing.T) {
	rp := workloadPair(blueprint.ActivePassive)
	rp.Workload.StandbyReplicas = 5
	if _, err := RegionPair(rp, nil); err == nil {
		t.Fatal("standby replicas above replicas compiled")
	}
	rp = workloadPair(blueprint.ActivePassive)
	rp.Workload.Env["MERIDIAN_REGION"] = "x"
	if _, err := RegionPair(rp, nil); err == nil {
		t.Fatal("a reserved MERIDIAN_ variable compiled")
	}
}
