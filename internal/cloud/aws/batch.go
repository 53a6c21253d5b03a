package aws

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// Batched reads (engine.BatchReader) for the types whose API can describe
// many objects in one call. Each reports exactly what the type's Read
// reports, and sharing the code that builds the observation keeps it so.
// An object the batched call did not return is read once more with Read
// before it is called gone: a list may lag behind a create (S3's
// ListBuckets) or an emulator may cut a page short (moto's
// DescribeLaunchTemplateVersions), and a record dropped by mistake would
// make the next apply create the object again. Deleted objects are rare, so
// the check costs little.
//
// Calls per refresh of N objects of a type in one region, before -> after:
//   - aws_s3_bucket: 3N -> 1 + 2N (ListBuckets replaces HeadBucket;
//     versioning and tags have no batch call)
//   - aws_route53_health_check: 2N -> ceil(all/1000) + ceil(N/10)
//     (ListHealthChecks, ListTagsForResources of 10 ids)
//   - aws_route53_record: N -> one ListResourceRecordSets per 300 record sets
//     of each zone holding two or more of them
//   - aws_ssm_parameter: 2N -> ceil(N/10) + N (GetParameters of 10 names;
//     SSM lists tags one parameter at a time)
//   - aws_launch_template: 3N -> ceil(N/200) (DescribeLaunchTemplates by id)
//     + ceil(N/200) (DescribeTags by resource id) + ceil(all/200)
//     (DescribeLaunchTemplateVersions of every template's $Default)
//   - aws_ec2_capacity_reservation: N -> ceil(N/100)
//
// where "all" counts the account's objects of the type, meridian's or not.

// transient marks a batch that failed to reach the endpoint (an error of the
// connection that classify passes on unchanged) as worth another try. A
// response cut short on the way is classify's to mark.
func transient(err *error) {
	if *err == nil || engine.IsRetryable(*err) {
		return
	}
	var op *net.OpError
	if errors.As(*err, &op) {
		*err = engine.Retryable(*err)
	}
}

func chunks[T any](s []T, n int) [][]T {
	var out [][]T
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	if len(s) > 0 {
		out = append(out, s)
	}
	return out
}

func recordIDs(recs []engine.Record) []string {
	seen := map[string]bool{}
	var ids []string
	for _, r := range recs {
		if !seen[r.ID] {
			seen[r.ID] = true
			ids = append(ids, r.ID)
		}
	}
	sort.Strings(ids)
	return ids
}

// ---- S3 buckets

func (d bucketDriver) ReadAll(ctx context.Context, recs []engine.Record) (_ map[string]engine.Observation, err error) {
	defer transient(&err)
	client := d.c.S3(recs[0].Region)
	listed := map[string]bool{}
	pages := s3.NewListBucketsPaginator(client, &s3.ListBucketsInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list buckets: %w", classify(err))
		}
		for _, b := range page.Buckets {
			listed[aws.ToString(b.Name)] = true
		}
	}
	var present []engine.Record
	for _, rec := range recs {
		if listed[rec.ID] {
			present = append(present, rec)
		}
	}
	seen, err := engine.ReadEach(ctx, present, func(ctx context.Context, rec engine.Record) (engine.Observation, error) {
		return d.observe(ctx, client, rec)
	})
	if err != nil {
		return nil, err
	}
	return engine.ReadMissing(ctx, recs, seen, d.Read)
}

// ---- Route 53 health checks

