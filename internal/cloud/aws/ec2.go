package aws

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// ec2NotFound are the codes EC2 answers for an object that does not exist.
var ec2NotFound = map[string]bool{
	"InvalidCapacityReservationId.NotFound": true, "InvalidLaunchTemplateId.NotFound": true,
	"InvalidLaunchTemplateName.NotFoundException": true,
}

func classifyEC2(err error) error {
	if err != nil && ec2NotFound[code(err)] {
		return fmt.Errorf("%w: %v", engine.ErrNotFound, err)
	}
	return classify(err)
}

func ec2Tags(m map[string]string) []ec2types.Tag {
	var out []ec2types.Tag
	for _, k := range sortedKeys(m) {
		out = append(out, ec2types.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return out
}

func ec2TagMap(tags []ec2types.Tag) map[string]string {
	out := map[string]string{}
	for _, t := range tags {
		out[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return out
}

// setEC2Tags brings the tags of an EC2 object from have to want.
func setEC2Tags(ctx context.Context, client *ec2.Client, id string, have, want map[string]string) error {
	set, remove := tagDiff(have, want)
	if len(remove) > 0 {
		var tags []ec2types.Tag
		for _, k := range remove {
			tags = append(tags, ec2types.Tag{Key: aws.String(k)})
		}
		if _, err := client.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{id}, Tags: tags}); err != nil {
			return classifyEC2(err)
		}
	}
	if len(set) > 0 {
		if _, err := client.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: ec2Tags(set)}); err != nil {
			return classifyEC2(err)
		}
	}
	return nil
}

