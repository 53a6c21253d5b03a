package aws

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

type groupProps struct {
	Name              string   `json:"name"`
	MinSize           int32    `json:"min_size"`
	MaxSize           int32    `json:"max_size"`
	AvailabilityZones []string `json:"availability_zones"`
	LaunchTemplateID  string   `json:"launch_template_id"`
	// InstanceTypes are the overrides, in order of preference.
	InstanceTypes                       []string `json:"instance_types"`
	OnDemandBaseCapacity                int32    `json:"on_demand_base_capacity"`
	OnDemandPercentageAboveBaseCapacity int32    `json:"on_demand_percentage_above_base_capacity"`
	SpotAllocationStrategy              string   `json:"spot_allocation_strategy"`
	TargetTracking                      *struct {
		PolicyName  string  `json:"policy_name"`
		Metric      string  `json:"metric"`
		TargetValue float64 `json:"target_value"`
	} `json:"target_tracking"`
	ScheduledActions []scheduledAction `json:"scheduled_actions"`
}

type scheduledAction struct {
	Name       string `json:"name"`
	Recurrence string `json:"recurrence"`
	MinSize    int32  `json:"min_size"`
}

// groupDriver keeps an Auto Scaling group with a mixed-instances policy (the
// on-demand base runs in the reservations, the share above it splits between
// on-demand and spot), its target tracking policy and its scheduled actions,
// as one primitive: none of them means anything without the group.
type groupDriver struct{ c *Cloud }

func (groupDriver) ForceNew() []string { return []string{"name"} }

func (p groupProps) policy() *astypes.MixedInstancesPolicy {
	lt := &astypes.LaunchTemplate{
		LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(p.LaunchTemplateID), Version: aws.String("$Default")},
	}
	for _, t := range p.InstanceTypes {
		lt.Overrides = append(lt.Overrides, astypes.LaunchTemplateOverrides{InstanceType: aws.String(t)})
	}
	return &astypes.MixedInstancesPolicy{
		LaunchTemplate: lt,
		InstancesDistribution: &astypes.InstancesDistribution{
			// prioritized: the first instance type, the one reserved, is used first.
			OnDemandAllocationStrategy:          aws.String("prioritized"),
			OnDemandBaseCapacity:                aws.Int32(p.OnDemandBaseCapacity),
			OnDemandPercentageAboveBaseCapacity: aws.Int32(p.OnDemandPercentageAboveBaseCapacity),
			SpotAllocationStrategy:              aws.String(p.SpotAllocationStrategy),
		},
	}
}

func groupTags(name string, tags map[string]string) []astypes.Tag {
	var out []astypes.Tag
	for _, k := range sortedKeys(tags) {
		out = append(out, astypes.Tag{
			// Instances get the cost tags, not the ownership marks: they
			// are the group's, not meridian's objects.
			Key: aws.String(k), Value: aws.String(tags[k]), PropagateAtLaunch: aws.Bool(!isMark(k)),
			ResourceId: aws.String(name), ResourceType: aws.String("auto-scaling-group"),
		})
	}
	return out
}

func (d groupDriver) Create(ctx context.Context, req engine.Request) (engine.Result, error) {
	var p groupProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, err
	}
	// Look first: AWS refuses a second group of a name (AlreadyExists), but
	// moto replaces the first one with it.
	switch _, err := d.describe(ctx, req.Region, p.Name); {
	case err == nil:
		return d.adopt(ctx, req, p.Name)
	case !errors.Is(err, engine.ErrNotFound):
		return engine.Result{}, err
	}
	_, err := d.c.AutoScaling(req.Region).CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String(p.Name),
		MinSize:              aws.Int32(p.MinSize),
		MaxSize:              aws.Int32(p.MaxSize),
		AvailabilityZones:    p.AvailabilityZones,
		MixedInstancesPolicy: p.policy(),
		Tags:                 groupTags(p.Name, req.Tags),
	})
	if code(err) == "AlreadyExists" {
		return d.adopt(ctx, req, p.Name)
	} else if err != nil {
		return engine.Result{}, classify(err)
	}
	if err := d.putPolicies(ctx, req.Region, p); err != nil {
		return engine.Result{}, err
	}
	return engine.Result{ID: p.Name, Outputs: map[string]string{"name": p.Name}}, nil
}

