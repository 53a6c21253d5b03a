package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

// pair is the variable part of a region pair's configuration.
type pair struct {
	name, secondary, hashKey, path string
	threshold                      int
	tags, defaultTags              string
}

func (p pair) config(endpoint string) string {
	return providerConfig(endpoint, p.defaultTags) + fmt.Sprintf(`
resource "meridian_region_pair" "test" {
  name             = %[1]q
  primary_region   = "us-east-1"
  secondary_region = %[2]q

  object_store {
    bucket_prefix = "acc-%[1]s"
    force_destroy = true
  }

  kv_table {
    hash_key = %[3]q
  }

  dns {
    zone_name          = "%[1]s.example.com"
    record_name        = "api"
    primary_endpoint   = "primary.%[1]s.example.com"
    secondary_endpoint = "secondary.%[1]s.example.com"

    health_check {
      path              = %[4]q
      interval          = 10
      failure_threshold = %[5]d
    }
  }

  tags = %[6]s
}
`, p.name, p.secondary, p.hashKey, p.path, p.threshold, p.tags)
}

const addr = "meridian_region_pair.test"

// cloud reads moto through the AWS SDK directly, independently of the
// provider's drivers, so that the tests check what the cloud holds.
type cloud struct{ endpoint string }

func (c cloud) cfg(region string) aws.Config {
	return aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(direct(c.endpoint)),
	}
}

func (c cloud) s3(region string) *s3.Client {
	return s3.NewFromConfig(c.cfg(region), func(o *s3.Options) { o.UsePathStyle = true })
}

func (c cloud) bucketTags(bucket, region string) (map[string]string, error) {
	out, err := c.s3(region).GetBucketTagging(context.Background(), &s3.GetBucketTaggingInput{Bucket: aws.String(bucket)})
	if err != nil {
		return nil, err
	}
	tags := map[string]string{}
	for _, t := range out.TagSet {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return tags, nil
}

// checkBuckets checks versioning on both buckets, replication on the primary, and tags.
func (c cloud) checkBuckets(name, secondary string, wantTags map[string]string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		for _, region := range []string{"us-east-1", secondary} {
			bucket := "acc-" + name + "-" + region
			v, err := c.s3(region).GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(bucket)})
			if err != nil {
				return fmt.Errorf("bucket %s: %w", bucket, err)
			}
			if v.Status != "Enabled" {
				return fmt.Errorf("bucket %s: versioning is %q, want Enabled", bucket, v.Status)
			}
			tags, err := c.bucketTags(bucket, region)
			if err != nil {
				return fmt.Errorf("bucket %s tags: %w", bucket, err)
			}
			for k, want := range wantTags {
				if tags[k] != want {
					return fmt.Errorf("bucket %s: tag %s = %q, want %q (tags %v)", bucket, k, tags[k], want, tags)
				}
			}
		}
		primary := "acc-" + name + "-us-east-1"
		r, err := c.s3("us-east-1").GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: aws.String(primary)})
		if err != nil {
			return fmt.Errorf("replication of %s: %w", primary, err)
		}
		rules := r.ReplicationConfiguration.Rules
		wantDest := "arn:aws:s3:::acc-" + name + "-" + secondary
		if len(rules) != 1 || aws.ToString(rules[0].Destination.Bucket) != wantDest {
			return fmt.Errorf("replication of %s: rules %+v, want one rule to %s", primary, rules, wantDest)
		}
		if role := aws.ToString(r.ReplicationConfiguration.Role); !regexp.MustCompile(`:role/meridian/meridian-` + name + `-replication$`).MatchString(role) {
			return fmt.Errorf("replication of %s: role %q is not meridian's", primary, role)
		}
		return nil
	}
}

func (c cloud) checkTable(name, hashKey string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		out, err := dynamodb.NewFromConfig(c.cfg("us-east-1")).DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			return fmt.Errorf("table %s: %w", name, err)
		}
		if got := aws.ToString(out.Table.KeySchema[0].AttributeName); got != hashKey {
			return fmt.Errorf("table %s: hash key %q, want %q", name, got, hashKey)
		}
		if s := out.Table.StreamSpecification; s == nil || !aws.ToBool(s.StreamEnabled) {
			return fmt.Errorf("table %s: streams are off", name)
		}
		return nil
	}
}

