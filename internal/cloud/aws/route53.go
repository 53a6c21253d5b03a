package aws

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// r53Tags reads and sets tags of a zone or health check. Route 53 takes at
// most 10 tag changes a call.
type r53Tags struct {
	c   *Cloud
	typ r53types.TagResourceType
}

func (t r53Tags) get(ctx context.Context, id string) (map[string]string, error) {
	out, err := t.c.Route53().ListTagsForResource(ctx, &route53.ListTagsForResourceInput{ResourceType: t.typ, ResourceId: aws.String(id)})
	if err != nil {
		return nil, fmt.Errorf("tags: %w", classify(err))
	}
	tags := map[string]string{}
	if out.ResourceTagSet != nil {
		for _, tag := range out.ResourceTagSet.Tags {
			tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
	}
	return tags, nil
}

func (t r53Tags) set(ctx context.Context, id string, have, want map[string]string) error {
	set, remove := tagDiff(have, want)
	keys := sortedKeys(set)
	for len(keys) > 0 || len(remove) > 0 {
		in := &route53.ChangeTagsForResourceInput{ResourceType: t.typ, ResourceId: aws.String(id)}
		for n := 0; n < 10 && len(keys) > 0; n++ {
			in.AddTags = append(in.AddTags, r53types.Tag{Key: aws.String(keys[0]), Value: aws.String(set[keys[0]])})
			keys = keys[1:]
		}
		if n := min(10, len(remove)); n > 0 {
			in.RemoveTagKeys, remove = remove[:n], remove[n:]
		}
		if _, err := t.c.Route53().ChangeTagsForResource(ctx, in); err != nil {
			return fmt.Errorf("tags: %w", classify(err))
		}
	}
	return nil
}

// waitChange polls GetChange until the change is INSYNC, for at most
// changeSync: until then, Route 53's name servers do not all answer with it,
// and a health check a deleted record used is still in use.
func (c *Cloud) waitChange(ctx context.Context, info *r53types.ChangeInfo) error {
	if info == nil || info.Status == r53types.ChangeStatusInsync {
		return nil
	}
	id := aws.ToString(info.Id)
	ctx, cancel := context.WithTimeout(ctx, changeSync)
	defer cancel()
	// Route 53 allows five requests a second per account: poll slowly, and
	// keep polling through throttling and other transient errors.
	for wait := time.Second; ; wait = min(2*wait, 10*time.Second) {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return fmt.Errorf("Route 53 change %s is not INSYNC after %s: %w", id, changeSync, ctx.Err())
		}
		out, err := c.Route53().GetChange(ctx, &route53.GetChangeInput{Id: aws.String(id)})
		if worthRetry(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("wait for Route 53 change %s: %w", id, classify(err))
		}
		if out.ChangeInfo != nil && out.ChangeInfo.Status == r53types.ChangeStatusInsync {
			return nil
		}
	}
}

type zoneDriver struct{ c *Cloud }

func (zoneDriver) ForceNew() []string { return []string{"name"} }

func (d zoneDriver) tags() r53Tags { return r53Tags{d.c, r53types.TagResourceTypeHostedzone} }

// Marked: hosted zones carry the engine's ownership marks as tags.
func (zoneDriver) Marked() {}

func (d zoneDriver) Create(ctx context.Context, req engine.Request) (engine.Result, error) {
	name, _ := req.Properties["name"].(string)
	// Route 53 makes the zone's id: a create cut short after the call, even
	// by a process whose record was lost, left a zone that only its marks
	// (or its caller reference) can find. Adopt it rather than make a
	// second zone of the same name.
	zone, err := d.find(ctx, req, name)
	if err != nil {
		return engine.Result{}, err
	}
	var have map[string]string
	if zone == nil {
		out, err := d.c.Route53().CreateHostedZone(ctx, &route53.CreateHostedZoneInput{
			Name:             aws.String(name),
			CallerReference:  aws.String(callerReference(req)),
			HostedZoneConfig: &r53types.HostedZoneConfig{Comment: aws.String("Managed by meridian (" + req.Name + ")")},
		})
		if err != nil {
			return engine.Result{}, classify(err)
		}
		if err := d.c.waitChange(ctx, out.ChangeInfo); err != nil {
			return engine.Result{}, err
		}
		zone = out.HostedZone
	} else if have, err = d.tags().get(ctx, zoneID(aws.ToString(zone.Id))); err != nil {
		return engine.Result{}, err
	}
	id := zoneID(aws.ToString(zone.Id))
	if err := d.tags().set(ctx, id, have, req.Tags); err != nil {
		return engine.Result{}, err
	}
	return engine.Result{ID: id, Outputs: map[string]string{"zone_id": id, "name": name}}, nil
}

