package aws_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/route53"

	awscloud "github.com/meridianhq/terraform-provider-meridian/internal/cloud/aws"
	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed"
)

// TestResumedCreatesFindTheirObject checks the path a crashed run's
// successor takes: Create with Resume and the same token must return the
// object the first Create made, not make a second. moto ignores Route 53
// caller references (a second CreateHealthCheck with the same one makes a
// second check), so the drivers must look the token up themselves.
func TestResumedCreatesFindTheirObject(t *testing.T) {
	testbed.RequireTool(t, "moto_server")
	ctx := context.Background()
	m, err := testbed.StartMoto(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Stop() })
	c, err := awscloud.New(ctx, awscloud.Config{Endpoint: m.Endpoint(), AccessKey: "test", SecretKey: "test", S3UsePathStyle: true, SkipCredentialsValidation: true, Emulator: true})
	if err != nil {
		t.Fatal(err)
	}
	drivers := c.Drivers()
	cases := []struct {
		typ   string
		props map[string]any
		count func() int
	}{
		{compile.Route53HealthCheck, map[string]any{"type": "HTTPS", "fqdn": "a.example.com", "port": 443, "resource_path": "/health", "request_interval": 30, "failure_threshold": 3},
			func() int {
				out, err := c.Route53().ListHealthChecks(ctx, &route53.ListHealthChecksInput{})
				if err != nil {
					t.Fatal(err)
				}
				return len(out.HealthChecks)
			}},
		{compile.Route53Zone, map[string]any{"name": "resume.example.com"},
			func() int {
				out, err := c.Route53().ListHostedZones(ctx, &route53.ListHostedZonesInput{})
				if err != nil {
					t.Fatal(err)
				}
				return len(out.HostedZones)
			}},
	}
	for _, tc := range cases {
		t.Run(tc.typ, func(t *testing.T) {
			req := engine.Request{Name: tc.typ + ".x", Type: tc.typ, Region: compile.Global, Properties: primitive.Normalize(tc.props),
				Tags: map[string]string{"k": "v"}, Token: "token-" + tc.typ}
			first, err := drivers[tc.typ].Create(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			req.Resume = true
			again, err := drivers[tc.typ].Create(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if again.ID != first.ID {
				t.Errorf("resumed create made %s, want the first create's %s", again.ID, first.ID)
			}
			if n := tc.count(); n != 1 {
				t.Errorf("%d objects after a create and its resume, want 1", n)
			}
			// A fresh create with another token is a new object: the lookup
			// is by token, not by name.
			req.Token, req.Resume = "other-"+tc.typ, true
			other, err := drivers[tc.typ].Create(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if other.ID == first.ID {
				t.Errorf("a resume with another token adopted %s", first.ID)
			}
		})
	}
}