// objectTags reads an EC2 object's tags with DescribeTags. DescribeLaunchTemplates
// also lists tags, but moto answers there with the tags the template was
// created with, whatever CreateTags and DeleteTags did since.
func objectTags(ctx context.Context, client *ec2.Client, id string) (map[string]string, error) {
	out := map[string]string{}
	p := ec2.NewDescribeTagsPaginator(client, &ec2.DescribeTagsInput{Filters: []ec2types.Filter{{Name: aws.String("resource-id"), Values: []string{id}}}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("tags of %s: %w", id, classifyEC2(err))
		}
		for _, t := range page.Tags {
			out[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	return out, nil
}

// ErrNotOffered is what errors.Is finds in an error saying that no
// available zone of a region offers every instance type asked for.
var ErrNotOffered = errors.New("instance types not offered")

// notOffered says which types no available zone offers; its text is the
// whole story, without the sentinel's.
type notOffered struct{ detail string }

func (e notOffered) Error() string        { return e.detail }
func (e notOffered) Is(target error) bool { return target == ErrNotOffered }

// CapacityZone is the availability zone of region where a capacity
// reservation of types and its Auto Scaling group go: prefer (the zone
// they were deployed to) if it still qualifies, else the first by name of
// the zones DescribeAvailabilityZones says are available (Local and
// Wavelength Zones left out) that offers every type
// (DescribeInstanceTypeOfferings). Zone names are not region+"a" everywhere
// (accounts see different zones; a zone may be constrained or lack a type),
// and the choice is deterministic, so each plan picks the same zone while
// the region's answers stay the same.
func (c *Cloud) CapacityZone(ctx context.Context, region string, types []string, prefer string) (string, error) {
	client := c.EC2(region)
	out, err := client.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{Filters: []ec2types.Filter{
		{Name: aws.String("state"), Values: []string{"available"}},
		{Name: aws.String("zone-type"), Values: []string{"availability-zone"}},
	}})
	if err != nil {
		return "", fmt.Errorf("availability zones of %s: %w", region, classifyEC2(err))
	}
	var zones []string
	for _, z := range out.AvailabilityZones {
		zones = append(zones, aws.ToString(z.ZoneName))
	}
	offered := map[string]map[string]bool{}
	p := ec2.NewDescribeInstanceTypeOfferingsPaginator(client, &ec2.DescribeInstanceTypeOfferingsInput{
		LocationType: ec2types.LocationTypeAvailabilityZone,
		Filters:      []ec2types.Filter{{Name: aws.String("instance-type"), Values: types}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("instance type offerings in %s: %w", region, classifyEC2(err))
		}
		for _, o := range page.InstanceTypeOfferings {
			zone := aws.ToString(o.Location)
			if offered[zone] == nil {
				offered[zone] = map[string]bool{}
			}
			offered[zone][string(o.InstanceType)] = true
		}
	}
	if zone := pickZone(zones, offered, types, prefer); zone != "" {
		return zone, nil
	}
	var nowhere []string
	for _, t := range types {
		found := false
		for _, z := range zones {
			found = found || offered[z][t]
		}
		if !found {
			nowhere = append(nowhere, t)
		}
	}
	if len(nowhere) > 0 {
		return "", notOffered{fmt.Sprintf("%s not offered in any available zone of %s (%s)", strings.Join(nowhere, ", "), region, strings.Join(zones, ", "))}
	}
	return "", notOffered{fmt.Sprintf("%s not offered together in any available zone of %s (%s)", strings.Join(types, ", "), region, strings.Join(zones, ", "))}
}

// pickZone is prefer, if it is available and offers every type, else the
// first such zone by name, or "". A deployed reservation stays in its zone
// (prefer) while the zone serves it: choosing afresh would replace the
// reservation and the group whenever a zone that sorts first starts
// offering the types.
func pickZone(zones []string, offered map[string]map[string]bool, types []string, prefer string) string {
	zones = slices.Sorted(slices.Values(zones))
	if i := slices.Index(zones, prefer); i > 0 {
		zones = append([]string{prefer}, slices.Delete(zones, i, i+1)...)
	}
	for _, z := range zones {
		all := true
		for _, t := range types {
			all = all && offered[z][t]
		}
		if all {
			return z
		}
	}
	return ""
}

// InstanceTypesOffered returns which of types EC2 offers in the availability
// zone (DescribeInstanceTypeOfferings), so that a reservation for a type the
// zone lacks is a plan-time error instead of an apply-time failure.
func (c *Cloud) InstanceTypesOffered(ctx context.Context, region, zone string, types []string) (map[string]bool, error) {
	out := map[string]bool{}
	p := ec2.NewDescribeInstanceTypeOfferingsPaginator(c.EC2(region), &ec2.DescribeInstanceTypeOfferingsInput{
		LocationType: ec2types.LocationTypeAvailabilityZone,
		Filters: []ec2types.Filter{
			{Name: aws.String("location"), Values: []string{zone}},
			{Name: aws.String("instance-type"), Values: types},
		},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			if err = classifyEC2(err); errors.Is(err, ErrUnsupported) && !c.conf.Emulator {
				return nil, fmt.Errorf("DescribeInstanceTypeOfferings: %v", err) // not ErrUnsupported: only an emulator may lack it
			}
			return nil, err
		}
		for _, o := range page.InstanceTypeOfferings {
			out[string(o.InstanceType)] = true
		}
	}
	return out, nil
}

type reservationProps struct {
	InstanceType          string `json:"instance_type"`
	InstancePlatform      string `json:"instance_platform"`
	AvailabilityZone      string `json:"availability_zone"`
	Tenancy               string `json:"tenancy"`
	InstanceCount         int32  `json:"instance_count"`
	InstanceMatchCriteria string `json:"instance_match_criteria"`
}

// reservationDriver keeps an EC2 On-Demand Capacity Reservation. Its count
// and match criteria change in place (ModifyCapacityReservation); what it
// reserves (type, platform, zone, tenancy) cannot.
type reservationDriver struct{ c *Cloud }

func (reservationDriver) ForceNew() []string {
	return []string{"instance_type", "instance_platform", "availability_zone", "tenancy"}
}

func (d reservationDriver) Create(ctx context.Context, req engine.Request) (engine.Result, error) {
	var p reservationProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, err
	}
	in := &ec2.CreateCapacityReservationInput{
		InstanceType:          aws.String(p.InstanceType),
		InstancePlatform:      ec2types.CapacityReservationInstancePlatform(p.InstancePlatform),
		AvailabilityZone:      aws.String(p.AvailabilityZone),
		Tenancy:               ec2types.CapacityReservationTenancy(p.Tenancy),
		InstanceCount:         aws.Int32(p.InstanceCount),
		InstanceMatchCriteria: ec2types.InstanceMatchCriteria(p.InstanceMatchCriteria),
		EndDateType:           ec2types.EndDateTypeUnlimited,
		// The engine's token makes a create retried after a crash return
		// the reservation the first attempt made, not a second one.
		ClientToken: aws.String(req.Token),
	}
	if len(req.Tags) > 0 {
		in.TagSpecifications = []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeCapacityReservation, Tags: ec2Tags(req.Tags)}}
	}
	// EC2 makes the reservation's id, and the client token only helps a
	// retry that still has it: adopt a reservation an earlier create cut
	// short made (found by its owner mark) rather than reserve twice.
	found, err := d.find(ctx, req, p)
	if err != nil {
		return engine.Result{}, err
	}
	if found != nil {
		return d.Update(ctx, engine.Record{ID: aws.ToString(found.CapacityReservationId), Region: req.Region}, req)
	}
	out, err := d.c.EC2(req.Region).CreateCapacityReservation(ctx, in)
	if err != nil {
		return engine.Result{}, classifyEC2(err)
	}
	cr := out.CapacityReservation
	return engine.Result{ID: aws.ToString(cr.CapacityReservationId), Outputs: reservationOutputs(cr)}, nil
}

