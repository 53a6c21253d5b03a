package compile

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

func capacityOnKubernetes(create bool) blueprint.Capacity {
	c := capacityBlueprint()
	c.Kubernetes = &blueprint.CapacityKubernetes{Namespace: "web", CreateNamespace: create}
	return c
}

func TestCapacityKubernetesGolden(t *testing.T) {
	g, _, err := Capacity(capacityOnKubernetes(true), blueprint.DefaultPrices(), map[string]string{"env": "prod"})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.MarshalIndent(g, "", "  ")
	checkGolden(t, "capacity_kubernetes.golden.json", append(got, '\n'))
}

// The quotas hold each tier of each region's split, in vCPUs of the
// reserved type; the classes order the tiers and only batch never preempts.
func TestCapacityKubernetesSplit(t *testing.T) {
	g, plan, err := Capacity(capacityOnKubernetes(false), blueprint.DefaultPrices(), map[string]string{"env": "prod"})
	if err != nil {
		t.Fatal(err)
	}
	prims := capacityByName(g)
	// m5.large has 2 vCPUs; the split is 30/12/14 in the primary and
	// 15 reserved (failover coverage 0.5), 27 burst, 14 spot in the secondary.
	for name, want := range map[string]string{
		"reserved.primary": "60", "on-demand.primary": "24", "spot.primary": "28",
		"reserved.secondary": "30", "on-demand.secondary": "54", "spot.secondary": "28",
	} {
		q, ok := prims[primitive.K8sResourceQuota+"."+name]
		if !ok {
			t.Fatalf("no quota %s", name)
		}
		tier, role, _ := strings.Cut(name, ".")
		if got := q.Properties["hard"].(map[string]any)[QuotaResource]; got != want {
			t.Errorf("quota %s: %s = %v, want %s", name, QuotaResource, got, want)
		}
		if q.Properties["namespace"] != "web" || q.Properties["name"] != "web-"+tier || q.Properties["priority_class"] != "web-"+tier {
			t.Errorf("quota %s: %v", name, q.Properties)
		}
		region := map[string]string{"primary": "us-east-1", "secondary": "us-west-2"}[role]
		if q.Region != region || q.Tags["team"] != "web" || q.Tags["env"] != "prod" || q.Tags[TagRegionRole] != role ||
			q.Tags[TagResource] != "meridian_capacity_reservation.web" {
			t.Errorf("quota %s: region %s, tags %v", name, q.Region, q.Tags)
		}
		if deps := q.Dependencies(); len(deps) != 1 || deps[0] != primitive.K8sPriorityClass+"."+name {
			t.Errorf("quota %s depends on %v, want its class", name, deps)
		}
	}
	if plan.Secondary.Reserved != 15 {
		t.Fatalf("secondary reserves %d, the test expects 15", plan.Secondary.Reserved)
	}
	value := func(name string) float64 {
		return prims[primitive.K8sPriorityClass+"."+name].Properties["value"].(float64)
	}
	if !(value("reserved.primary") > value("on-demand.primary") && value("on-demand.primary") > value("spot.primary")) {
		t.Errorf("class values do not order the tiers: %v > %v > %v", value("reserved.primary"), value("on-demand.primary"), value("spot.primary"))
	}
	for _, role := range []string{"primary", "secondary"} {
		for tier, want := range map[string]string{"reserved": "PreemptLowerPriority", "on-demand": "PreemptLowerPriority", "spot": "Never"} {
			pc := prims[primitive.K8sPriorityClass+"."+tier+"."+role]
			if pc.Properties["preemption_policy"] != want || pc.Properties["global_default"] != false {
				t.Errorf("class %s.%s: %v", tier, role, pc.Properties)
			}
		}
	}
	if _, ok := prims[primitive.K8sNamespace+".primary"]; ok {
		t.Error("a namespace was compiled without create_namespace")
	}
	// Without a kubernetes block, nothing for the clusters.
	g, _, err = Capacity(capacityBlueprint(), blueprint.DefaultPrices(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range g.Primitives {
		if strings.HasPrefix(p.Type, "k8s_") {
			t.Errorf("%s compiled without a kubernetes block", p.Name)
		}
	}
}

func TestCapacityKubernetesNamespaceRules(t *testing.T) {
	for ns, ok := range map[string]bool{"web": true, "a": true, "batch-jobs-2": true, "": false, "Web": false, "-web": false, "web_jobs": false, strings.Repeat("a", 64): false} {
		c := capacityBlueprint()
		c.Kubernetes = &blueprint.CapacityKubernetes{Namespace: ns}
		_, _, err := Capacity(c, blueprint.DefaultPrices(), nil)
		if ok && err != nil {
			t.Errorf("namespace %q: %v", ns, err)
		}
		if !ok && (err == nil || !strings.Contains(err.Error(), "namespace")) {
			t.Errorf("namespace %q: err = %v, want a namespace problem", ns, err)
		}
	}
}
