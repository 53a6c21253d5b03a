package aws

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed/ec2capacity"
)

// capacityGraph is a reservation, a launch template that targets it and a
// group that launches from the template, as the compiler emits them.
func capacityGraph(image string, reserved, maxSize int, minAtPeak int, tags map[string]string) primitive.Graph {
	cr, lt := compile.EC2CapacityReservation+".primary", compile.LaunchTemplate+".primary"
	return primitive.Graph{Primitives: []primitive.Primitive{
		{Name: cr, Type: compile.EC2CapacityReservation, Region: "us-east-1", Tags: tags, Properties: primitive.Normalize(map[string]any{
			"instance_type": "m5.large", "instance_platform": "Linux/UNIX", "availability_zone": "us-east-1a",
			"tenancy": "default", "instance_count": reserved, "instance_match_criteria": "targeted",
		})},
		{Name: lt, Type: compile.LaunchTemplate, Region: "us-east-1", Tags: tags, Properties: primitive.Normalize(map[string]any{
			"name": "drv-web", "image_id": image, "instance_type": "m5.large", "capacity_reservation_id": primitive.Ref(cr, "id"),
		})},
		{Name: compile.AutoScalingGroup + ".primary", Type: compile.AutoScalingGroup, Region: "us-east-1", Tags: tags, Properties: primitive.Normalize(map[string]any{
			"name": "drv-web", "min_size": reserved, "max_size": maxSize, "availability_zones": []string{"us-east-1a"},
			"launch_template_id": primitive.Ref(lt, "id"), "instance_types": []string{"m5.large", "m5.xlarge"},
			"on_demand_base_capacity": reserved, "on_demand_percentage_above_base_capacity": 40,
			"spot_allocation_strategy": "price-capacity-optimized",
			"target_tracking":          map[string]any{"policy_name": "cpu", "metric": "ASGAverageCPUUtilization", "target_value": 60},
			"scheduled_actions": []any{
				map[string]any{"name": "peak", "recurrence": "0 9 * * *", "min_size": minAtPeak},
				map[string]any{"name": "off-peak", "recurrence": "0 21 * * *", "min_size": reserved},
			},
		})},
	}}
}

func TestCapacityDriversAgainstMoto(t *testing.T) {
	testbed.RequireTool(t, "moto_server")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	moto, err := testbed.StartMoto(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer moto.Stop()
	srv, err := ec2capacity.Start(moto.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c, err := New(ctx, Config{Endpoint: srv.Endpoint(), AccessKey: "test", SecretKey: "test", SkipCredentialsValidation: true, Emulator: true})
	if err != nil {
		t.Fatal(err)
	}
	images, err := c.EC2("us-east-1").DescribeImages(ctx, &ec2.DescribeImagesInput{})
	if err != nil || len(images.Images) == 0 {
		t.Fatalf("moto's images: %v", err)
	}
	image := aws.ToString(images.Images[0].ImageId)

	offered, err := c.InstanceTypesOffered(ctx, "us-east-1", "us-east-1a", []string{"m5.large", "x9.nothing"})
	if err != nil || !offered["m5.large"] || offered["x9.nothing"] {
		t.Errorf("offerings: %v %v", offered, err)
	}

	e := &engine.Engine{Drivers: c.Drivers()}
	var st engine.State
	tags := map[string]string{"team": "web"}
	deploy := func(g primitive.Graph) engine.Plan {
		t.Helper()
		p, err := engine.Diff(g, st, e.Drivers)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Apply(ctx, p, &st); err != nil {
			t.Fatal(err)
		}
		return p
	}
	deploy(capacityGraph(image, 3, 10, 6, tags))

	crRecord := func() engine.Record {
		r, _ := st.Get(compile.EC2CapacityReservation + ".primary")
		return r
	}
	crID := crRecord().ID
	crs, err := c.EC2("us-east-1").DescribeCapacityReservations(ctx, &ec2.DescribeCapacityReservationsInput{CapacityReservationIds: []string{crID}})
	if err != nil || aws.ToInt32(crs.CapacityReservations[0].TotalInstanceCount) != 3 || ec2TagMap(crs.CapacityReservations[0].Tags)["team"] != "web" {
		t.Fatalf("reservation: %v %+v", err, crs)
	}
	lts, err := c.EC2("us-east-1").DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateName: aws.String("drv-web"), Versions: []string{"$Default"}})
	if err != nil {
		t.Fatal(err)
	}
	data := lts.LaunchTemplateVersions[0].LaunchTemplateData
	if got := aws.ToString(data.CapacityReservationSpecification.CapacityReservationTarget.CapacityReservationId); got != crID {
		t.Errorf("launch template targets %q, want %s", got, crID)
	}
	specs := map[string]map[string]string{}
	for _, s := range data.TagSpecifications {
		specs[string(s.ResourceType)] = ec2TagMap(s.Tags)
	}
	if specs["instance"]["team"] != "web" || specs["volume"]["team"] != "web" {
		t.Errorf("launch template tag specifications for instances and volumes: %v", specs)
	}
	groups, err := c.AutoScaling("us-east-1").DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"drv-web"}})
	if err != nil || len(groups.AutoScalingGroups) != 1 {
		t.Fatalf("group: %v", err)
	}
	g := groups.AutoScalingGroups[0]
	dist := g.MixedInstancesPolicy.InstancesDistribution
	if aws.ToInt32(g.MinSize) != 3 || aws.ToInt32(g.MaxSize) != 10 || aws.ToInt32(dist.OnDemandBaseCapacity) != 3 || aws.ToInt32(dist.OnDemandPercentageAboveBaseCapacity) != 40 ||
		len(g.MixedInstancesPolicy.LaunchTemplate.Overrides) != 2 {
		t.Errorf("group: min %d max %d base %d above %d overrides %d", aws.ToInt32(g.MinSize), aws.ToInt32(g.MaxSize), aws.ToInt32(dist.OnDemandBaseCapacity), aws.ToInt32(dist.OnDemandPercentageAboveBaseCapacity), len(g.MixedInstancesPolicy.LaunchTemplate.Overrides))
	}
	pols, err := c.AutoScaling("us-east-1").DescribePolicies(ctx, &autoscaling.DescribePoliciesInput{AutoScalingGroupName: aws.String("drv-web")})
	if err != nil || len(pols.ScalingPolicies) != 1 || aws.ToFloat64(pols.ScalingPolicies[0].TargetTrackingConfiguration.TargetValue) != 60 {
		t.Errorf("target tracking: %v %+v", err, pols)
	}
	actions, err := (groupDriver{c}).scheduled(ctx, "us-east-1", "drv-web")
	if err != nil || actions["peak"].MinSize != 6 || actions["off-peak"].Recurrence != "0 21 * * *" {
		t.Errorf("scheduled actions: %v %+v", err, actions)
	}

	// Read back what was made: nothing has drifted, so the plan is empty.
	drifts, _, err := e.Refresh(ctx, &st)
	if err != nil || len(drifts) != 0 {
		t.Fatalf("refresh after create: %v %v", err, drifts)
	}
	if p, _ := engine.Diff(capacityGraph(image, 3, 10, 6, tags), st, e.Drivers); len(p.Changes()) != 0 {
		t.Fatalf("plan after refresh is not empty: %v", p.Changes())
	}

	// A new forecast changes counts and tags in place: nothing is replaced.
	p := deploy(capacityGraph(image, 4, 12, 7, map[string]string{"team": "web", "cost": "cc-9"}))
	if n := p.Count(); n[engine.OpUpdate] != 3 || n[engine.OpReplace] != 0 {
		t.Errorf("second apply: %v, want 3 updates", n)
	}
	if crRecord().ID != crID {
		t.Errorf("reservation replaced: %s -> %s", crID, crRecord().ID)
	}
	obs, err := (reservationDriver{c}).Read(ctx, crRecord())
	if err != nil || obs.Properties["instance_count"] != int32(4) || obs.Tags["cost"] != "cc-9" {
		t.Errorf("reservation after update: %v %+v", err, obs)
	}
	actions, _ = (groupDriver{c}).scheduled(ctx, "us-east-1", "drv-web")
	if actions["peak"].MinSize != 7 {
		t.Errorf("peak action after update: %+v", actions)
	}
	if drifts, _, err := e.Refresh(ctx, &st); err != nil || len(drifts) > 0 {
		t.Fatal(err, drifts)
	}
	if p, _ := engine.Diff(capacityGraph(image, 4, 12, 7, map[string]string{"team": "web", "cost": "cc-9"}), st, e.Drivers); len(p.Changes()) != 0 {
		t.Fatalf("plan after update is not empty: %v", p.Changes())
	}

	if err := e.Destroy(ctx, &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Records) != 0 {
		t.Errorf("records left after destroy: %v", st.Records)
	}
	if _, err := (reservationDriver{c}).describe(ctx, "us-east-1", crID); err == nil {
		t.Error("reservation still active after destroy")
	}
	groups, _ = c.AutoScaling("us-east-1").DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"drv-web"}})
	if len(groups.AutoScalingGroups) != 0 {
		t.Error("group left after destroy")
	}
}