// Marked: reservations carry the engine's ownership marks as tags.
func (reservationDriver) Marked() {}

// find returns a live reservation that carries req's owner mark and
// reserves what p reserves, or nil. One that reserves something else is the
// old reservation of a replacement, not the one req would create.
func (d reservationDriver) find(ctx context.Context, req engine.Request, p reservationProps) (*ec2types.CapacityReservation, error) {
	owner := req.Tags[engine.OwnerTag]
	if owner == "" {
		return nil, nil
	}
	pages := ec2.NewDescribeCapacityReservationsPaginator(d.c.EC2(req.Region), &ec2.DescribeCapacityReservationsInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + engine.OwnerTag), Values: []string{owner}},
		{Name: aws.String("state"), Values: []string{"active", "pending"}},
	}})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("look for capacity reservations marked %s: %w", owner, classifyEC2(err))
		}
		for i, cr := range page.CapacityReservations {
			if ended(cr) || ec2TagMap(cr.Tags)[engine.OwnerTag] != owner {
				continue
			}
			if aws.ToString(cr.InstanceType) == p.InstanceType && string(cr.InstancePlatform) == p.InstancePlatform &&
				aws.ToString(cr.AvailabilityZone) == p.AvailabilityZone && string(cr.Tenancy) == p.Tenancy {
				return &page.CapacityReservations[i], nil
			}
		}
	}
	return nil, nil
}

// Find looks for the reservation a create of req made, by its owner mark.
func (d reservationDriver) Find(ctx context.Context, req engine.Request) (engine.Result, bool, error) {
	var p reservationProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, false, err
	}
	cr, err := d.find(ctx, req, p)
	if err != nil || cr == nil {
		return engine.Result{}, false, err
	}
	return engine.Result{ID: aws.ToString(cr.CapacityReservationId), Outputs: reservationOutputs(cr)}, true, nil
}

func reservationOutputs(cr *ec2types.CapacityReservation) map[string]string {
	return map[string]string{"id": aws.ToString(cr.CapacityReservationId), "arn": aws.ToString(cr.CapacityReservationArn)}
}

func (d reservationDriver) describe(ctx context.Context, region, id string) (*ec2types.CapacityReservation, error) {
	out, err := d.c.EC2(region).DescribeCapacityReservations(ctx, &ec2.DescribeCapacityReservationsInput{CapacityReservationIds: []string{id}})
	if err != nil {
		return nil, classifyEC2(err)
	}
	for i, cr := range out.CapacityReservations {
		if ended(cr) {
			return nil, fmt.Errorf("capacity reservation %s is %s: %w", id, cr.State, engine.ErrNotFound)
		}
		return &out.CapacityReservations[i], nil
	}
	return nil, fmt.Errorf("capacity reservation %s: %w", id, engine.ErrNotFound)
}

