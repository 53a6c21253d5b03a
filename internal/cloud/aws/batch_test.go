package aws

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go/middleware"

	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed/ec2capacity"
)

var (
	_ engine.BatchReader = bucketDriver{}
	_ engine.BatchReader = healthCheckDriver{}
	_ engine.BatchReader = recordDriver{}
	_ engine.BatchReader = parameterDriver{}
	_ engine.BatchReader = reservationDriver{}
	_ engine.BatchReader = launchTemplateDriver{}
)

// callCounter counts the API calls a Cloud makes, by "service operation".
type callCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func countCalls(c *Cloud) *callCounter {
	cc := &callCounter{n: map[string]int{}}
	c.base.APIOptions = append(c.base.APIOptions, func(s *middleware.Stack) error {
		return s.Finalize.Add(middleware.FinalizeMiddlewareFunc("countCalls", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			cc.mu.Lock()
			cc.n[awsmiddleware.GetServiceID(ctx)+" "+awsmiddleware.GetOperationName(ctx)]++
			cc.mu.Unlock()
			return next.HandleFinalize(ctx, in)
		}), middleware.After)
	})
	return cc
}

func (cc *callCounter) take() map[string]int {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	out := cc.n
	cc.n = map[string]int{}
	return out
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

var batchRegions = []string{"us-east-1", "us-west-2"}

// batchGraph is n region pairs' worth of the types that read in batches:
// per region a bucket, a parameter, a capacity reservation with a launch
// template on it, a health check and a failover record, all records in one zone.
func batchGraph(n int, image string, tags map[string]string) primitive.Graph {
	zone := compile.Route53Zone + ".batch"
	g := primitive.Graph{Primitives: []primitive.Primitive{{Name: zone, Type: compile.Route53Zone, Region: compile.Global, Tags: tags,
		Properties: primitive.Normalize(map[string]any{"name": "batch.example.com"})}}}
	add := func(name, typ, region string, props map[string]any) {
		g.Primitives = append(g.Primitives, primitive.Primitive{Name: name, Type: typ, Region: region, Tags: tags, Properties: primitive.Normalize(props)})
	}
	for i := range n {
		for r, region := range batchRegions {
			key := fmt.Sprintf("%03d.%s", i, region)
			cr, hc := compile.EC2CapacityReservation+"."+key, compile.Route53HealthCheck+"."+key
			add(compile.S3Bucket+"."+key, compile.S3Bucket, region, map[string]any{"bucket": fmt.Sprintf("mb-%03d-%s", i, region), "versioning": true, "force_destroy": true})
			add(compile.SSMParameter+"."+key, compile.SSMParameter, region, map[string]any{"name": fmt.Sprintf("/meridian/pair-%03d", i), "value": map[string]any{"pair": i, "region": region}})
			add(cr, compile.EC2CapacityReservation, region, map[string]any{
				"instance_type": "m5.large", "instance_platform": "Linux/UNIX", "availability_zone": region + "a",
				"tenancy": "default", "instance_count": 1 + i%3, "instance_match_criteria": "targeted"})
			add(compile.LaunchTemplate+"."+key, compile.LaunchTemplate, region, map[string]any{
				"name": fmt.Sprintf("lt-%03d", i), "image_id": image, "instance_type": "m5.large", "capacity_reservation_id": primitive.Ref(cr, "id")})
			add(hc, compile.Route53HealthCheck, compile.Global, map[string]any{"type": "HTTPS", "fqdn": fmt.Sprintf("%03d.%s.example.com", i, region),
				"port": 443, "resource_path": "/health", "request_interval": 30, "failure_threshold": 3})
			role := []string{"PRIMARY", "SECONDARY"}[r]
			add(compile.Route53Record+"."+key, compile.Route53Record, compile.Global, map[string]any{
				"zone_id": primitive.Ref(zone, "zone_id"), "name": fmt.Sprintf("svc-%03d.batch.example.com", i), "type": "A", "ttl": 60,
				"set_identifier": region, "failover": role, "records": []string{fmt.Sprintf("10.%d.%d.1", r, i)}, "health_check_id": primitive.Ref(hc, "id")})
		}
	}
	return g
}

// batchEnv is moto behind the EC2 capacity reservation server, with n
// region pairs of batchGraph applied.
type batchEnv struct {
	cloud *Cloud
	calls *callCounter
	st    engine.State
}

func startBatchEnv(t *testing.T, ctx context.Context, n int) *batchEnv {
	testbed.RequireTool(t, "moto_server")
	moto, err := testbed.StartMoto(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = moto.Stop() })
	srv, err := ec2capacity.Start(moto.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	c, err := New(ctx, Config{Endpoint: srv.Endpoint(), AccessKey: "test", SecretKey: "test", S3UsePathStyle: true, SkipCredentialsValidation: true, Emulator: true})
	if err != nil {
		t.Fatal(err)
	}
	calls := countCalls(c)
	images, err := c.EC2("us-east-1").DescribeImages(ctx, &ec2.DescribeImagesInput{})
	if err != nil || len(images.Images) == 0 {
		t.Fatalf("moto's images: %v", err)
	}
	env := &batchEnv{cloud: c, calls: calls}
	e := &engine.Engine{Drivers: c.Drivers()}
	p, err := engine.Diff(batchGraph(n, aws.ToString(images.Images[0].ImageId), map[string]string{"team": "web"}), env.st, e.Drivers)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := e.Apply(ctx, p, &env.st); err != nil {
		t.Fatal(err)
	}
	t.Logf("applied %d primitives in %s", len(env.st.Records), time.Since(start).Round(time.Millisecond))
	calls.take()
	return env
}

// perRecord hides a driver's ReadAll, so that refresh reads one record at a time.
type perRecord struct{ engine.Driver }

func withoutBatches(ds engine.Drivers) engine.Drivers {
	out := engine.Drivers{}
	for typ, d := range ds {
		out[typ] = perRecord{d}
	}
	return out
}

// TestBatchedReadsMatchRead compares, for every type that reads in
// batches, what ReadAll and Read observe of the same objects on moto,
// after changes made behind meridian's back: some objects changed, one of
// each type deleted.
func TestBatchedReadsMatchRead(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	env := startBatchEnv(t, ctx, 3)
	c := env.cloud
	get := func(typ, key string) engine.Record {
		t.Helper()
		r, ok := env.st.Get(typ + "." + key)
		if !ok {
			t.Fatalf("no record %s.%s", typ, key)
		}
		return r
	}
	// Drift: tags, properties and deletions, made with the SDK directly.
	must := func(what string, _ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	b := get(compile.S3Bucket, "001.us-east-1").ID
	out1, err := c.S3("us-east-1").PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(b), VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusSuspended}})
	must("suspend versioning", out1, err)
	out2, err := c.S3("us-east-1").PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String(b), Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("team"), Value: aws.String("ops")}}}})
	must("retag bucket", out2, err)
	out3, err := c.S3("us-west-2").DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(get(compile.S3Bucket, "002.us-west-2").ID)})
	must("delete bucket", out3, err)
	out4, err := c.SSM("us-east-1").DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(get(compile.SSMParameter, "000.us-east-1").ID)})
	must("delete parameter", out4, err)
	out5, err := c.SSM("us-west-2").PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(get(compile.SSMParameter, "001.us-west-2").ID), Value: aws.String(`{"pair":"edited"}`), Overwrite: aws.Bool(true)})
	must("edit parameter", out5, err)
	hc := get(compile.Route53HealthCheck, "000.us-west-2").ID
	out6, err := c.Route53().UpdateHealthCheck(ctx, &route53.UpdateHealthCheckInput{HealthCheckId: aws.String(hc), FailureThreshold: aws.Int32(7)})
	must("edit health check", out6, err)
	out7, err := c.Route53().DeleteHealthCheck(ctx, &route53.DeleteHealthCheckInput{HealthCheckId: aws.String(get(compile.Route53HealthCheck, "002.us-east-1").ID)})
	must("delete health check", out7, err)
	must("retag health check", nil, (healthCheckDriver{c}).tags().set(ctx, get(compile.Route53HealthCheck, "001.us-east-1").ID, map[string]string{"team": "web"}, map[string]string{"owner": "bob"}))
	must("delete record", nil, (recordDriver{c}).Delete(ctx, get(compile.Route53Record, "001.us-west-2")))
	rp := get(compile.Route53Record, "002.us-east-1")
	var p recordProps
	must("decode record", nil, primitive.Decode(rp.Inputs, &p))
	p.TTL, p.Records = 300, []string{"192.0.2.1"}
	must("edit record", nil, (recordDriver{c}).change(ctx, "UPSERT", p))
	out8, err := c.EC2("us-east-1").CancelCapacityReservation(ctx, &ec2.CancelCapacityReservationInput{CapacityReservationId: aws.String(get(compile.EC2CapacityReservation, "000.us-east-1").ID)})
	must("cancel reservation", out8, err)
	out9, err := c.EC2("us-west-2").ModifyCapacityReservation(ctx, &ec2.ModifyCapacityReservationInput{CapacityReservationId: aws.String(get(compile.EC2CapacityReservation, "001.us-west-2").ID), InstanceCount: aws.Int32(9)})
	must("resize reservation", out9, err)
	lt := get(compile.LaunchTemplate, "002.us-east-1")
	must("retag launch template", nil, setEC2Tags(ctx, c.EC2("us-east-1"), lt.ID, map[string]string{"team": "web"}, map[string]string{"team": "data", "cost": "cc-1"}))
	out10, err := c.EC2("us-west-2").DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateId: aws.String(get(compile.LaunchTemplate, "000.us-west-2").ID)})
	must("delete launch template", out10, err)

	drivers := c.Drivers()
	groups := map[[2]string][]engine.Record{}
	for _, rec := range env.st.Records {
		if _, ok := drivers[rec.Type].(engine.BatchReader); ok {
			groups[[2]string{rec.Type, rec.Region}] = append(groups[[2]string{rec.Type, rec.Region}], rec)
		}
	}
	types := map[string]bool{}
	for key, recs := range groups {
		typ, region := key[0], key[1]
		types[typ] = true
		t.Run(typ+"/"+region, func(t *testing.T) {
			got, err := drivers[typ].(engine.BatchReader).ReadAll(ctx, recs)
			if err != nil {
				t.Fatalf("ReadAll: %v", err)
			}
			gone, drifted := 0, 0
			for _, rec := range recs {
				want, err := drivers[typ].Read(ctx, rec)
				obs, seen := got[rec.Name]
				switch {
				case errors.Is(err, engine.ErrNotFound):
					gone++
					if seen {
						t.Errorf("%s: Read finds it gone, ReadAll saw %+v", rec.Name, obs)
					}
					continue
				case err != nil:
					t.Fatalf("Read %s: %v", rec.Name, err)
				case !seen:
					t.Errorf("%s: ReadAll lost it; Read sees %+v", rec.Name, want)
					continue
				}
				if !reflect.DeepEqual(primitive.Normalize(obs.Properties), primitive.Normalize(want.Properties)) ||
					!reflect.DeepEqual(obs.Tags, want.Tags) || !reflect.DeepEqual(obs.Outputs, want.Outputs) || !reflect.DeepEqual(obs.Warnings, want.Warnings) {
					t.Errorf("%s:\n ReadAll %+v\n Read    %+v", rec.Name, obs, want)
				}
				if !reflect.DeepEqual(primitive.Normalize(want.Properties), primitive.Normalize(pick(rec.Inputs, want.Properties))) || !reflect.DeepEqual(want.Tags, rec.Tags) {
					drifted++
				}
			}
			t.Logf("%d objects: %d gone, %d drifted", len(recs), gone, drifted)
		})
	}
	if len(types) != 6 {
		t.Errorf("batched types %v, want 6", types)
	}

	// A whole refresh, batched and not, says the same.
	one, all := env.st.Clone(), env.st.Clone()
	d1, w1, err1 := (&engine.Engine{Drivers: withoutBatches(drivers)}).Refresh(ctx, &one)
	d2, w2, err2 := (&engine.Engine{Drivers: drivers}).Refresh(ctx, &all)
	if err1 != nil || err2 != nil {
		t.Fatalf("refresh: %v / %v", err1, err2)
	}
	if !reflect.DeepEqual(d1, d2) || !reflect.DeepEqual(w1, w2) || !reflect.DeepEqual(one, all) {
		t.Errorf("refresh differs:\n per record %v %q\n batched    %v %q", d1, w1, d2, w2)
	}
	gone := map[string]bool{}
	for _, d := range d2 {
		gone[d.Name] = d.Gone
	}
	t.Logf("drifts: %v", d2)
	// One object of each type deleted, seven changed. moto 5.2.1 also drops
	// untouched SECONDARY record sets of the zone when another failover
	// record set is deleted or upserted; Read and ReadAll agree on that.
	for _, name := range []string{"aws_s3_bucket.002.us-west-2", "aws_ssm_parameter.000.us-east-1", "aws_route53_health_check.002.us-east-1",
		"aws_route53_record.001.us-west-2", "aws_ec2_capacity_reservation.000.us-east-1", "aws_launch_template.000.us-west-2"} {
		if g, ok := gone[name]; !ok || !g {
			t.Errorf("%s: not reported gone", name)
		}
	}
	for _, name := range []string{"aws_s3_bucket.001.us-east-1", "aws_ssm_parameter.001.us-west-2", "aws_route53_health_check.000.us-west-2",
		"aws_route53_health_check.001.us-east-1", "aws_route53_record.002.us-east-1", "aws_ec2_capacity_reservation.001.us-west-2", "aws_launch_template.002.us-east-1"} {
		if g, ok := gone[name]; !ok || g {
			t.Errorf("%s: not reported changed", name)
		}
	}
}