// find returns the zone named name that req made before: the one whose
// caller reference is req's token, or one that carries req's owner mark.
// Zones of that name that are not this primitive's are left alone: Route 53
// allows several zones of one name.
func (d zoneDriver) find(ctx context.Context, req engine.Request, name string) (*r53types.HostedZone, error) {
	client := d.c.Route53()
	want := strings.TrimSuffix(name, ".") + "."
	in := &route53.ListHostedZonesByNameInput{DNSName: aws.String(name)}
	for {
		out, err := client.ListHostedZonesByName(ctx, in)
		if err != nil {
			return nil, classify(err)
		}
		for i, z := range out.HostedZones {
			if aws.ToString(z.Name) != want {
				// The list is in name order from name on: no more of ours.
				return nil, nil
			}
			if madeBy(aws.ToString(z.CallerReference), req) {
				return &out.HostedZones[i], nil
			}
			if owner := req.Tags[engine.OwnerTag]; owner != "" {
				tags, err := d.tags().get(ctx, zoneID(aws.ToString(z.Id)))
				if err != nil {
					return nil, err
				}
				if tags[engine.OwnerTag] == owner {
					return &out.HostedZones[i], nil
				}
			}
		}
		if !out.IsTruncated {
			return nil, nil
		}
		in.DNSName, in.HostedZoneId = out.NextDNSName, out.NextHostedZoneId
	}
}

// Find looks for the zone a create of req made, by its marks.
func (d zoneDriver) Find(ctx context.Context, req engine.Request) (engine.Result, bool, error) {
	name, _ := req.Properties["name"].(string)
	zone, err := d.find(ctx, req, name)
	if err != nil || zone == nil {
		return engine.Result{}, false, err
	}
	id := zoneID(aws.ToString(zone.Id))
	return engine.Result{ID: id, Outputs: map[string]string{"zone_id": id, "name": name}}, true, nil
}

// callerReference is what a create of req tells Route 53 it is: a digest
// of req's owner mark, then its token. Route 53 sets it in the same call
// that makes the object, whereas tags take a second call, so a create cut
// short between the two (a killed process, whose token died with it) is
// still found by its owner mark's digest.
func callerReference(req engine.Request) string {
	owner := req.Tags[engine.OwnerTag]
	if owner == "" {
		return req.Token
	}
	sum := sha256.Sum256([]byte(owner))
	return hex.EncodeToString(sum[:16]) + "-" + req.Token
}

// madeBy says whether an object whose caller reference is ref was made by
// a create of req, or of another create of the same primitive.
func madeBy(ref string, req engine.Request) bool {
	if ref == req.Token {
		return true
	}
	mine := callerReference(req)
	return req.Tags[engine.OwnerTag] != "" && strings.HasPrefix(ref, mine[:len(mine)-len(req.Token)])
}

func zoneID(id string) string { return strings.TrimPrefix(id, "/hostedzone/") }

func (d zoneDriver) Read(ctx context.Context, rec engine.Record) (engine.Observation, error) {
	out, err := d.c.Route53().GetHostedZone(ctx, &route53.GetHostedZoneInput{Id: aws.String(rec.ID)})
	if err != nil {
		return engine.Observation{}, classify(err)
	}
	tags, err := d.tags().get(ctx, rec.ID)
	if err != nil {
		return engine.Observation{}, err
	}
	name := strings.TrimSuffix(aws.ToString(out.HostedZone.Name), ".")
	return engine.Observation{
		Properties: map[string]any{"name": name},
		Tags:       tags,
		Outputs:    map[string]string{"zone_id": rec.ID, "name": name},
	}, nil
}