// checkDNS checks the health check's path and threshold and both failover
// records; it stores the health check id in *id.
func (c cloud) checkDNS(name, path string, threshold int32, id *string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		r53 := route53.NewFromConfig(c.cfg("us-east-1"))
		zones, err := r53.ListHostedZonesByName(ctx, &route53.ListHostedZonesByNameInput{DNSName: aws.String(name + ".example.com")})
		if err != nil || len(zones.HostedZones) == 0 || aws.ToString(zones.HostedZones[0].Name) != name+".example.com." {
			return fmt.Errorf("zone %s.example.com not found: %v", name, err)
		}
		sets, err := r53.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: zones.HostedZones[0].Id})
		if err != nil {
			return err
		}
		failover := map[string]string{}
		check := ""
		for _, rs := range sets.ResourceRecordSets {
			if rs.Type == "CNAME" {
				failover[string(rs.Failover)] = aws.ToString(rs.ResourceRecords[0].Value)
				if rs.Failover == "PRIMARY" {
					check = aws.ToString(rs.HealthCheckId)
				}
			}
		}
		if failover["PRIMARY"] != "primary."+name+".example.com" || failover["SECONDARY"] != "secondary."+name+".example.com" {
			return fmt.Errorf("failover records: %v", failover)
		}
		hc, err := r53.GetHealthCheck(ctx, &route53.GetHealthCheckInput{HealthCheckId: aws.String(check)})
		if err != nil {
			return fmt.Errorf("health check %q of the PRIMARY record: %w", check, err)
		}
		cfg := hc.HealthCheck.HealthCheckConfig
		if aws.ToString(cfg.ResourcePath) != path || aws.ToInt32(cfg.FailureThreshold) != threshold || aws.ToInt32(cfg.RequestInterval) != 10 {
			return fmt.Errorf("health check: path %q threshold %d interval %d, want %q %d 10", aws.ToString(cfg.ResourcePath), aws.ToInt32(cfg.FailureThreshold), aws.ToInt32(cfg.RequestInterval), path, threshold)
		}
		*id = check
		return nil
	}
}

// checkGone checks that nothing of the pair is left.
func (c cloud) checkGone(name string, regions ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		for _, region := range regions {
			bucket := "acc-" + name + "-" + region
			if _, err := c.s3(region).HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err == nil {
				return fmt.Errorf("bucket %s still exists", bucket)
			}
		}
		if _, err := dynamodb.NewFromConfig(c.cfg("us-east-1")).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}); err == nil {
			return fmt.Errorf("table %s still exists", name)
		}
		zones, err := route53.NewFromConfig(c.cfg("us-east-1")).ListHostedZonesByName(ctx, &route53.ListHostedZonesByNameInput{DNSName: aws.String(name + ".example.com")})
		if err != nil {
			return err
		}
		for _, z := range zones.HostedZones {
			if aws.ToString(z.Name) == name+".example.com." {
				return fmt.Errorf("zone %s still exists", aws.ToString(z.Name))
			}
		}
		if _, err := ssm.NewFromConfig(c.cfg("us-east-1")).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/meridian/region_pair/" + name)}); err == nil {
			return fmt.Errorf("manifest of %s still exists", name)
		}
		return nil
	}
}

func TestAccRegionPair_lifecycle(t *testing.T) {
	endpoint := acceptance(t)
	c := cloud{endpoint}
	base := pair{
		name: "life", secondary: "us-west-2", hashKey: "order_id", path: "/healthz", threshold: 3,
		tags: `{ service = "checkout" }`, defaultTags: `{ cost-centre = "cc-1" }`,
	}
	inPlace := base
	inPlace.path, inPlace.threshold = "/ready", 5
	inPlace.tags, inPlace.defaultTags = `{ service = "checkout", tier = "gold" }`, `{ cost-centre = "cc-2" }`
	newKey := inPlace
	newKey.hashKey = "order_key"
	moved := newKey
	moved.secondary = "eu-west-1"

	var firstCheck, secondCheck string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		CheckDestroy:             c.checkGone("life", "us-east-1", "us-west-2", "eu-west-1"),
		Steps: []resource.TestStep{
			{
				Config: base.config(endpoint),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(addr, "id", "life"),
					resource.TestCheckResourceAttr(addr, "failover_fqdn", "api.life.example.com"),
					resource.TestCheckResourceAttr(addr, "primitives.#", "12"),
					resource.TestCheckTypeSetElemNestedAttrs(addr, "primitives.*", map[string]string{
						"name": "aws_dynamodb_table_replica.kv", "region": "us-west-2", "status": "unverified",
					}),
					c.checkBuckets("life", "us-west-2", map[string]string{
						"cost-centre": "cc-1", "service": "checkout",
						"meridian:resource": "meridian_region_pair.life",
					}),
					c.checkTable("life", "order_id"),
					c.checkDNS("life", "/healthz", 3, &firstCheck),
				),
			},
			{
				// Health check path and threshold, tags and default tags change in place.
				Config: inPlace.config(endpoint),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					c.checkBuckets("life", "us-west-2", map[string]string{"cost-centre": "cc-2", "tier": "gold"}),
					c.checkDNS("life", "/ready", 5, &secondCheck),
					func(*terraform.State) error {
						if firstCheck != secondCheck {
							return fmt.Errorf("health check was replaced (%s -> %s), want an update in place", firstCheck, secondCheck)
						}
						return nil
					},
				),
			},
			{
				// A new hash key needs a new table, which takes its data
				// with it: Terraform shows the pair replaced (so that
				// prevent_destroy would stop it), and the empty table and
				// buckets need no allow_data_loss.
				Config: newKey.config(endpoint),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					c.checkTable("life", "order_key"),
					c.checkBuckets("life", "us-west-2", map[string]string{"tier": "gold"}),
				),
			},
			{
				ResourceName:      addr,
				ImportState:       true,
				ImportStateId:     "us-east-1/life",
				ImportStateVerify: true,
			},
			{
				// Another secondary region is another pair: Terraform replaces it.
				Config: moved.config(endpoint),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					c.checkBuckets("life", "eu-west-1", map[string]string{"tier": "gold"}),
					c.checkGone("life-none", "us-west-2"),
					func(*terraform.State) error {
						_, err := c.s3("us-west-2").HeadBucket(context.Background(), &s3.HeadBucketInput{Bucket: aws.String("acc-life-us-west-2")})
						if err == nil {
							return fmt.Errorf("the old secondary bucket acc-life-us-west-2 still exists")
						}
						return nil
					},
				),
			},
		},
	})
}

