package main

// Section (c): refresh of ~1000 AWS primitives against moto, the engine's
// batched refresh (engine.BatchReader) against its one-Read-per-record
// refresh, counting the API calls that reach the endpoint.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	awscloud "github.com/meridianhq/terraform-provider-meridian/internal/cloud/aws"
	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed/ec2capacity"
)

var refreshN = flag.Int("refresh-n", 1000, "about how many AWS primitives (c) refreshes")

// sectionC runs (c) unless only names another section.
func sectionC(w io.Writer, only string) {
	if only != "" && only != "c" {
		return
	}
	fmt.Fprintf(w, "\n(c) refresh of %d AWS primitives against moto, parallelism 10: batched reads vs one Read per record\n", *refreshN)
	if err := refreshRun(w, *refreshN); err != nil {
		fmt.Fprintf(w, "skipped: %v\n", err)
	}
	fmt.Fprintln(w, "calls: HTTP requests that reached the endpoint. time: both keep Route 53 to its 5 requests a second (engine.DefaultLimits, as AWS does per account), which is most of the per-record time. terraform: n/a, since its hashicorp/aws provider cannot be installed offline, and a terraform refresh of meridian resources runs this same engine inside the provider.")
}

// callCounter is a reverse proxy that counts requests by service (from the
// SigV4 credential scope).
type callCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *callCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.n
	c.n = map[string]int{}
	return out
}

func startCounter(upstream string) (*callCounter, string, func(), error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, err
	}
	c := &callCounter{n: map[string]int{}}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := &http.Server{ReadHeaderTimeout: 30 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		svc := "?"
		// Authorization: AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SERVICE/aws4_request, ...
		if _, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential="); ok {
			if parts := strings.Split(strings.SplitN(cred, ",", 2)[0], "/"); len(parts) >= 4 {
				svc = parts[3]
			}
		}
		c.mu.Lock()
		c.n[svc]++
		c.mu.Unlock()
		proxy.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(ln) }()
	return c, "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// refreshGraph is pairs region pairs' worth of the AWS types that read in
// batches: per region a bucket, a parameter, a capacity reservation, a
// launch template on it, a health check and a failover record in one zone.
func refreshGraph(pairs int, image string) primitive.Graph {
	tags := map[string]string{"team": "bench", "cost-centre": "cc-1"}
	zone := compile.Route53Zone + ".bench"
	g := primitive.Graph{Primitives: []primitive.Primitive{{Name: zone, Type: compile.Route53Zone, Region: compile.Global, Tags: tags,
		Properties: primitive.Normalize(map[string]any{"name": "bench.example.com"})}}}
	add := func(name, typ, region string, props map[string]any) {
		g.Primitives = append(g.Primitives, primitive.Primitive{Name: name, Type: typ, Region: region, Tags: tags, Properties: primitive.Normalize(props)})
	}
	for i := range pairs {
		for r, region := range []string{"us-east-1", "us-west-2"} {
			key := fmt.Sprintf("%04d.%s", i, region)
			cr, hc := compile.EC2CapacityReservation+"."+key, compile.Route53HealthCheck+"."+key
			add(compile.S3Bucket+"."+key, compile.S3Bucket, region, map[string]any{"bucket": fmt.Sprintf("bench-%04d-%s", i, region), "versioning": true})
			add(compile.SSMParameter+"."+key, compile.SSMParameter, region, map[string]any{"name": fmt.Sprintf("/meridian/bench-%04d", i), "value": map[string]any{"pair": i}})
			add(cr, compile.EC2CapacityReservation, region, map[string]any{"instance_type": "m5.large", "instance_platform": "Linux/UNIX",
				"availability_zone": region + "a", "tenancy": "default", "instance_count": 2, "instance_match_criteria": "targeted"})
			add(compile.LaunchTemplate+"."+key, compile.LaunchTemplate, region, map[string]any{"name": fmt.Sprintf("bench-%04d", i),
				"image_id": image, "instance_type": "m5.large", "capacity_reservation_id": primitive.Ref(cr, "id")})
			add(hc, compile.Route53HealthCheck, compile.Global, map[string]any{"type": "HTTPS", "fqdn": fmt.Sprintf("%04d.%s.example.com", i, region),
				"port": 443, "resource_path": "/health", "request_interval": 30, "failure_threshold": 3})
			add(compile.Route53Record+"."+key, compile.Route53Record, compile.Global, map[string]any{"zone_id": primitive.Ref(zone, "zone_id"),
				"name": fmt.Sprintf("svc-%04d.bench.example.com", i), "type": "A", "ttl": 60, "set_identifier": region,
				"failover": []string{"PRIMARY", "SECONDARY"}[r], "records": []string{fmt.Sprintf("10.%d.%d.%d", r, i/250, i%250)}, "health_check_id": primitive.Ref(hc, "id")})
		}
	}
	return g
}

