package test

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/gruntwork-io/terratest/modules/k8s"
	"github.com/gruntwork-io/terratest/modules/terraform"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
)

// TestCapacitySplitInTwoClusters applies a capacity reservation with a
// kubernetes block through real terraform and checks, in both clusters, the
// PriorityClasses of the three tiers and the quotas scoped to them, sized
// from the split the forecast implies (the secondary's reserved quota being
// its failover reservation); then an empty plan, and a destroy that leaves
// no class behind.
func TestCapacitySplitInTwoClusters(t *testing.T) {
	b := start(t, filepath.Join("test", "fixtures", "capacity"))
	// moto has no CapacityReservation API: the testbed's server (or the
	// strict layer) adds it.
	capacity, _, err := b.moto.Capacity()
	if err != nil {
		t.Fatalf("ec2 capacity server: %v", err)
	}

	// Two weeks of hourly demand: 4 instances growing by 0.01 an hour, ±1
	// over the day, rounded so that HCL carries exactly these numbers.
	var demand []float64
	for h := range 24 * 14 {
		v := 4 + 0.01*float64(h) + math.Sin(2*math.Pi*(float64(h)+0.5)/24)
		demand = append(demand, math.Round(v*100)/100)
	}
	b.opts.Vars["aws_endpoint"] = capacity
	b.opts.Vars["image_id"] = image(t, b)
	b.opts.Vars["demand"] = demand

	half := 0.5
	_, plan, err := compile.Capacity(blueprint.Capacity{
		Name: "cap-e2e", PrimaryRegion: "us-east-1", SecondaryRegion: "us-west-2", InstanceTypes: []string{"m5.large", "m5.xlarge"},
		ImageID: "ami-x", Horizon: "7d", Batch: 0.25, FailoverCoverage: &half,
		Demand: blueprint.Demand{Values: demand, Start: "2026-09-01T00:00:00Z"},
	}, blueprint.DefaultPrices(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("split: primary %+v, secondary %+v", plan.Primary, plan.Secondary)
	if plan.Primary.Reserved == 0 || plan.Secondary.Reserved >= plan.Primary.Reserved {
		t.Fatalf("test data: want a reservation in the primary and half of it in the secondary: %+v %+v", plan.Primary, plan.Secondary)
	}

	destroyed := false
	defer func() {
		if !destroyed {
			terraform.Destroy(t, b.opts)
		}
	}()
	terraform.InitAndApply(t, b.opts)

	const vcpus = 2 // m5.large
	ctx := context.Background()
	for _, c := range []struct {
		context, role string
		split         blueprint.RegionSplit
	}{{"region-a", "primary", plan.Primary}, {"region-b", "secondary", plan.Secondary}} {
		client, err := k8s.GetKubernetesClientFromOptionsE(t, b.kube(c.context, "jobs"))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]struct {
			value  int32
			policy corev1.PreemptionPolicy
			cpu    int
		}{
			"cap-e2e-reserved":  {100000, corev1.PreemptLowerPriority, c.split.Reserved * vcpus},
			"cap-e2e-on-demand": {10000, corev1.PreemptLowerPriority, c.split.OnDemandBurst * vcpus},
			"cap-e2e-spot":      {1000, corev1.PreemptNever, c.split.SpotPeak * vcpus},
		}
		for name, w := range want {
			pc, err := client.SchedulingV1().PriorityClasses().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Errorf("%s: priority class %s: %v", c.context, name, err)
				continue
			}
			if pc.Value != w.value || pc.GlobalDefault || pc.PreemptionPolicy == nil || *pc.PreemptionPolicy != w.policy {
				t.Errorf("%s: class %s = value %d, global default %v, policy %v; want %d, false, %s", c.context, name, pc.Value, pc.GlobalDefault, pc.PreemptionPolicy, w.value, w.policy)
			}
			for k, v := range map[string]string{"cost-centre": "cc-2042", "service": "jobs", "meridian/region-role": c.role,
				"meridian/resource": "meridian_capacity_reservation.cap-e2e"} {
				if pc.Labels[k] != v {
					t.Errorf("%s: class %s label %s = %q, want %q", c.context, name, k, pc.Labels[k], v)
				}
			}
			q, err := client.CoreV1().ResourceQuotas("jobs").Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Errorf("%s: quota %s: %v", c.context, name, err)
				continue
			}
			if got := q.Spec.Hard[corev1.ResourceRequestsCPU]; got.Cmp(resource.MustParse(strconv.Itoa(w.cpu))) != 0 || len(q.Spec.Hard) != 1 {
				t.Errorf("%s: quota %s hard = %v, want requests.cpu %d", c.context, name, q.Spec.Hard, w.cpu)
			}
			sel := q.Spec.ScopeSelector
			if sel == nil || len(sel.MatchExpressions) != 1 || sel.MatchExpressions[0].ScopeName != corev1.ResourceQuotaScopePriorityClass ||
				sel.MatchExpressions[0].Operator != corev1.ScopeSelectorOpIn || !reflect.DeepEqual(sel.MatchExpressions[0].Values, []string{name}) {
				t.Errorf("%s: quota %s scope selector %+v, want PriorityClass in [%s]", c.context, name, sel, name)
			}
		}
	}
	if code := terraform.PlanExitCode(t, b.opts); code != 0 {
		t.Fatalf("plan after apply exits %d, want 0 (no changes)", code)
	}

	terraform.Destroy(t, b.opts)
	destroyed = true
	for _, context := range []string{"region-a", "region-b"} {
		client, err := k8s.GetKubernetesClientFromOptionsE(t, b.kube(context, ""))
		if err != nil {
			t.Fatal(err)
		}
		classes, err := client.SchedulingV1().PriorityClasses().List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=meridian"})
		if err != nil || len(classes.Items) != 0 {
			t.Errorf("%s: meridian's priority classes left after destroy: %v (%v)", context, classes, err)
		}
		if _, err := k8s.GetNamespaceE(t, b.kube(context, ""), "jobs"); err == nil {
			t.Errorf("%s: namespace jobs still exists after destroy", context)
		}
	}
	fmt.Println("e2e: capacity split applied as priority classes and quotas in two clusters, and destroyed")
}

// image is an AMI moto has in both regions.
func image(t *testing.T, b *bed) string {
	t.Helper()
	seen := map[string]int{}
	for _, region := range []string{"us-east-1", "us-west-2"} {
		out, err := ec2.NewFromConfig(b.aws(region)).DescribeImages(context.Background(), &ec2.DescribeImagesInput{})
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range out.Images {
			seen[aws.ToString(im.ImageId)]++
		}
	}
	for id, n := range seen {
		if n == 2 {
			return id
		}
	}
	t.Fatal("moto has no AMI in both us-east-1 and us-west-2")
	return ""
}