func (d healthCheckDriver) ReadAll(ctx context.Context, recs []engine.Record) (_ map[string]engine.Observation, err error) {
	defer transient(&err)
	client := d.c.Route53()
	wanted := map[string]bool{}
	for _, id := range recordIDs(recs) {
		wanted[id] = true
	}
	configs := map[string]*r53types.HealthCheckConfig{}
	pages := route53.NewListHealthChecksPaginator(client, &route53.ListHealthChecksInput{MaxItems: aws.Int32(1000)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list health checks: %w", classify(err))
		}
		for _, hc := range page.HealthChecks {
			if id := aws.ToString(hc.Id); wanted[id] && hc.HealthCheckConfig != nil {
				configs[id] = hc.HealthCheckConfig
			}
		}
	}
	found := make([]string, 0, len(configs))
	for id := range configs {
		found = append(found, id)
	}
	sort.Strings(found)
	tags := map[string]map[string]string{}
	for _, id := range found {
		tags[id] = map[string]string{}
	}
	var mu sync.Mutex
	groups := chunks(found, 10) // the most ListTagsForResources takes
	err = engine.ForEach(ctx, len(groups), func(ctx context.Context, i int) error {
		out, err := client.ListTagsForResources(ctx, &route53.ListTagsForResourcesInput{
			ResourceType: r53types.TagResourceTypeHealthcheck, ResourceIds: groups[i],
		})
		if err != nil {
			return fmt.Errorf("tags: %w", classify(err))
		}
		mu.Lock()
		defer mu.Unlock()
		for _, set := range out.ResourceTagSets {
			m := tags[aws.ToString(set.ResourceId)]
			if m == nil {
				continue
			}
			for _, t := range set.Tags {
				m[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	seen := map[string]engine.Observation{}
	for _, rec := range recs {
		if cfg, ok := configs[rec.ID]; ok {
			seen[rec.Name] = healthCheckObservation(rec.ID, cfg, tags[rec.ID])
		}
	}
	return engine.ReadMissing(ctx, recs, seen, d.Read)
}

// ---- Route 53 records

func (d recordDriver) ReadAll(ctx context.Context, recs []engine.Record) (_ map[string]engine.Observation, err error) {
	defer transient(&err)
	byZone := map[string][]engine.Record{}
	props := map[string]recordProps{}
	for _, rec := range recs {
		var p recordProps
		if err := primitive.Decode(rec.Inputs, &p); err != nil {
			return nil, fmt.Errorf("%s: %w", rec.Name, err)
		}
		props[rec.Name] = p
		byZone[p.ZoneID] = append(byZone[p.ZoneID], rec)
	}
	var zones []string
	for z, rs := range byZone {
		// A zone with one of ours costs one call either way, and listing
		// the zone could take more.
		if len(rs) > 1 {
			zones = append(zones, z)
		}
	}
	sort.Strings(zones)
	seen := map[string]engine.Observation{}
	var mu sync.Mutex
	err = engine.ForEach(ctx, len(zones), func(ctx context.Context, i int) error {
		sets, err := d.list(ctx, zones[i])
		if errors.Is(err, engine.ErrNotFound) {
			return nil // the zone is gone, and so are its records
		} else if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, rec := range byZone[zones[i]] {
			p := props[rec.Name]
			for j := range sets {
				if sameRecord(p, sets[j]) {
					seen[rec.Name] = recordObservation(p, &sets[j])
					break
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return engine.ReadMissing(ctx, recs, seen, d.Read)
}

// list returns every record set of a zone.
func (d recordDriver) list(ctx context.Context, zone string) ([]r53types.ResourceRecordSet, error) {
	var out []r53types.ResourceRecordSet
	in := &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zone), MaxItems: aws.Int32(300)}
	for {
		page, err := d.c.Route53().ListResourceRecordSets(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list record sets of zone %s: %w", zone, classify(err))
		}
		out = append(out, page.ResourceRecordSets...)
		if !page.IsTruncated {
			return out, nil
		}
		in.StartRecordName, in.StartRecordType, in.StartRecordIdentifier = page.NextRecordName, page.NextRecordType, page.NextRecordIdentifier
	}
}

// ---- SSM parameters

func (d parameterDriver) ReadAll(ctx context.Context, recs []engine.Record) (_ map[string]engine.Observation, err error) {
	defer transient(&err)
	region := recs[0].Region
	client := d.c.SSM(region)
	values := map[string]string{}
	var mu sync.Mutex
	groups := chunks(recordIDs(recs), 10) // the most GetParameters takes
	err = engine.ForEach(ctx, len(groups), func(ctx context.Context, i int) error {
		out, err := client.GetParameters(ctx, &ssm.GetParametersInput{Names: groups[i]})
		if err != nil {
			return classify(err)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, p := range out.Parameters {
			values[aws.ToString(p.Name)] = aws.ToString(p.Value)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var present []engine.Record
	for _, rec := range recs {
		if _, ok := values[rec.ID]; ok {
			present = append(present, rec)
		}
	}
	seen, err := engine.ReadEach(ctx, present, func(ctx context.Context, rec engine.Record) (engine.Observation, error) {
		value, err := manifest(region, rec.ID, values[rec.ID])
		if err != nil {
			return engine.Observation{}, err
		}
		return d.observe(ctx, rec, value)
	})
	if err != nil {
		return nil, err
	}
	return engine.ReadMissing(ctx, recs, seen, d.Read)
}

// ---- EC2 capacity reservations

func (d reservationDriver) ReadAll(ctx context.Context, recs []engine.Record) (_ map[string]engine.Observation, err error) {
	defer transient(&err)
	client := d.c.EC2(recs[0].Region)
	found := map[string]*ec2types.CapacityReservation{}
	var mu sync.Mutex
	groups := chunks(recordIDs(recs), 100)
	err = engine.ForEach(ctx, len(groups), func(ctx context.Context, i int) error {
		pages := ec2.NewDescribeCapacityReservationsPaginator(client, &ec2.DescribeCapacityReservationsInput{CapacityReservationIds: groups[i]})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err = classifyEC2(err); errors.Is(err, engine.ErrNotFound) {
				// One of the ids is gone and EC2 refuses the whole call:
				// readAll reads this group's reservations one by one.
				return nil
			} else if err != nil {
				return err
			}
			mu.Lock()
			for j, cr := range page.CapacityReservations {
				if !ended(cr) {
					found[aws.ToString(cr.CapacityReservationId)] = &page.CapacityReservations[j]
				}
			}
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	seen := map[string]engine.Observation{}
	for _, rec := range recs {
		if cr, ok := found[rec.ID]; ok {
			seen[rec.Name] = reservationObservation(cr)
		}
	}
	return engine.ReadMissing(ctx, recs, seen, d.Read)
}

// ---- EC2 launch templates

func (d launchTemplateDriver) ReadAll(ctx context.Context, recs []engine.Record) (_ map[string]engine.Observation, err error) {
	defer transient(&err)
	client := d.c.EC2(recs[0].Region)
	templates := map[string]*ec2types.LaunchTemplate{}
	tags := map[string]map[string]string{}
	var mu sync.Mutex
	groups := chunks(recordIDs(recs), 200)
	err = engine.ForEach(ctx, len(groups), func(ctx context.Context, i int) error {
		pages := ec2.NewDescribeLaunchTemplatesPaginator(client, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: groups[i], MaxResults: aws.Int32(200)})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err = classifyEC2(err); errors.Is(err, engine.ErrNotFound) {
				return nil // readAll reads this group one by one
			} else if err != nil {
				return err
			}
			mu.Lock()
			for j := range page.LaunchTemplates {
				templates[aws.ToString(page.LaunchTemplates[j].LaunchTemplateId)] = &page.LaunchTemplates[j]
			}
			mu.Unlock()
		}
		// Tags come from DescribeTags, as Read takes them (see objectTags).
		got := map[string]map[string]string{}
		for _, id := range groups[i] {
			got[id] = map[string]string{}
		}
		pages2 := ec2.NewDescribeTagsPaginator(client, &ec2.DescribeTagsInput{
			Filters: []ec2types.Filter{{Name: aws.String("resource-id"), Values: groups[i]}}, MaxResults: aws.Int32(1000),
		})
		for pages2.HasMorePages() {
			page, err := pages2.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("tags: %w", classifyEC2(err))
			}
			for _, t := range page.Tags {
				if m := got[aws.ToString(t.ResourceId)]; m != nil {
					m[aws.ToString(t.Key)] = aws.ToString(t.Value)
				}
			}
		}
		mu.Lock()
		for id, m := range got {
			tags[id] = m
		}
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The default version of every template in the region, a page at a time.
	defaults := map[string]*ec2types.ResponseLaunchTemplateData{}
	if len(templates) > 0 {
		pages := ec2.NewDescribeLaunchTemplateVersionsPaginator(client, &ec2.DescribeLaunchTemplateVersionsInput{Versions: []string{"$Default"}, MaxResults: aws.Int32(200)})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("default versions: %w", classifyEC2(err))
			}
			for _, v := range page.LaunchTemplateVersions {
				if id := aws.ToString(v.LaunchTemplateId); templates[id] != nil && v.LaunchTemplateData != nil {
					defaults[id] = v.LaunchTemplateData
				}
			}
		}
	}
	seen := map[string]engine.Observation{}
	var rest []engine.Record
	for _, rec := range recs {
		lt, ok := templates[rec.ID]
		if !ok {
			continue
		}
		data, ok := defaults[rec.ID]
		if !ok {
			rest = append(rest, rec) // described, but its version was not listed
			continue
		}
		seen[rec.Name] = engine.Observation{Properties: launchTemplateProperties(lt, data), Tags: tags[rec.ID], Outputs: launchTemplateOutputs(lt)}
	}
	more, err := engine.ReadEach(ctx, rest, func(ctx context.Context, rec engine.Record) (engine.Observation, error) {
		return d.observe(ctx, rec, templates[rec.ID], tags[rec.ID])
	})
	if err != nil {
		return nil, err
	}
	for k, v := range more {
		seen[k] = v
	}
	return engine.ReadMissing(ctx, recs, seen, d.Read)
}
