package main

// Section (d): apply of a stack of region pairs through the strict layer
// with AWS-like latency (50-300 ms per request) and AWS's request rates
// (Route 53 throttled at 5 requests a second per account), next to its
// lower bound: the larger of the slowest rate-limited service's requests
// divided by its rate, and the dependency chain's latency (one pair
// applied alone, under the same latency). The section fails (and make
// bench exits non-zero) when the apply takes more than -limits-target
// times the bound, or when the layer had to throttle a request.

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	awscloud "github.com/meridianhq/terraform-provider-meridian/internal/cloud/aws"
	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/stack"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed/strict"
)

var (
	limitsPairs  = flag.Int("limits-pairs", 50, "region pairs (d) applies")
	limitsTarget = flag.Float64("limits-target", 1.15, "(d) fails when the apply takes more than this times its lower bound")
)

// The latency the layer adds to every request in (d), as AWS's APIs take.
const latencyMin, latencyMax = 50 * time.Millisecond, 300 * time.Millisecond

// sectionD runs (d) unless only names another section, and reports
// whether it met its target.
func sectionD(w io.Writer, only, tf string, tfErr error, tfTimeout time.Duration) bool {
	if only != "" && only != "d" {
		return true
	}
	fmt.Fprintf(w, "\n(d) apply of a %d-pair stack through the strict layer: %s-%s latency per request, Route 53 throttled at %g requests/s\n",
		*limitsPairs, latencyMin, latencyMax, strict.DefaultRates["route53"])
	ok, err := limitsRun(w, *limitsPairs, *limitsTarget, tf, tfErr, tfTimeout)
	if err != nil {
		fmt.Fprintf(w, "FAIL: %v\n", err)
		return false
	}
	return ok
}

// benchPair is the i-th region pair of (d): buckets with replication, a
// table with its replica, DNS failover with health checks, each in a zone
// of its own.
func benchPair(prefix string, i int) blueprint.RegionPair {
	name := fmt.Sprintf("%s%02d", prefix, i)
	return blueprint.RegionPair{
		Name: name, PrimaryRegion: "us-east-1", SecondaryRegion: "us-west-2",
		ObjectStore: &blueprint.ObjectStore{BucketPrefix: "bench-" + name, ForceDestroy: true},
		KVTable:     &blueprint.KVTable{HashKey: "pk"},
		DNS: &blueprint.DNS{ZoneName: name + ".bench.example.com", RecordName: "api",
			PrimaryEndpoint: "a." + name + ".example.com", SecondaryEndpoint: "b." + name + ".example.com"},
	}
}

func limitsRun(w io.Writer, pairs int, target float64, tf string, tfErr error, tfTimeout time.Duration) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	moto, err := testbed.StartMoto(ctx)
	if err != nil {
		return false, err
	}
	defer func() { _ = moto.Stop() }()
	var off []strict.Behaviour
	for _, b := range strict.Behaviours() {
		if b != strict.Throttling {
			off = append(off, b)
		}
	}
	layer, err := strict.Start(moto.Endpoint(), strict.Options{Off: off, LatencyMin: latencyMin, LatencyMax: latencyMax})
	if err != nil {
		return false, err
	}
	defer func() { _ = layer.Close() }()
	conf := awscloud.Config{Endpoint: layer.Endpoint(), AccessKey: "test", SecretKey: "test", S3UsePathStyle: true, SkipCredentialsValidation: true}

	// apply applies the pairs through one engine (as `meridian up` does),
	// on a cloud whose limiters the engine shares.
	apply := func(ps []blueprint.RegionPair) (time.Duration, error) {
		cloud, err := awscloud.New(ctx, conf)
		if err != nil {
			return 0, err
		}
		g, err := stack.Compile(ps, map[string]string{"team": "bench"})
		if err != nil {
			return 0, err
		}
		e := &engine.Engine{Drivers: cloud.Drivers(), Scope: "stack:bench", Shared: cloud.Limiters()}
		var st engine.State
		start := time.Now()
		p, err := engine.Diff(g, st, e.Drivers)
		if err != nil {
			return 0, err
		}
		if err := e.Apply(ctx, p, &st); err != nil {
			return 0, err
		}
		return time.Since(start), nil
	}

	// The chain: one pair alone, nothing else in the way.
	chain, err := apply([]blueprint.RegionPair{benchPair("solo", 0)})
	if err != nil {
		return false, fmt.Errorf("one pair: %w", err)
	}
	layer.Reset()
	var ps []blueprint.RegionPair
	for i := range pairs {
		ps = append(ps, benchPair("p", i))
	}
	took, err := apply(ps)
	if err != nil {
		return false, fmt.Errorf("%d pairs: %w", pairs, err)
	}
	requests, throttled := layer.Requests(), layer.Counts()[strict.Throttling]
	bound, slowest := chain, "the dependency chain (one pair alone)"
	for svc, rate := range strict.DefaultRates {
		if d := time.Duration(float64(requests[svc]) / rate * float64(time.Second)); d > bound {
			bound, slowest = d, fmt.Sprintf("%s: %d requests / %g per s", svc, requests[svc], rate)
		}
	}
	ratio := float64(took) / float64(bound)
	fmt.Fprintf(w, "requests: %s; throttled by the layer: %d\n", formatCounts(requests), throttled)
	fmt.Fprintf(w, "one pair alone: %s\n", chain.Round(time.Millisecond))
	fmt.Fprintf(w, "lower bound: %s (%s)\n", bound.Round(time.Millisecond), slowest)
	verdict := "PASS"
	ok := ratio <= target && throttled == 0
	if !ok {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "%-22s %-10s %-8s %s\n", "", "apply", "/bound", fmt.Sprintf("target <= %.2fx", target))
	fmt.Fprintf(w, "%-22s %-10s %-8s %s\n", "meridian engine", took.Round(time.Millisecond), fmt.Sprintf("%.2fx", ratio), verdict)

	tfCell, tfRatio := "n/a", "terraform not found"
	if tfErr == nil {
		layer.Reset()
		// A terraform apply of the same pairs takes at least the same
		// bound, plus terraform's own plan: give it room.
		d, err := terraformPairs(ctx, tf, layer.Endpoint(), pairs, max(tfTimeout, 4*bound))
		if err == nil {
			tfCell, tfRatio = d.Round(time.Millisecond).String(), fmt.Sprintf("%.2fx", float64(d)/float64(bound))
		} else {
			tfRatio = err.Error()
		}
		tfRatio += fmt.Sprintf(" (requests: %s; throttled: %d)", formatCounts(layer.Requests()), layer.Counts()[strict.Throttling])
	}
	fmt.Fprintf(w, "%-22s %-10s %s\n", "terraform + provider", tfCell, tfRatio)
	fmt.Fprintln(w, "engine: one engine for the stack, parallelism 10, its limiters shared with the AWS clients, whose every request (retries and pages too) takes a token. terraform: `terraform apply` of as many meridian_region_pair resources (a fresh zone and names each), -parallelism=10, through the provider built from this tree: one engine per resource, one limiter set per provider process.")
	if throttled > 0 {
		fmt.Fprintf(w, "FAIL: the layer throttled %d requests: the process went over a service's rate\n", throttled)
	}
	return ok, nil
}

func formatCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// terraformPairs builds the provider from this tree into a filesystem
// mirror and applies pairs meridian_region_pair resources through it
// against endpoint; it returns the time of `terraform apply`.
func terraformPairs(ctx context.Context, tf, endpoint string, pairs int, timeout time.Duration) (time.Duration, error) {
	dir, err := os.MkdirTemp("", "meridian-bench-limits-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	const version = "0.1.0"
	plugins := filepath.Join(dir, "mirror", "registry.terraform.io", "meridianhq", "meridian", version, runtime.GOOS+"_"+runtime.GOARCH)
	build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(plugins, "terraform-provider-meridian_v"+version), ".")
	if out, err := build.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("build the provider: %v: %s", err, lastLine(string(out)))
	}
	rc := filepath.Join(dir, "terraformrc")
	if err := os.WriteFile(rc, []byte(fmt.Sprintf("disable_checkpoint = true\nprovider_installation {\n  filesystem_mirror {\n    path    = %q\n    include = [\"registry.terraform.io/meridianhq/*\"]\n  }\n}\n", filepath.Join(dir, "mirror"))), 0o644); err != nil {
		return 0, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "terraform {\n  required_providers {\n    meridian = { source = \"meridianhq/meridian\", version = %q }\n  }\n}\n", version)
	fmt.Fprintf(&b, "provider \"meridian\" {\n  aws {\n    endpoint = %q\n    access_key = \"test\"\n    secret_key = \"test\"\n    s3_use_path_style = true\n    skip_credentials_validation = true\n  }\n}\n", endpoint)
	for i := range pairs {
		p := benchPair("tf", i)
		fmt.Fprintf(&b, `resource "meridian_region_pair" %q {
  name             = %q
  primary_region   = %q
  secondary_region = %q
  object_store {
    bucket_prefix = %q
    force_destroy = true
  }
  kv_table {
    hash_key = "pk"
  }
  dns {
    zone_name          = %q
    record_name        = "api"
    primary_endpoint   = %q
    secondary_endpoint = %q
  }
  tags = { team = "bench" }
}
`, p.Name, p.Name, p.PrimaryRegion, p.SecondaryRegion, p.ObjectStore.BucketPrefix, p.DNS.ZoneName, p.DNS.PrimaryEndpoint, p.DNS.SecondaryEndpoint)
	}
	work := filepath.Join(dir, "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return 0, err
	}
	if err := os.WriteFile(filepath.Join(work, "main.tf"), []byte(b.String()), 0o644); err != nil {
		return 0, err
	}
	env := append(os.Environ(), "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1", "TF_CLI_CONFIG_FILE="+rc)
	run := terraformCommand(tf, work, env, timeout)
	if err := run(ctx, "init", "-input=false"); err != nil {
		return 0, err
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	if err := run(actx, "apply", "-auto-approve", "-input=false", "-parallelism=10"); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}
