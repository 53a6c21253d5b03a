package aws

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// TestKilledBeforeTaggingIsAdopted: a zone or health check whose create
// call went out but whose tags never did (the process was killed between
// the two calls, with its token) is found by its caller reference, which
// carries a digest of the owner mark, and adopted: no duplicate.
func TestKilledBeforeTaggingIsAdopted(t *testing.T) {
	e := startOwnEnv(t)
	zones, checks := e.drivers[primitive.Route53Zone], e.drivers[primitive.Route53HealthCheck]
	zreq := ownReq(primitive.Route53Zone, primitive.Global, "aws_route53_zone.dns", "tok-lost", map[string]any{"name": "untagged.example.com"})
	zref := callerReference(zreq)
	z := must[*route53.CreateHostedZoneOutput](t, "create zone")(e.route53().CreateHostedZone(e.ctx, &route53.CreateHostedZoneInput{Name: aws.String("untagged.example.com"), CallerReference: aws.String(zref)}))
	zreq.Token, zreq.Tags[engine.TokenTag] = "tok-next", "tok-next"
	res, err := zones.Create(e.ctx, zreq)
	if err != nil {
		t.Fatal(err)
	}
	if left := zoneID(aws.ToString(z.HostedZone.Id)); res.ID != left || len(e.zonesNamed(t, "untagged.example.com")) != 1 {
		t.Errorf("zone %s made or taken, want %s, the one left untagged, and one zone of the name", res.ID, left)
	}

	props := map[string]any{"type": "HTTPS", "fqdn": "untagged.example.com", "port": 443, "resource_path": "/health", "request_interval": 30, "failure_threshold": 3}
	hreq := ownReq(primitive.Route53HealthCheck, primitive.Global, "aws_route53_health_check.primary", "tok-lost", props)
	before := len(e.healthChecks(t))
	h := must[*route53.CreateHealthCheckOutput](t, "create check")(e.route53().CreateHealthCheck(e.ctx, &route53.CreateHealthCheckInput{CallerReference: aws.String(callerReference(hreq)),
		HealthCheckConfig: &r53types.HealthCheckConfig{Type: r53types.HealthCheckTypeHttps, FullyQualifiedDomainName: aws.String("untagged.example.com"), Port: aws.Int32(443),
			ResourcePath: aws.String("/health"), RequestInterval: aws.Int32(30), FailureThreshold: aws.Int32(3)}}))
	hreq.Token, hreq.Tags[engine.TokenTag] = "tok-next", "tok-next"
	hres, err := checks.Create(e.ctx, hreq)
	if err != nil {
		t.Fatal(err)
	}
	if hres.ID != aws.ToString(h.HealthCheck.Id) || len(e.healthChecks(t)) != before+1 {
		t.Errorf("health check %s made or taken, want %s, with no duplicate", hres.ID, aws.ToString(h.HealthCheck.Id))
	}
}

// TestRecordSetsAreNeverOverwritten: a record set that holds exactly what a
// create would write is adopted (a create cut short); one that holds
// anything else is refused, left as it is, and Find says the same.
func TestRecordSetsAreNeverOverwritten(t *testing.T) {
	e := startOwnEnv(t)
	z := must[*route53.CreateHostedZoneOutput](t, "create zone")(e.route53().CreateHostedZone(e.ctx, &route53.CreateHostedZoneInput{Name: aws.String("given.example.com"), CallerReference: aws.String("user")}))
	zone := zoneID(aws.ToString(z.HostedZone.Id))
	records := e.drivers[primitive.Route53Record]
	props := func(value string) map[string]any {
		return map[string]any{"zone_id": zone, "name": "api.given.example.com", "type": "CNAME", "ttl": 60, "set_identifier": "primary", "failover": "PRIMARY", "records": []string{value}}
	}
	put := func(value string) {
		var p recordProps
		if err := primitive.Decode(props(value), &p); err != nil {
			t.Fatal(err)
		}
		if _, err := e.route53().ChangeResourceRecordSets(e.ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(zone),
			ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionUpsert, ResourceRecordSet: p.recordSet()}}}}); err != nil {
			t.Fatal(err)
		}
	}
	put("theirs.example.com")
	req := ownReq(primitive.Route53Record, primitive.Global, "aws_route53_record.primary", "tok", props("ours.example.com"))
	_, err := records.Create(e.ctx, req)
	wantNotOwned(t, err)
	_, _, err = records.(engine.Finder).Find(e.ctx, req)
	wantNotOwned(t, err)
	out, err := e.route53().ListResourceRecordSets(e.ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zone)})
	if err != nil {
		t.Fatal(err)
	}
	for _, rs := range out.ResourceRecordSets {
		if rs.Type == r53types.RRTypeCname && aws.ToString(rs.ResourceRecords[0].Value) != "theirs.example.com" {
			t.Fatalf("their record set was changed: %s", aws.ToString(rs.ResourceRecords[0].Value))
		}
	}

	put("ours.example.com") // as a create cut short would have left it
	if _, err := records.Create(e.ctx, req); err != nil {
		t.Fatalf("create over its own record set: %v", err)
	}
	if _, found, err := records.(engine.Finder).Find(e.ctx, req); err != nil || !found {
		t.Errorf("Find = %v, %v; want found", found, err)
	}
}