func (d zoneDriver) Update(ctx context.Context, rec engine.Record, req engine.Request) (engine.Result, error) {
	have, err := d.tags().get(ctx, rec.ID)
	if err != nil {
		return engine.Result{}, err
	}
	if err := d.tags().set(ctx, rec.ID, have, req.Tags); err != nil {
		return engine.Result{}, err
	}
	return engine.Result{ID: rec.ID, Outputs: rec.Outputs}, nil
}

func (d zoneDriver) Delete(ctx context.Context, rec engine.Record) error {
	out, err := d.c.Route53().DeleteHostedZone(ctx, &route53.DeleteHostedZoneInput{Id: aws.String(rec.ID)})
	if err = classify(err); errors.Is(err, engine.ErrNotFound) {
		return nil
	} else if err == nil {
		return d.c.waitChange(ctx, out.ChangeInfo)
	}
	if code(err) == "HostedZoneNotEmpty" {
		// Not worth a retry: the zone stays until its other records go.
		return fmt.Errorf("Route 53 refused to delete hosted zone %s (HostedZoneNotEmpty): it holds record sets besides its SOA and NS, which meridian did not create or has not deleted yet. Delete those record sets (aws route53 list-resource-record-sets --hosted-zone-id %s), then destroy again: %w", rec.ID, rec.ID, err)
	}
	return err
}

type healthCheckProps struct {
	Type             string `json:"type"`
	FQDN             string `json:"fqdn"`
	Port             int32  `json:"port"`
	ResourcePath     string `json:"resource_path"`
	RequestInterval  int32  `json:"request_interval"`
	FailureThreshold int32  `json:"failure_threshold"`
}

type healthCheckDriver struct{ c *Cloud }

// Route 53 cannot change a health check's type or interval after creation.
func (healthCheckDriver) ForceNew() []string { return []string{"type", "request_interval"} }

func (d healthCheckDriver) tags() r53Tags { return r53Tags{d.c, r53types.TagResourceTypeHealthcheck} }

// Marked: health checks carry the engine's ownership marks as tags.
func (healthCheckDriver) Marked() {}

func (d healthCheckDriver) Create(ctx context.Context, req engine.Request) (engine.Result, error) {
	var p healthCheckProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, err
	}
	// Route 53 makes the check's id: adopt the check an earlier create cut
	// short may have made (found by token or owner mark), rather than make
	// a second one.
	id, err := d.find(ctx, req, p)
	if err != nil {
		return engine.Result{}, err
	}
	if id != "" {
		return d.Update(ctx, engine.Record{ID: id}, req)
	}
	cfg := &r53types.HealthCheckConfig{
		Type:                     r53types.HealthCheckType(p.Type),
		FullyQualifiedDomainName: aws.String(p.FQDN),
		Port:                     aws.Int32(p.Port),
		RequestInterval:          aws.Int32(p.RequestInterval),
		FailureThreshold:         aws.Int32(p.FailureThreshold),
	}
	if p.ResourcePath != "" {
		cfg.ResourcePath = aws.String(p.ResourcePath)
	}
	out, err := d.c.Route53().CreateHealthCheck(ctx, &route53.CreateHealthCheckInput{CallerReference: aws.String(callerReference(req)), HealthCheckConfig: cfg})
	if err != nil {
		return engine.Result{}, classify(err)
	}
	id = aws.ToString(out.HealthCheck.Id)
	// The check carries no marks until they are set: keep trying, or an
	// engine retry could not prove the check its own.
	if err := retryWhile(ctx, markTimeout, worthRetry, func() error { return d.tags().set(ctx, id, nil, req.Tags) }); err != nil {
		return engine.Result{}, err
	}
	return engine.Result{ID: id, Outputs: map[string]string{"id": id}}, nil
}

