package aws

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed/strict"
)

// TestRoute53RequestsKeepTheAccountLimit: two engines of one process (as
// the provider runs one per resource) apply Route 53 zones and records at
// once, behind the strict layer, which throttles Route 53 at 5 requests a
// second per account and keeps changes PENDING for a while. Every driver
// call is several requests (the change, GetChange until INSYNC, tags), so
// only limits that count requests, in one set for both engines and both
// clients, keep the account within its rate: the layer must throttle
// nothing, and the requests it counted cannot have come faster than 5 a
// second. The old engine took one token per driver call and was throttled.
func TestRoute53RequestsKeepTheAccountLimit(t *testing.T) {
	opts := only(strict.Throttling, strict.ChangePending)
	opts.ChangeDelay = time.Second
	s := testbed.StartStrict(t, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := New(ctx, Config{Endpoint: s.Endpoint(), AccessKey: "test", SecretKey: "test", S3UsePathStyle: true, SkipCredentialsValidation: true})
	if err != nil {
		t.Fatal(err)
	}
	const records = 4
	graph := func(name string) primitive.Graph {
		zone := "aws_route53_zone." + name
		g := primitive.Graph{Primitives: []primitive.Primitive{{Name: zone, Type: primitive.Route53Zone, Region: primitive.Global,
			Properties: map[string]any{"name": name + ".limits.example.com"}, Tags: map[string]string{"k": "v"}}}}
		for i := range records {
			g.Primitives = append(g.Primitives, primitive.Primitive{Name: fmt.Sprintf("aws_route53_record.%s%d", name, i), Type: primitive.Route53Record, Region: primitive.Global,
				Properties: map[string]any{"zone_id": primitive.Ref(zone, "id"), "name": fmt.Sprintf("r%d.%s.limits.example.com", i, name),
					"type": "CNAME", "ttl": 60, "records": []any{"a.example.com"}}})
		}
		return g
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, name := range []string{"one", "two"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := &engine.Engine{Drivers: c.Drivers(), Scope: "limits/" + name, Shared: c.Limiters()}
			var st engine.State
			p, err := engine.Diff(graph(name), st, e.Drivers)
			if err == nil {
				err = e.Apply(ctx, p, &st)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	took := time.Since(start)
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	n := s.Server.Requests()["route53"]
	t.Logf("%d Route 53 requests in %s; the layer: %v", n, took.Round(time.Millisecond), s.Server.Counts())
	if min := 2 * (1 + records) * 2; n < min {
		t.Fatalf("%d Route 53 requests, want at least %d (a change and a GetChange per create): the test did not exercise the limit", n, min)
	}
	if got := s.Server.Counts()[strict.Throttling]; got != 0 {
		t.Errorf("the strict layer throttled %d Route 53 requests: the process went over 5 a second", got)
	}
	// 5 a second: the first request at once, each other 200 ms after.
	if least := time.Duration(n-1) * time.Second / 5; took < least {
		t.Errorf("%d Route 53 requests in %s, faster than 5 a second (at least %s)", n, took, least)
	}
	if s.Server.Counts()[strict.ChangePending] == 0 {
		t.Error("no change was PENDING: the test did not make the drivers wait for INSYNC")
	}
}