// ended says whether a reservation was cancelled, expired or failed: such a
// reservation is still described for a while, but it reserves nothing.
func ended(cr ec2types.CapacityReservation) bool {
	switch cr.State {
	case ec2types.CapacityReservationStateCancelled, ec2types.CapacityReservationStateExpired, ec2types.CapacityReservationStateFailed:
		return true
	}
	return false
}

func (d reservationDriver) Read(ctx context.Context, rec engine.Record) (engine.Observation, error) {
	cr, err := d.describe(ctx, rec.Region, rec.ID)
	if err != nil {
		return engine.Observation{}, err
	}
	return reservationObservation(cr), nil
}

func reservationObservation(cr *ec2types.CapacityReservation) engine.Observation {
	return engine.Observation{
		Properties: map[string]any{
			"instance_type":           aws.ToString(cr.InstanceType),
			"instance_platform":       string(cr.InstancePlatform),
			"availability_zone":       aws.ToString(cr.AvailabilityZone),
			"tenancy":                 string(cr.Tenancy),
			"instance_count":          aws.ToInt32(cr.TotalInstanceCount),
			"instance_match_criteria": string(cr.InstanceMatchCriteria),
		},
		Tags:    ec2TagMap(cr.Tags),
		Outputs: reservationOutputs(cr),
	}
}

func (d reservationDriver) Update(ctx context.Context, rec engine.Record, req engine.Request) (engine.Result, error) {
	var p reservationProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, err
	}
	cr, err := d.describe(ctx, req.Region, rec.ID)
	if err != nil {
		return engine.Result{}, err
	}
	in := &ec2.ModifyCapacityReservationInput{CapacityReservationId: aws.String(rec.ID)}
	changed := false
	if aws.ToInt32(cr.TotalInstanceCount) != p.InstanceCount {
		in.InstanceCount, changed = aws.Int32(p.InstanceCount), true
	}
	if string(cr.InstanceMatchCriteria) != p.InstanceMatchCriteria {
		in.InstanceMatchCriteria, changed = ec2types.InstanceMatchCriteria(p.InstanceMatchCriteria), true
	}
	if changed {
		if _, err := d.c.EC2(req.Region).ModifyCapacityReservation(ctx, in); err != nil {
			return engine.Result{}, classifyEC2(err)
		}
	}
	if err := setEC2Tags(ctx, d.c.EC2(req.Region), rec.ID, ec2TagMap(cr.Tags), req.Tags); err != nil {
		return engine.Result{}, err
	}
	return engine.Result{ID: rec.ID, Outputs: reservationOutputs(cr)}, nil
}

func (d reservationDriver) Delete(ctx context.Context, rec engine.Record) error {
	_, err := d.c.EC2(rec.Region).CancelCapacityReservation(ctx, &ec2.CancelCapacityReservationInput{CapacityReservationId: aws.String(rec.ID)})
	if code(err) == "IncorrectCapacityReservationState" {
		return nil // already cancelled or expired
	}
	if err = classifyEC2(err); errors.Is(err, engine.ErrNotFound) {
		return nil
	}
	return err
}

type launchTemplateProps struct {
	Name                  string `json:"name"`
	ImageID               string `json:"image_id"`
	InstanceType          string `json:"instance_type"`
	CapacityReservationID string `json:"capacity_reservation_id"`
}

// launchTemplateDriver keeps a launch template whose instances run in one
// capacity reservation and carry the primitive's tags, as do their volumes.
// A change makes a new version and sets it as the default, so an Auto Scaling
// group that uses $Default picks it up without being replaced.
type launchTemplateDriver struct{ c *Cloud }

func (launchTemplateDriver) ForceNew() []string { return []string{"name"} }

