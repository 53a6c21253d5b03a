// Command strict starts moto and the testbed's strict layer in front of it
// (package internal/testbed/strict) and prints the one AWS endpoint to point
// the provider, the CLI or any SDK client at. The endpoint answers as AWS
// does where moto forgives (propagation delays, PENDING Route 53 changes,
// HealthCheckInUse, DELETING tables, size and tag limits, bucket naming,
// throttling, injected faults) and serves the EC2 capacity reservation API.
// Everything listens on 127.0.0.1; Ctrl-C stops both and prints how often
// each behaviour answered.
//
//	go run ./internal/testbed/cmd/strict                     # every behaviour on, 5% faults
//	go run ./internal/testbed/cmd/strict -off faults,throttling
//	go run ./internal/testbed/cmd/strict -fault-rate 0.2 -faults 5xx,reset -rate route53=5 -rate ssm=3
//	go run ./internal/testbed/cmd/strict -latency 50ms,300ms -endpoint-file /tmp/aws-endpoint
//	go run ./internal/testbed/cmd/strict -moto http://127.0.0.1:5000  # in front of a running moto
//	                                      # (started with MOTO_IAM_LOAD_MANAGED_POLICIES=true, as AWS has them)
//
// Flags:
//
//	-off LIST            behaviours to switch off: bucket-propagation, role-propagation,
//	                     change-pending, healthcheck-in-use, table-deleting, ssm-size,
//	                     tag-limits, bucket-names, bucket-region, replication-rules,
//	                     throttling, faults
//	-bucket-delay D      how long a new bucket answers NoSuchBucket (default 2s)
//	-role-delay D        how long a new role cannot be assumed by S3 replication, Backup or sts:AssumeRole (4s)
//	-change-delay D      how long a Route 53 change stays PENDING (2s)
//	-table-delete-delay D how long a deleted DynamoDB table stays DELETING (2s)
//	-rate SERVICE=N      requests per second per account for a service, by its SigV4
//	                     name (repeatable; route53=5 unless set; N<=0 lifts the limit)
//	-fault-rate R        share of calls that get a fault, 0..1 (0.05)
//	-faults LIST         fault kinds to pick from: 5xx, reset, slow (all)
//	-slow D              how late a slow answer comes (2s)
//	-seed N              repeatable faults
//	-latency MIN,MAX     a uniform delay on every call, as a real endpoint has (none)
//	-moto URL            use this moto instead of starting one
//	-endpoint-file PATH  also write the endpoint URL to PATH
//	-quiet               do not log (to stderr) each answer a behaviour changed
//
// Clients must address S3 path-style; accounts are told apart by moto's
// x-moto-account-id header.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/testbed"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed/strict"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "strict:", err)
		os.Exit(1)
	}
}

func run() error {
	var opts strict.Options
	off := flag.String("off", "", "comma-separated behaviours to switch off")
	flag.DurationVar(&opts.BucketDelay, "bucket-delay", strict.DefaultBucketDelay, "how long a new bucket answers NoSuchBucket")
	flag.DurationVar(&opts.RoleDelay, "role-delay", strict.DefaultRoleDelay, "how long a new role cannot be assumed")
	flag.DurationVar(&opts.ChangeDelay, "change-delay", strict.DefaultChangeDelay, "how long a Route 53 change stays PENDING")
	flag.DurationVar(&opts.TableDeleteDelay, "table-delete-delay", strict.DefaultTableDeleteDelay, "how long a deleted table stays DELETING")
	opts.Rates = map[string]float64{}
	flag.Func("rate", "SERVICE=N requests per second per account (repeatable)", func(v string) error {
		service, n, ok := strings.Cut(v, "=")
		rate, err := strconv.ParseFloat(n, 64)
		if !ok || service == "" || err != nil {
			return fmt.Errorf("want SERVICE=N, got %q", v)
		}
		opts.Rates[service] = rate
		return nil
	})
	flag.Float64Var(&opts.FaultRate, "fault-rate", strict.DefaultFaultRate, "share of calls that get a fault (0..1)")
	faults := flag.String("faults", "", "fault kinds: 5xx, reset, slow (default all)")
	flag.DurationVar(&opts.SlowDelay, "slow", strict.DefaultSlowDelay, "how late a slow answer comes")
	flag.Int64Var(&opts.Seed, "seed", 0, "seed for repeatable faults (0: from the clock)")
	latency := flag.String("latency", "", "MIN,MAX uniform delay on every call")
	motoURL := flag.String("moto", "", "use this moto instead of starting one")
	endpointFile := flag.String("endpoint-file", "", "also write the endpoint URL to this file")
	quiet := flag.Bool("quiet", false, "do not log each answer a behaviour changed")
	flag.Parse()

	if !*quiet {
		opts.Log = os.Stderr
	}
	var err error
	if opts.Off, err = strict.ParseBehaviours(*off); err != nil {
		return err
	}
	for _, k := range strings.Split(*faults, ",") {
		if k = strings.TrimSpace(k); k != "" {
			opts.FaultKinds = append(opts.FaultKinds, strict.Fault(k))
		}
	}
	if *latency != "" {
		lo, hi, _ := strings.Cut(*latency, ",")
		if opts.LatencyMin, err = time.ParseDuration(lo); err != nil {
			return fmt.Errorf("-latency: %w", err)
		}
		opts.LatencyMax = opts.LatencyMin
		if hi != "" {
			if opts.LatencyMax, err = time.ParseDuration(hi); err != nil {
				return fmt.Errorf("-latency: %w", err)
			}
		}
	}

	upstream := *motoURL
	if upstream == "" {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		m, err := testbed.StartMoto(ctx)
		if err != nil {
			return err
		}
		defer m.Stop()
		upstream = m.Endpoint()
	}
	srv, err := strict.Start(upstream, opts)
	if err != nil {
		return err
	}
	defer srv.Close()
	if *endpointFile != "" {
		if err := os.WriteFile(*endpointFile, []byte(srv.Endpoint()+"\n"), 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("%s\nmoto:     %s\nendpoint: %s\n", srv, upstream, srv.Endpoint())

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
	counts := srv.Counts()
	names := make([]string, 0, len(counts))
	for b := range counts {
		names = append(names, string(b))
	}
	sort.Strings(names)
	for _, b := range names {
		fmt.Printf("%-20s %d\n", b, counts[strict.Behaviour(b)])
	}
	return nil
}