// find returns the id of the health check req made before, or "": the one
// whose caller reference is req's token, or one that carries req's owner
// mark. A check of another type or interval is not it: those cannot change,
// so such a check of ours is the old one of a replacement.
func (d healthCheckDriver) find(ctx context.Context, req engine.Request, p healthCheckProps) (string, error) {
	client := d.c.Route53()
	var candidates []string
	pages := route53.NewListHealthChecksPaginator(client, &route53.ListHealthChecksInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return "", classify(err)
		}
		for _, hc := range page.HealthChecks {
			if madeBy(aws.ToString(hc.CallerReference), req) {
				if cfg := hc.HealthCheckConfig; cfg == nil || (string(cfg.Type) == p.Type && aws.ToInt32(cfg.RequestInterval) == p.RequestInterval) {
					return aws.ToString(hc.Id), nil
				}
			}
			if cfg := hc.HealthCheckConfig; cfg != nil && string(cfg.Type) == p.Type && aws.ToInt32(cfg.RequestInterval) == p.RequestInterval {
				candidates = append(candidates, aws.ToString(hc.Id))
			}
		}
	}
	owner := req.Tags[engine.OwnerTag]
	if owner == "" {
		return "", nil
	}
	for _, ids := range chunks(candidates, 10) { // the most ListTagsForResources takes
		out, err := client.ListTagsForResources(ctx, &route53.ListTagsForResourcesInput{ResourceType: r53types.TagResourceTypeHealthcheck, ResourceIds: ids})
		if err != nil {
			return "", fmt.Errorf("tags: %w", classify(err))
		}
		for _, set := range out.ResourceTagSets {
			for _, t := range set.Tags {
				if aws.ToString(t.Key) == engine.OwnerTag && aws.ToString(t.Value) == owner {
					return aws.ToString(set.ResourceId), nil
				}
			}
		}
	}
	return "", nil
}

// Find looks for the health check a create of req made, by its marks.
func (d healthCheckDriver) Find(ctx context.Context, req engine.Request) (engine.Result, bool, error) {
	var p healthCheckProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, false, err
	}
	id, err := d.find(ctx, req, p)
	if err != nil || id == "" {
		return engine.Result{}, false, err
	}
	return engine.Result{ID: id, Outputs: map[string]string{"id": id}}, true, nil
}

func (d healthCheckDriver) Read(ctx context.Context, rec engine.Record) (engine.Observation, error) {
	out, err := d.c.Route53().GetHealthCheck(ctx, &route53.GetHealthCheckInput{HealthCheckId: aws.String(rec.ID)})
	if err != nil {
		return engine.Observation{}, classify(err)
	}
	tags, err := d.tags().get(ctx, rec.ID)
	if err != nil {
		return engine.Observation{}, err
	}
	return healthCheckObservation(rec.ID, out.HealthCheck.HealthCheckConfig, tags), nil
}

func healthCheckObservation(id string, cfg *r53types.HealthCheckConfig, tags map[string]string) engine.Observation {
	return engine.Observation{
		Properties: map[string]any{
			"type":              string(cfg.Type),
			"fqdn":              aws.ToString(cfg.FullyQualifiedDomainName),
			"port":              aws.ToInt32(cfg.Port),
			"resource_path":     aws.ToString(cfg.ResourcePath),
			"request_interval":  aws.ToInt32(cfg.RequestInterval),
			"failure_threshold": aws.ToInt32(cfg.FailureThreshold),
		},
		Tags:    tags,
		Outputs: map[string]string{"id": id},
	}
}

func (d healthCheckDriver) Update(ctx context.Context, rec engine.Record, req engine.Request) (engine.Result, error) {
	var p healthCheckProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, err
	}
	in := &route53.UpdateHealthCheckInput{
		HealthCheckId:            aws.String(rec.ID),
		FullyQualifiedDomainName: aws.String(p.FQDN),
		Port:                     aws.Int32(p.Port),
		FailureThreshold:         aws.Int32(p.FailureThreshold),
	}
	if p.ResourcePath != "" {
		in.ResourcePath = aws.String(p.ResourcePath)
	}
	if _, err := d.c.Route53().UpdateHealthCheck(ctx, in); err != nil {
		return engine.Result{}, classify(err)
	}
	have, err := d.tags().get(ctx, rec.ID)
	if err != nil {
		return engine.Result{}, err
	}
	if err := d.tags().set(ctx, rec.ID, have, req.Tags); err != nil {
		return engine.Result{}, err
	}
	return engine.Result{ID: rec.ID, Outputs: map[string]string{"id": rec.ID}}, nil
}

func (d healthCheckDriver) Delete(ctx context.Context, rec engine.Record) error {
	_, err := d.c.Route53().DeleteHealthCheck(ctx, &route53.DeleteHealthCheckInput{HealthCheckId: aws.String(rec.ID)})
	if err = classify(err); errors.Is(err, engine.ErrNotFound) {
		return nil
	}
	if code(err) == "HealthCheckInUse" {
		// Not worth a retry: the check stays until no record uses it.
		return fmt.Errorf("Route 53 refused to delete health check %s (HealthCheckInUse): a record set still refers to it. Delete or change the record sets that use it (meridian deletes its own first), then destroy again: %w", rec.ID, err)
	}
	return err
}