func launchTemplateData(p launchTemplateProps, tags map[string]string) *ec2types.RequestLaunchTemplateData {
	data := &ec2types.RequestLaunchTemplateData{
		ImageId:      aws.String(p.ImageID),
		InstanceType: ec2types.InstanceType(p.InstanceType),
	}
	if p.CapacityReservationID != "" {
		data.CapacityReservationSpecification = &ec2types.LaunchTemplateCapacityReservationSpecificationRequest{
			CapacityReservationTarget: &ec2types.CapacityReservationTarget{CapacityReservationId: aws.String(p.CapacityReservationID)},
		}
	}
	// Instances and volumes get the cost tags, not the ownership marks:
	// they are the Auto Scaling group's, not meridian's objects.
	if tags = withoutMarks(tags); len(tags) > 0 {
		for _, rt := range []ec2types.ResourceType{ec2types.ResourceTypeInstance, ec2types.ResourceTypeVolume} {
			data.TagSpecifications = append(data.TagSpecifications, ec2types.LaunchTemplateTagSpecificationRequest{ResourceType: rt, Tags: ec2Tags(tags)})
		}
	}
	return data
}

func (d launchTemplateDriver) Create(ctx context.Context, req engine.Request) (engine.Result, error) {
	var p launchTemplateProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, err
	}
	in := &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String(p.Name),
		LaunchTemplateData: launchTemplateData(p, req.Tags),
		ClientToken:        aws.String(req.Token),
	}
	if len(req.Tags) > 0 {
		in.TagSpecifications = []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeLaunchTemplate, Tags: ec2Tags(req.Tags)}}
	}
	out, err := d.c.EC2(req.Region).CreateLaunchTemplate(ctx, in)
	if code(err) == "InvalidLaunchTemplateName.AlreadyExistsException" {
		// The template exists: adopt it only if it is this primitive's.
		lt, err := d.claim(ctx, req, p.Name)
		if err != nil {
			return engine.Result{}, err
		}
		return d.Update(ctx, engine.Record{ID: aws.ToString(lt.LaunchTemplateId), Region: req.Region}, req)
	} else if err != nil {
		return engine.Result{}, classifyEC2(err)
	}
	return engine.Result{ID: aws.ToString(out.LaunchTemplate.LaunchTemplateId), Outputs: launchTemplateOutputs(out.LaunchTemplate)}, nil
}

// Marked: launch templates carry the engine's ownership marks as tags.
func (launchTemplateDriver) Marked() {}

// claim returns the existing template named name if req may adopt it.
func (d launchTemplateDriver) claim(ctx context.Context, req engine.Request, name string) (*ec2types.LaunchTemplate, error) {
	lt, err := d.byName(ctx, req.Region, name)
	if err != nil {
		return nil, err
	}
	tags, err := objectTags(ctx, d.c.EC2(req.Region), aws.ToString(lt.LaunchTemplateId))
	if err != nil {
		return nil, err
	}
	if err := engine.Claim(req, fmt.Sprintf("launch template %q in %s", name, req.Region), tags); err != nil {
		return nil, err
	}
	return lt, nil
}

// Find looks for the template req names, without creating it.
func (d launchTemplateDriver) Find(ctx context.Context, req engine.Request) (engine.Result, bool, error) {
	var p launchTemplateProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, false, err
	}
	lt, err := d.claim(ctx, req, p.Name)
	if found, err := foundBy(err); !found || err != nil {
		return engine.Result{}, found, err
	}
	return engine.Result{ID: aws.ToString(lt.LaunchTemplateId), Outputs: launchTemplateOutputs(lt)}, true, nil
}

func launchTemplateOutputs(lt *ec2types.LaunchTemplate) map[string]string {
	return map[string]string{
		"id": aws.ToString(lt.LaunchTemplateId), "name": aws.ToString(lt.LaunchTemplateName),
		"default_version": fmt.Sprint(aws.ToInt64(lt.DefaultVersionNumber)),
	}
}

func (d launchTemplateDriver) byName(ctx context.Context, region, name string) (*ec2types.LaunchTemplate, error) {
	out, err := d.c.EC2(region).DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{name}})
	if err != nil {
		return nil, classifyEC2(err)
	}
	if len(out.LaunchTemplates) == 0 {
		return nil, fmt.Errorf("launch template %s: %w", name, engine.ErrNotFound)
	}
	return &out.LaunchTemplates[0], nil
}

