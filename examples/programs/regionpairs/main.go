// A meridian program: region pairs and their DR policies declared in Go and
// deployed with the SDK, the way a Pulumi program uses the Automation API.
//
//	go run ./examples/programs/regionpairs -endpoint http://127.0.0.1:5000 preview
//	go run ./examples/programs/regionpairs -endpoint http://127.0.0.1:5000 up
//	go run ./examples/programs/regionpairs -endpoint http://127.0.0.1:5000 destroy
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/meridianhq/terraform-provider-meridian/sdk"
)

// services each get a region pair and a DR policy: the same shape,
// declared in a loop.
var services = []string{"checkout", "search", "ledger"}

func program(c *sdk.Context) error {
	for _, svc := range services {
		pair := sdk.RegionPair{
			Name:            svc,
			PrimaryRegion:   "us-east-1",
			SecondaryRegion: "us-west-2",
			ObjectStore:     &sdk.ObjectStore{BucketPrefix: "example-" + svc, ForceDestroy: true},
			KVTable:         &sdk.KVTable{HashKey: "id"},
			DNS: &sdk.DNS{
				ZoneName: svc + ".example.com", RecordName: "api",
				PrimaryEndpoint: "api-use1." + svc + ".example.com", SecondaryEndpoint: "api-usw2." + svc + ".example.com",
			},
			Tags: map[string]string{"service": svc},
		}
		c.RegionPair(pair)
		c.DRPolicy(sdk.DRPolicy{Name: svc, RegionPair: pair, RPO: "15m", RTO: "4h"})
	}
	return nil
}

func main() {
	endpoint := flag.String("endpoint", "", "one AWS endpoint for every service (moto, LocalStack); empty for AWS")
	stackName := flag.String("stack", "example", "stack name")
	stateDir := flag.String("state", sdk.DefaultState, "state directory or s3://bucket/prefix")
	flag.Parse()
	ctx := context.Background()
	opts := sdk.Options{
		Stack: *stackName, State: *stateDir,
		DefaultTags: map[string]string{"cost-centre": "cc-1234"},
		OnEvent: func(ev sdk.Event) {
			if ev.Status != "start" {
				fmt.Printf("%-8s %-7s %s (%s)\n", ev.Step.Op, ev.Status, ev.Step.Name, ev.Elapsed.Round(1e6))
			}
		},
	}
	if *endpoint != "" {
		opts.AWS = sdk.AWS{Endpoint: *endpoint, AccessKey: "test", SecretKey: "test", S3UsePathStyle: true, SkipCredentialsValidation: true, Emulator: true}
	}
	ws, err := sdk.Open(ctx, opts)
	if err != nil {
		fail(err)
	}
	switch flag.Arg(0) {
	case "preview":
		pv, err := ws.Preview(ctx, program)
		if err != nil {
			fail(err)
		}
		for _, s := range pv.Steps {
			fmt.Println(s.Step)
		}
		fmt.Printf("%d to create, %d to update, %d to replace, %d to delete\n", pv.Counts["create"], pv.Counts["update"], pv.Counts["replace"], pv.Counts["delete"])
	case "up":
		res, err := ws.Up(ctx, program, nil)
		if err != nil {
			fail(err)
		}
		fmt.Printf("up: %d primitives in the stack\n", res.Records)
	case "destroy":
		if _, err := ws.Destroy(ctx); err != nil {
			fail(err)
		}
		fmt.Println("destroyed")
	default:
		fail(fmt.Errorf("usage: regionpairs [flags] preview|up|destroy"))
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "error:", err)
	os.Exit(1)
}