type recordProps struct {
	ZoneID        string   `json:"zone_id"`
	Name          string   `json:"name"`
	Type          string   `json:"type"`
	TTL           int64    `json:"ttl"`
	SetIdentifier string   `json:"set_identifier"`
	Failover      string   `json:"failover"`
	Records       []string `json:"records"`
	HealthCheckID string   `json:"health_check_id,omitempty"`
}

func (p recordProps) recordSet() *r53types.ResourceRecordSet {
	rs := &r53types.ResourceRecordSet{
		Name:          aws.String(p.Name),
		Type:          r53types.RRType(p.Type),
		TTL:           aws.Int64(p.TTL),
		SetIdentifier: aws.String(p.SetIdentifier),
		Failover:      r53types.ResourceRecordSetFailover(p.Failover),
	}
	for _, r := range p.Records {
		rs.ResourceRecords = append(rs.ResourceRecords, r53types.ResourceRecord{Value: aws.String(r)})
	}
	if p.HealthCheckID != "" {
		rs.HealthCheckId = aws.String(p.HealthCheckID)
	}
	return rs
}

type recordDriver struct{ c *Cloud }

func (recordDriver) ForceNew() []string { return []string{"zone_id", "name", "type", "set_identifier"} }

func (d recordDriver) change(ctx context.Context, action r53types.ChangeAction, p recordProps) error {
	out, err := d.c.Route53().ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(p.ZoneID),
		ChangeBatch: &r53types.ChangeBatch{
			Comment: aws.String("meridian"),
			Changes: []r53types.Change{{Action: action, ResourceRecordSet: p.recordSet()}},
		},
	})
	if err != nil {
		return classify(err)
	}
	return d.c.waitChange(ctx, out.ChangeInfo)
}

func recordID(p recordProps) string {
	return strings.Join([]string{p.ZoneID, p.Name, p.Type, p.SetIdentifier}, "_")
}

func (d recordDriver) Create(ctx context.Context, req engine.Request) (engine.Result, error) {
	var p recordProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, err
	}
	// A record set cannot carry marks. One that already holds exactly what
	// this create would write is ours, made by a create cut short (even by
	// a process whose record was lost); one that holds anything else is
	// someone's in a zone we were given, and is never overwritten.
	found, err := d.claim(ctx, p)
	if err != nil || found {
		return engine.Result{ID: recordID(p), Outputs: map[string]string{"fqdn": p.Name}}, err
	}
	err = d.change(ctx, r53types.ChangeActionCreate, p)
	if err != nil && code(err) == "InvalidChangeBatch" {
		// moto 5.2.1 refuses to CREATE a record set identical to one it
		// created and deleted before while a record of the same name and
		// type exists, ignoring SetIdentifier: recreating the PRIMARY of a
		// failover pair next to its SECONDARY fails. If ours is really
		// absent, nobody else's can be overwritten, so UPSERT it.
		switch _, ferr := d.find(ctx, p); {
		case errors.Is(ferr, engine.ErrNotFound):
			err = d.change(ctx, r53types.ChangeActionUpsert, p)
		case ferr != nil:
			// Cannot tell (a fault, throttling): the engine's retry of the
			// create looks again, rather than fail on the refused CREATE.
			err = ferr
		}
	}
	if err != nil {
		return engine.Result{}, err
	}
	return engine.Result{ID: recordID(p), Outputs: map[string]string{"fqdn": p.Name}}, nil
}