// pick keeps the keys of m that obs has.
func pick(m, obs map[string]any) map[string]any {
	out := map[string]any{}
	for k := range obs {
		out[k] = m[k]
	}
	return out
}

// TestBatchedRefreshCalls refreshes many region pairs' primitives with and
// without batches and checks that the batched calls grow with the types and
// pages, not with the records. MERIDIAN_BATCH_PAIRS sets the number of
// region pairs (50 by default).
func TestBatchedRefreshCalls(t *testing.T) {
	n := 50
	if s := os.Getenv("MERIDIAN_BATCH_PAIRS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	env := startBatchEnv(t, ctx, n)
	drivers := env.cloud.Drivers()

	refresh := func(ds engine.Drivers) (map[string]int, time.Duration) {
		st := env.st.Clone()
		start := time.Now()
		drifts, warnings, err := (&engine.Engine{Drivers: ds}).Refresh(ctx, &st)
		if err != nil || len(drifts) != 0 || len(warnings) != 0 {
			t.Fatalf("refresh: %v %v %v", err, drifts, warnings)
		}
		return env.calls.take(), time.Since(start)
	}
	single, singleTime := refresh(withoutBatches(drivers))
	batched, batchedTime := refresh(drivers)
	t.Logf("%d records: per record %d calls in %s, batched %d calls in %s", len(env.st.Records), total(single), singleTime.Round(time.Millisecond), total(batched), batchedTime.Round(time.Millisecond))
	for _, k := range sortedKeys(names(single)) {
		t.Logf("  per record %-40s %d", k, single[k])
	}
	for _, k := range sortedKeys(names(batched)) {
		t.Logf("  batched    %-40s %d", k, batched[k])
	}

	perRegion := n  // objects of a regional type in one region
	global := 2 * n // health checks, records
	pages := func(objects, page int) int { return int(math.Ceil(float64(objects) / float64(page))) }
	want := map[string]int{
		// One list per region; versioning and tags have no batch call.
		"S3 ListBuckets": 2, "S3 GetBucketVersioning": 2 * perRegion, "S3 GetBucketTagging": 2 * perRegion,
		"Route 53 ListHealthChecks": pages(global, 1000), "Route 53 ListTagsForResources": pages(global, 10),
		"Route 53 ListResourceRecordSets": pages(global+2, 300), // SOA and NS too
		"SSM GetParameters":               2 * pages(perRegion, 10), "SSM ListTagsForResource": 2 * perRegion,
		"EC2 DescribeCapacityReservations": 2 * pages(perRegion, 100),
		"EC2 DescribeLaunchTemplates":      2 * pages(perRegion, 200), "EC2 DescribeTags": 2 * pages(perRegion, 200),
		"EC2 DescribeLaunchTemplateVersions": 2 * pages(perRegion, 200),
		// The zone has no batch read.
		"Route 53 GetHostedZone": 1, "Route 53 ListTagsForResource": 1,
	}
	// The EC2 capacity reservation server of internal/testbed now and then
	// closes the connection under a large DescribeCapacityReservations
	// answer; the engine then retries the batch.
	if n, w := batched["EC2 DescribeCapacityReservations"], want["EC2 DescribeCapacityReservations"]; n > w && n <= w+2 {
		t.Logf("%d DescribeCapacityReservations retried", n-w)
		batched["EC2 DescribeCapacityReservations"] = w
	}
	if !reflect.DeepEqual(batched, want) {
		t.Errorf("batched calls:\n got  %v\n want %v", batched, want)
	}
	// Per record: 3 per bucket, 2 per parameter, 1 per reservation, 3 per
	// launch template, 2 per health check, 1 per record, 2 for the zone.
	if got, w := total(single), 2*perRegion*(3+2+1+3)+global*(2+1)+2; got != w {
		t.Errorf("per-record refresh made %d calls, want %d", got, w)
	}
	// Without S3's and SSM's per-object tag and versioning reads, what is
	// left grows with the types and pages only.
	fixed := total(batched) - 6*perRegion
	if limit := 20 + 2*pages(global, 10); fixed > limit {
		t.Errorf("%d batched calls beyond the per-object ones, want at most %d", fixed, limit)
	}
}

func names(m map[string]int) map[string]string {
	out := map[string]string{}
	for k := range m {
		out[k] = k
	}
	return out
}