// perRecord hides a driver's ReadAll, so that refresh reads one record at a time.
type perRecord struct{ engine.Driver }

func refreshRun(w io.Writer, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	moto, err := testbed.StartMoto(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = moto.Stop() }()
	capacity, err := ec2capacity.Start(moto.Endpoint())
	if err != nil {
		return err
	}
	defer func() { _ = capacity.Close() }()
	counter, endpoint, stop, err := startCounter(capacity.Endpoint())
	if err != nil {
		return err
	}
	defer stop()
	cloud, err := awscloud.New(ctx, awscloud.Config{Endpoint: endpoint, AccessKey: "test", SecretKey: "test", S3UsePathStyle: true, SkipCredentialsValidation: true, Emulator: true})
	if err != nil {
		return err
	}
	images, err := cloud.EC2("us-east-1").DescribeImages(ctx, &ec2.DescribeImagesInput{})
	if err != nil || len(images.Images) == 0 {
		return fmt.Errorf("moto's images: %v", err)
	}
	batched := cloud.Drivers()
	single := engine.Drivers{}
	for typ, d := range batched {
		single[typ] = perRecord{d}
	}
	var st engine.State
	plan, err := engine.Diff(refreshGraph(max(1, (n-1)/12), aws.ToString(images.Images[0].ImageId)), st, batched)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := (&engine.Engine{Drivers: batched}).Apply(ctx, plan, &st); err != nil {
		return fmt.Errorf("apply: %w", err)
	}
	applied := time.Since(start)
	counter.take()

	type result struct {
		calls map[string]int
		took  time.Duration
	}
	run := func(ds engine.Drivers) (result, error) {
		s := st.Clone()
		start := time.Now()
		drifts, warnings, err := (&engine.Engine{Drivers: ds, Parallelism: 10}).Refresh(ctx, &s)
		took := time.Since(start)
		if err == nil && (len(drifts) > 0 || len(warnings) > 0) {
			err = fmt.Errorf("unexpected drift %v or warnings %q", drifts, warnings)
		}
		return result{counter.take(), took}, err
	}
	one, err := run(single)
	if err != nil {
		return fmt.Errorf("per-record refresh: %w", err)
	}
	all, err := run(batched)
	if err != nil {
		return fmt.Errorf("batched refresh: %w", err)
	}
	sum := func(m map[string]int) int {
		t := 0
		for _, v := range m {
			t += v
		}
		return t
	}
	fmt.Fprintf(w, "%d primitives (6 types, 2 regions + global) applied in %s\n", len(st.Records), applied.Round(time.Millisecond))
	fmt.Fprintf(w, "%-18s %-8s %-10s %s\n", "refresh", "calls", "time", "calls by service")
	for _, row := range []struct {
		name string
		r    result
	}{{"one Read/record", one}, {"batched", all}} {
		var svcs []string
		for s := range row.r.calls {
			svcs = append(svcs, s)
		}
		sort.Strings(svcs)
		var parts []string
		for _, s := range svcs {
			parts = append(parts, fmt.Sprintf("%s %d", s, row.r.calls[s]))
		}
		fmt.Fprintf(w, "%-18s %-8d %-10s %s\n", row.name, sum(row.r.calls), row.r.took.Round(time.Millisecond), strings.Join(parts, ", "))
	}
	fmt.Fprintf(w, "per record / batched: %.1fx the calls, %.1fx the time\n",
		float64(sum(one.calls))/float64(sum(all.calls)), float64(one.took)/float64(all.took))
	return nil
}