func (d launchTemplateDriver) byID(ctx context.Context, region, id string) (*ec2types.LaunchTemplate, error) {
	out, err := d.c.EC2(region).DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{id}})
	if err != nil {
		return nil, classifyEC2(err)
	}
	if len(out.LaunchTemplates) == 0 {
		return nil, fmt.Errorf("launch template %s: %w", id, engine.ErrNotFound)
	}
	return &out.LaunchTemplates[0], nil
}

func (d launchTemplateDriver) Read(ctx context.Context, rec engine.Record) (engine.Observation, error) {
	lt, err := d.byID(ctx, rec.Region, rec.ID)
	if err != nil {
		return engine.Observation{}, err
	}
	tags, err := objectTags(ctx, d.c.EC2(rec.Region), rec.ID)
	if err != nil {
		return engine.Observation{}, err
	}
	return d.observe(ctx, rec, lt, tags)
}

// observe reads the default version of a launch template that was described.
func (d launchTemplateDriver) observe(ctx context.Context, rec engine.Record, lt *ec2types.LaunchTemplate, tags map[string]string) (engine.Observation, error) {
	out, err := d.c.EC2(rec.Region).DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{
		LaunchTemplateId: aws.String(rec.ID), Versions: []string{"$Default"},
	})
	if err != nil {
		return engine.Observation{}, classifyEC2(err)
	}
	var data *ec2types.ResponseLaunchTemplateData
	if len(out.LaunchTemplateVersions) > 0 {
		data = out.LaunchTemplateVersions[0].LaunchTemplateData
	}
	return engine.Observation{Properties: launchTemplateProperties(lt, data), Tags: tags, Outputs: launchTemplateOutputs(lt)}, nil
}

// launchTemplateProperties are a template's properties as its default version (data) has them.
func launchTemplateProperties(lt *ec2types.LaunchTemplate, data *ec2types.ResponseLaunchTemplateData) map[string]any {
	props := map[string]any{"name": aws.ToString(lt.LaunchTemplateName)}
	if data != nil {
		props["image_id"] = aws.ToString(data.ImageId)
		props["instance_type"] = string(data.InstanceType)
		props["capacity_reservation_id"] = ""
		if s := data.CapacityReservationSpecification; s != nil && s.CapacityReservationTarget != nil {
			props["capacity_reservation_id"] = aws.ToString(s.CapacityReservationTarget.CapacityReservationId)
		}
	}
	return props
}

func (d launchTemplateDriver) Update(ctx context.Context, rec engine.Record, req engine.Request) (engine.Result, error) {
	var p launchTemplateProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, err
	}
	client := d.c.EC2(req.Region)
	v, err := client.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateId: aws.String(rec.ID), LaunchTemplateData: launchTemplateData(p, req.Tags),
	})
	if err != nil {
		return engine.Result{}, classifyEC2(err)
	}
	version := fmt.Sprint(aws.ToInt64(v.LaunchTemplateVersion.VersionNumber))
	if _, err := client.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: aws.String(rec.ID), DefaultVersion: aws.String(version)}); err != nil {
		return engine.Result{}, classifyEC2(err)
	}
	lt, err := d.byID(ctx, req.Region, rec.ID)
	if err != nil {
		return engine.Result{}, err
	}
	have, err := objectTags(ctx, client, rec.ID)
	if err != nil {
		return engine.Result{}, err
	}
	if err := setEC2Tags(ctx, client, rec.ID, have, req.Tags); err != nil {
		return engine.Result{}, err
	}
	return engine.Result{ID: rec.ID, Outputs: launchTemplateOutputs(lt)}, nil
}

func (d launchTemplateDriver) Delete(ctx context.Context, rec engine.Record) error {
	_, err := d.c.EC2(rec.Region).DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateId: aws.String(rec.ID)})
	if err = classifyEC2(err); errors.Is(err, engine.ErrNotFound) {
		return nil
	}
	return err
}
