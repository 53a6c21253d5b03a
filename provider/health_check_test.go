package provider

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

func healthCheckConfig(endpoint, protocol, extra string) string {
	return providerConfig(endpoint, "{}") + `
resource "terraform_data" "protocol" {
  input = "HTTPS"
}

resource "meridian_region_pair" "hc" {
  name             = "tcpcheck"
  primary_region   = "us-east-1"
  secondary_region = "us-west-2"

  dns {
    zone_name          = "tcpcheck.example.com"
    record_name        = "db"
    primary_endpoint   = "primary.tcpcheck.example.com"
    secondary_endpoint = "secondary.tcpcheck.example.com"
    health_check {
      protocol = ` + protocol + `
      ` + extra + `
    }
  }
}
`
}

// checkHealthCheck reads the pair's Route 53 health check with the SDK.
func (c cloud) checkHealthCheck(fqdn, typ string, port int32, resourcePath string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		checks, err := route53.NewFromConfig(c.cfg("us-east-1")).ListHealthChecks(context.Background(), &route53.ListHealthChecksInput{})
		if err != nil {
			return err
		}
		for _, hc := range checks.HealthChecks {
			cfg := hc.HealthCheckConfig
			if aws.ToString(cfg.FullyQualifiedDomainName) != fqdn {
				continue
			}
			if string(cfg.Type) != typ || aws.ToInt32(cfg.Port) != port || aws.ToString(cfg.ResourcePath) != resourcePath {
				return fmt.Errorf("health check of %s: %s port %d path %q, want %s port %d path %q", fqdn, cfg.Type, aws.ToInt32(cfg.Port), aws.ToString(cfg.ResourcePath), typ, port, resourcePath)
			}
			return nil
		}
		return fmt.Errorf("no health check of %s", fqdn)
	}
}

// A TCP health check without a path is valid: the default path belongs to
// HTTP and HTTPS checks only, also when the protocol is known only at apply.
func TestAccRegionPair_tcpHealthCheck(t *testing.T) {
	endpoint := acceptance(t)
	c := cloud{endpoint}
	const at = "meridian_region_pair.hc"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		CheckDestroy:             c.checkGone("tcpcheck", "us-east-1", "us-west-2"),
		Steps: []resource.TestStep{
			{
				Config: healthCheckConfig(endpoint, `"TCP"`, "port = 5432"),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckNoResourceAttr(at, "dns.health_check.path"),
					resource.TestCheckResourceAttr(at, "dns.health_check.port", "5432"),
					c.checkHealthCheck("primary.tcpcheck.example.com", "TCP", 5432, ""),
				),
			},
			{
				// The protocol is unknown at plan time: the path follows it at apply.
				Config: healthCheckConfig(endpoint, "terraform_data.protocol.output", ""),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(at, "dns.health_check.path", "/health"),
					c.checkHealthCheck("primary.tcpcheck.example.com", "HTTPS", 443, "/health"),
				),
			},
		},
	})
}