// TestAccRegionPair_drift deletes a bucket and changes a record behind
// meridian's back: plan must show it, and apply must put both back.
func TestAccRegionPair_drift(t *testing.T) {
	endpoint := acceptance(t)
	c := cloud{endpoint}
	p := pair{name: "drift", secondary: "us-west-2", hashKey: "id", path: "/health", threshold: 3, tags: `{}`, defaultTags: `{}`}
	var check string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		CheckDestroy:             c.checkGone("drift", "us-east-1", "us-west-2"),
		Steps: []resource.TestStep{
			{
				Config: p.config(endpoint),
				Check: func(*terraform.State) error {
					ctx := context.Background()
					bucket := aws.String("acc-drift-us-west-2")
					if _, err := c.s3("us-west-2").DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: bucket}); err != nil {
						return fmt.Errorf("cannot delete the bucket by hand: %w", err)
					}
					return nil
				},
				ExpectNonEmptyPlan: true,
			},
			{
				Config: p.config(endpoint),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					c.checkBuckets("drift", "us-west-2", nil),
					c.checkDNS("drift", "/health", 3, &check),
				),
			},
		},
	})
}

// wrapped matches text that terraform may have wrapped at any space.
func wrapped(text string) *regexp.Regexp {
	return regexp.MustCompile(strings.ReplaceAll(text, " ", `\s+`))
}

// Each plan-time rule fails the plan with a diagnostic that names the
// resource, the attribute and the reason; nothing is created.
func TestAccRegionPair_rules(t *testing.T) {
	endpoint := acceptance(t)
	valid := `
  object_store { bucket_prefix = "acc-rules" }
`
	cases := []struct {
		name, body string
		want       string
	}{
		{"same region", `primary_region = "us-east-1"
  secondary_region = "us-east-1"` + valid, `(?s)Primary and secondary region are the same.*secondary_region = "us-east-1".*meridian_region_pair "rules": Both are "us-east-1"`},
		{"unknown region", `primary_region = "us-east-1"
  secondary_region = "us-middle-9"` + valid, `(?s)Unknown region.*secondary_region = "us-middle-9".*"us-middle-9" is not an AWS region`},
		{"split brain", `primary_region = "us-east-1"
  secondary_region = "us-west-2"
  mode = "active_active_sharded"
  write_profile = "write_heavy"` + valid, `(?s)Split brain: write-heavy active-active without a globally consistent store.*mode = "active_active_sharded".*globally_consistent_store = true`},
		{"health check interval", `primary_region = "us-east-1"
  secondary_region = "us-west-2"
  dns {
    zone_name = "rules.example.com"
    record_name = "api"
    primary_endpoint = "a.rules.example.com"
    secondary_endpoint = "b.rules.example.com"
    health_check { interval = 15 }
  }`, `(?s)Health check interval out of AWS limits.*health_check { interval = 15 }.*meridian_region_pair "rules": Route 53 checks every 10 or 30 seconds; 15 is neither`},
		{"health check threshold", `primary_region = "us-east-1"
  secondary_region = "us-west-2"
  dns {
    zone_name = "rules.example.com"
    record_name = "api"
    primary_endpoint = "a.rules.example.com"
    secondary_endpoint = "b.rules.example.com"
    health_check { failure_threshold = 11 }
  }`, `(?s)Health check failure threshold out of AWS limits.*allows 1 to 10 consecutive failures; got 11`},
		{"missing hash key", `primary_region = "us-east-1"
  secondary_region = "us-west-2"
  kv_table {}`, `(?s)Missing required argument.*kv_table.hash_key is required when its block is present`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: providerFactories,
				Steps: []resource.TestStep{{
					Config: providerConfig(endpoint, "{}") + `
resource "meridian_region_pair" "rules" {
  name = "rules"
  ` + tc.body + `
}`,
					PlanOnly:    true,
					ExpectError: wrapped(tc.want),
				}},
			})
		})
	}
}