func TestMetricHistoryAgainstMoto(t *testing.T) {
	testbed.RequireTool(t, "moto_server")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	moto, err := testbed.StartMoto(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer moto.Stop()
	c, err := New(ctx, Config{Endpoint: moto.Endpoint(), AccessKey: "test", SecretKey: "test", SkipCredentialsValidation: true, Emulator: true})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	// Two samples an hour, so Average and Sum differ; hour 5 gets none.
	var data []cwtypes.MetricDatum
	for h := range 10 {
		if h == 5 {
			continue
		}
		for _, m := range []int{10, 40} {
			data = append(data, cwtypes.MetricDatum{
				MetricName: aws.String("InUse"), Value: aws.Float64(float64(h + m/10)),
				Timestamp:  aws.Time(start.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)),
				Dimensions: []cwtypes.Dimension{{Name: aws.String("Service"), Value: aws.String("web")}},
			})
		}
	}
	if _, err := c.cloudWatch("us-east-1").PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Meridian/Demand"), MetricData: data}); err != nil {
		t.Fatal(err)
	}
	q := MetricQuery{Region: "us-east-1", Namespace: "Meridian/Demand", MetricName: "InUse", Dimensions: map[string]string{"Service": "web"},
		Statistic: "Average", Start: start, End: start.Add(5 * time.Hour), Period: time.Hour}
	s, err := c.MetricHistory(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	// Hour h holds h+1 and h+4: average h+2.5.
	if len(s.Values) != 5 || s.Values[0] != 2.5 || s.Values[4] != 6.5 || !s.Start.Equal(start) || s.Step != time.Hour {
		t.Errorf("history %+v", s)
	}
	q.Statistic = "Sum"
	if s, err := c.MetricHistory(ctx, q); err != nil || s.Values[1] != 7 {
		t.Errorf("sums: %v %v", s.Values, err)
	}
	q.End = start.Add(10 * time.Hour)
	if _, err := c.MetricHistory(ctx, q); err == nil || !strings.Contains(err.Error(), "no Sum datapoint for 1 of the 1h0m0s periods") || !strings.Contains(err.Error(), "2026-11-20T05:00:00Z") {
		t.Errorf("gap: %v", err)
	}
}