// claim looks for the record set p names: absent, it reports false; present
// and holding what p holds, true; present and holding anything else, an
// error wrapping engine.ErrNotOwned. A zone that is gone holds nothing.
func (d recordDriver) claim(ctx context.Context, p recordProps) (bool, error) {
	rs, err := d.find(ctx, p)
	switch {
	case errors.Is(err, engine.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	have := primitive.Normalize(recordObservation(p, rs).Properties)
	want := primitive.Normalize(recordObservation(p, p.recordSet()).Properties)
	if reflect.DeepEqual(have, want) {
		return true, nil
	}
	return false, fmt.Errorf("record set %s %s (%s) in zone %s already exists and %w: it holds %v, not %v; meridian does not overwrite it. Remove it or choose another record name: %w",
		p.Name, p.Type, p.SetIdentifier, p.ZoneID, engine.ErrNotOwned, have["records"], want["records"], engine.ErrExists)
}

// Find looks for the record set a create of req made: one that holds what
// req would write.
func (d recordDriver) Find(ctx context.Context, req engine.Request) (engine.Result, bool, error) {
	var p recordProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, false, err
	}
	found, err := d.claim(ctx, p)
	if err != nil || !found {
		return engine.Result{}, false, err
	}
	return engine.Result{ID: recordID(p), Outputs: map[string]string{"fqdn": p.Name}}, true, nil
}

// find returns the record set named by p's zone, name, type and set identifier.
func (d recordDriver) find(ctx context.Context, p recordProps) (*r53types.ResourceRecordSet, error) {
	out, err := d.c.Route53().ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{
		HostedZoneId:          aws.String(p.ZoneID),
		StartRecordName:       aws.String(p.Name),
		StartRecordType:       r53types.RRType(p.Type),
		StartRecordIdentifier: aws.String(p.SetIdentifier),
	})
	if err != nil {
		return nil, classify(err)
	}
	for _, rs := range out.ResourceRecordSets {
		if sameRecord(p, rs) {
			return &rs, nil
		}
	}
	return nil, fmt.Errorf("record %s %s (%s): %w", p.Name, p.Type, p.SetIdentifier, engine.ErrNotFound)
}

func (d recordDriver) Read(ctx context.Context, rec engine.Record) (engine.Observation, error) {
	var p recordProps
	if err := primitive.Decode(rec.Inputs, &p); err != nil {
		return engine.Observation{}, err
	}
	rs, err := d.find(ctx, p)
	if err != nil {
		return engine.Observation{}, err
	}
	return recordObservation(p, rs), nil
}

// sameRecord says whether rs is the record set p names.
func sameRecord(p recordProps, rs r53types.ResourceRecordSet) bool {
	return strings.TrimSuffix(aws.ToString(rs.Name), ".") == strings.TrimSuffix(p.Name, ".") &&
		string(rs.Type) == p.Type && aws.ToString(rs.SetIdentifier) == p.SetIdentifier
}

func recordObservation(p recordProps, rs *r53types.ResourceRecordSet) engine.Observation {
	var records []any
	for _, r := range rs.ResourceRecords {
		records = append(records, aws.ToString(r.Value))
	}
	props := map[string]any{
		"zone_id":        p.ZoneID,
		"name":           strings.TrimSuffix(aws.ToString(rs.Name), "."),
		"type":           string(rs.Type),
		"ttl":            aws.ToInt64(rs.TTL),
		"set_identifier": aws.ToString(rs.SetIdentifier),
		"failover":       string(rs.Failover),
		"records":        records,
	}
	if rs.HealthCheckId != nil {
		props["health_check_id"] = aws.ToString(rs.HealthCheckId)
	}
	return engine.Observation{Properties: props, Outputs: map[string]string{"fqdn": p.Name}}
}

func (d recordDriver) Update(ctx context.Context, rec engine.Record, req engine.Request) (engine.Result, error) {
	var p recordProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, err
	}
	if err := d.change(ctx, r53types.ChangeActionUpsert, p); err != nil {
		return engine.Result{}, err
	}
	return engine.Result{ID: recordID(p), Outputs: map[string]string{"fqdn": p.Name}}, nil
}

func (d recordDriver) Delete(ctx context.Context, rec engine.Record) error {
	var p recordProps
	if err := primitive.Decode(rec.Inputs, &p); err != nil {
		return err
	}
	// DELETE must name the record exactly as it is now, which may differ
	// from what was recorded if it drifted.
	rs, err := d.find(ctx, p)
	if errors.Is(err, engine.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	out, err := d.c.Route53().ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(p.ZoneID),
		ChangeBatch:  &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionDelete, ResourceRecordSet: rs}}},
	})
	if err != nil {
		return classify(err)
	}
	// The health check the record used is in use until the change is INSYNC.
	return d.c.waitChange(ctx, out.ChangeInfo)
}