// adopt brings the existing group named name to req, if it is this primitive's.
func (d groupDriver) adopt(ctx context.Context, req engine.Request, name string) (engine.Result, error) {
	if _, err := d.claim(ctx, req, name); err != nil {
		return engine.Result{}, err
	}
	return d.Update(ctx, engine.Record{ID: name, Region: req.Region}, req)
}

// Marked: groups carry the engine's ownership marks as tags.
func (groupDriver) Marked() {}

// claim returns the existing group named name if req may adopt it.
func (d groupDriver) claim(ctx context.Context, req engine.Request, name string) (*astypes.AutoScalingGroup, error) {
	g, err := d.describe(ctx, req.Region, name)
	if err != nil {
		return nil, err
	}
	tags := map[string]string{}
	for _, t := range g.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	if err := engine.Claim(req, fmt.Sprintf("Auto Scaling group %q in %s", name, req.Region), tags); err != nil {
		return nil, err
	}
	return g, nil
}

// Find looks for the group req names, without creating it.
func (d groupDriver) Find(ctx context.Context, req engine.Request) (engine.Result, bool, error) {
	var p groupProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, false, err
	}
	_, err := d.claim(ctx, req, p.Name)
	if found, err := foundBy(err); !found || err != nil {
		return engine.Result{}, found, err
	}
	return engine.Result{ID: p.Name, Outputs: map[string]string{"name": p.Name}}, true, nil
}

// putPolicies sets the target tracking policy and the scheduled actions, and
// removes scheduled actions that are no longer wanted.
func (d groupDriver) putPolicies(ctx context.Context, region string, p groupProps) error {
	client := d.c.AutoScaling(region)
	if tt := p.TargetTracking; tt != nil {
		_, err := client.PutScalingPolicy(ctx, &autoscaling.PutScalingPolicyInput{
			AutoScalingGroupName: aws.String(p.Name),
			PolicyName:           aws.String(tt.PolicyName),
			PolicyType:           aws.String("TargetTrackingScaling"),
			TargetTrackingConfiguration: &astypes.TargetTrackingConfiguration{
				PredefinedMetricSpecification: &astypes.PredefinedMetricSpecification{PredefinedMetricType: astypes.MetricType(tt.Metric)},
				TargetValue:                   aws.Float64(tt.TargetValue),
			},
		})
		if err != nil {
			return fmt.Errorf("target tracking policy: %w", classify(err))
		}
	}
	have, err := d.scheduled(ctx, region, p.Name)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, a := range p.ScheduledActions {
		want[a.Name] = true
		if h, ok := have[a.Name]; ok && h == a {
			continue
		}
		_, err := client.PutScheduledUpdateGroupAction(ctx, &autoscaling.PutScheduledUpdateGroupActionInput{
			AutoScalingGroupName: aws.String(p.Name),
			ScheduledActionName:  aws.String(a.Name),
			Recurrence:           aws.String(a.Recurrence),
			MinSize:              aws.Int32(a.MinSize),
			TimeZone:             aws.String("Etc/UTC"),
		})
		if err != nil {
			return fmt.Errorf("scheduled action %s: %w", a.Name, classify(err))
		}
	}
	for name := range have {
		if !want[name] {
			if _, err := client.DeleteScheduledAction(ctx, &autoscaling.DeleteScheduledActionInput{AutoScalingGroupName: aws.String(p.Name), ScheduledActionName: aws.String(name)}); err != nil {
				return fmt.Errorf("scheduled action %s: %w", name, classify(err))
			}
		}
	}
	return nil
}

func (d groupDriver) scheduled(ctx context.Context, region, group string) (map[string]scheduledAction, error) {
	out := map[string]scheduledAction{}
	p := autoscaling.NewDescribeScheduledActionsPaginator(d.c.AutoScaling(region), &autoscaling.DescribeScheduledActionsInput{AutoScalingGroupName: aws.String(group)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("scheduled actions: %w", classify(err))
		}
		for _, a := range page.ScheduledUpdateGroupActions {
			name := aws.ToString(a.ScheduledActionName)
			out[name] = scheduledAction{Name: name, Recurrence: aws.ToString(a.Recurrence), MinSize: aws.ToInt32(a.MinSize)}
		}
	}
	return out, nil
}

func (d groupDriver) describe(ctx context.Context, region, name string) (*astypes.AutoScalingGroup, error) {
	out, err := d.c.AutoScaling(region).DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	if err != nil {
		return nil, classify(err)
	}
	for i, g := range out.AutoScalingGroups {
		// A group being deleted is described until it is gone.
		if aws.ToString(g.Status) == "Delete in progress" {
			break
		}
		return &out.AutoScalingGroups[i], nil
	}
	return nil, fmt.Errorf("auto scaling group %s: %w", name, engine.ErrNotFound)
}

func (d groupDriver) Read(ctx context.Context, rec engine.Record) (engine.Observation, error) {
	g, err := d.describe(ctx, rec.Region, rec.ID)
	if err != nil {
		return engine.Observation{}, err
	}
	props := map[string]any{"name": aws.ToString(g.AutoScalingGroupName), "min_size": aws.ToInt32(g.MinSize), "max_size": aws.ToInt32(g.MaxSize)}
	if mp := g.MixedInstancesPolicy; mp != nil && mp.InstancesDistribution != nil {
		dist := mp.InstancesDistribution
		props["on_demand_base_capacity"] = aws.ToInt32(dist.OnDemandBaseCapacity)
		props["on_demand_percentage_above_base_capacity"] = aws.ToInt32(dist.OnDemandPercentageAboveBaseCapacity)
	}
	tags := map[string]string{}
	for _, t := range g.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return engine.Observation{Properties: props, Tags: tags, Outputs: map[string]string{"name": rec.ID}}, nil
}

func (d groupDriver) Update(ctx context.Context, rec engine.Record, req engine.Request) (engine.Result, error) {
	var p groupProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, err
	}
	client := d.c.AutoScaling(req.Region)
	_, err := client.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String(rec.ID),
		MinSize:              aws.Int32(p.MinSize),
		MaxSize:              aws.Int32(p.MaxSize),
		AvailabilityZones:    p.AvailabilityZones,
		MixedInstancesPolicy: p.policy(),
	})
	if err != nil {
		return engine.Result{}, classify(err)
	}
	if err := d.putPolicies(ctx, req.Region, p); err != nil {
		return engine.Result{}, err
	}
	g, err := d.describe(ctx, req.Region, rec.ID)
	if err != nil {
		return engine.Result{}, err
	}
	have := map[string]string{}
	for _, t := range g.Tags {
		have[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	set, remove := tagDiff(have, req.Tags)
	if len(remove) > 0 {
		var tags []astypes.Tag
		for _, k := range remove {
			tags = append(tags, astypes.Tag{Key: aws.String(k), ResourceId: aws.String(rec.ID), ResourceType: aws.String("auto-scaling-group")})
		}
		if _, err := client.DeleteTags(ctx, &autoscaling.DeleteTagsInput{Tags: tags}); err != nil {
			return engine.Result{}, classify(err)
		}
	}
	if len(set) > 0 {
		if _, err := client.CreateOrUpdateTags(ctx, &autoscaling.CreateOrUpdateTagsInput{Tags: groupTags(rec.ID, set)}); err != nil {
			return engine.Result{}, classify(err)
		}
	}
	return engine.Result{ID: rec.ID, Outputs: map[string]string{"name": rec.ID}}, nil
}

func (d groupDriver) Delete(ctx context.Context, rec engine.Record) error {
	client := d.c.AutoScaling(rec.Region)
	_, err := client.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String(rec.ID), ForceDelete: aws.Bool(true)})
	if err != nil {
		var ae interface{ ErrorMessage() string }
		if code(err) == "ValidationError" && errors.As(err, &ae) && strings.Contains(ae.ErrorMessage(), "not found") {
			return nil
		}
		return classify(err)
	}
	// The group's instances terminate before it is gone; wait, so that
	// what the group depends on (its launch template) is deleted after it.
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	for wait := 200 * time.Millisecond; ; wait = min(2*wait, 10*time.Second) {
		out, err := client.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{rec.ID}})
		if err != nil {
			return classify(err)
		}
		if len(out.AutoScalingGroups) == 0 {
			return nil
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return fmt.Errorf("auto scaling group %s is still being deleted: %w", rec.ID, ctx.Err())
		}
	}
}
