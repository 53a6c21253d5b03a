package provider

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// inventoryRegions are the regions the inventory looks in.
var inventoryRegions = []string{"us-east-1", "us-west-2"}

// inventory counts, with the AWS SDK alone (not meridian's drivers), the
// objects in moto that belong to the region pairs named names, as
// pair.config declares them (bucket prefix "acc-<name>", table "<name>",
// zone "<name>.example.com"). Each key names one object; a count above 1
// is a duplicate. Other tests' objects in the shared moto are left out.
func (c cloud) inventory(t *testing.T, names ...string) map[string]int {
	t.Helper()
	ctx := context.Background()
	out := map[string]int{}
	mine := func(s string, format string) bool {
		for _, n := range names {
			if s == fmt.Sprintf(format, n) {
				return true
			}
		}
		return false
	}
	fail := func(what string, err error) {
		if err != nil {
			t.Fatalf("inventory of %s: %v", what, err)
		}
	}
	buckets, err := c.s3("us-east-1").ListBuckets(ctx, &s3.ListBucketsInput{})
	fail("buckets", err)
	for _, b := range buckets.Buckets {
		name := aws.ToString(b.Name)
		for _, region := range inventoryRegions {
			for _, n := range names {
				if name != "acc-"+n+"-"+region {
					continue
				}
				out["bucket "+name]++
				if _, err := c.s3(region).GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: b.Name}); err == nil {
					out["replication of "+name]++
				}
			}
		}
	}
	iamc := iam.NewFromConfig(c.cfg("us-east-1"))
	roles, err := iamc.ListRoles(ctx, &iam.ListRolesInput{PathPrefix: aws.String("/meridian/")})
	fail("roles", err)
	for _, r := range roles.Roles {
		name := aws.ToString(r.RoleName)
		if !mine(name, "meridian-%s-replication") {
			continue
		}
		out["role "+name]++
		pols, err := iamc.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: r.RoleName})
		fail("role policies", err)
		for _, p := range pols.PolicyNames {
			out["role policy "+name+":"+p]++
		}
	}
	for _, region := range inventoryRegions {
		tables, err := dynamodb.NewFromConfig(c.cfg(region)).ListTables(ctx, &dynamodb.ListTablesInput{})
		fail("tables", err)
		for _, name := range tables.TableNames {
			if mine(name, "%s") {
				out["table "+name+" in "+region]++
			}
		}
		for _, n := range names {
			if _, err := ssm.NewFromConfig(c.cfg(region)).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/meridian/region_pair/" + n)}); err == nil {
				out["manifest of "+n+" in "+region]++
			}
		}
	}
	r53 := route53.NewFromConfig(c.cfg("us-east-1"))
	zones := route53.NewListHostedZonesPaginator(r53, &route53.ListHostedZonesInput{})
	for zones.HasMorePages() {
		page, err := zones.NextPage(ctx)
		fail("zones", err)
		for _, z := range page.HostedZones {
			name := strings.TrimSuffix(aws.ToString(z.Name), ".")
			if !mine(name, "%s.example.com") {
				continue
			}
			out["zone "+name]++
			sets, err := r53.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: z.Id})
			fail("records", err)
			for _, rs := range sets.ResourceRecordSets {
				if rs.Type == "CNAME" {
					out["record "+strings.TrimSuffix(aws.ToString(rs.Name), ".")+" "+string(rs.Failover)]++
				}
			}
		}
	}
	checks := route53.NewListHealthChecksPaginator(r53, &route53.ListHealthChecksInput{})
	for checks.HasMorePages() {
		page, err := checks.NextPage(ctx)
		fail("health checks", err)
		for _, hc := range page.HealthChecks {
			fqdn := aws.ToString(hc.HealthCheckConfig.FullyQualifiedDomainName)
			if mine(fqdn, "primary.%s.example.com") {
				out["health check of "+fqdn]++
			}
		}
	}
	return out
}

// pairObjects is what inventory finds of one whole region pair as
// pair.config declares it, with us-west-2 as its secondary region.
func pairObjects(name string) map[string]int {
	return map[string]int{
		"bucket acc-" + name + "-us-east-1":                         1,
		"bucket acc-" + name + "-us-west-2":                         1,
		"replication of acc-" + name + "-us-east-1":                 1,
		"role meridian-" + name + "-replication":                    1,
		"role policy meridian-" + name + "-replication:replication": 1,
		"table " + name + " in us-east-1":                           1,
		"manifest of " + name + " in us-east-1":                     1,
		"zone " + name + ".example.com":                             1,
		"record api." + name + ".example.com PRIMARY":               1,
		"record api." + name + ".example.com SECONDARY":             1,
		"health check of primary." + name + ".example.com":          1,
	}
}

// sameObjects reports how got differs from want: what is missing,
// duplicated or there without being wanted (an orphan).
func sameObjects(got, want map[string]int) error {
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if got[k] != want[k] {
			diffs = append(diffs, fmt.Sprintf("%s: %d in moto, want %d", k, got[k], want[k]))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: %d in moto, want none (orphan)", k, got[k]))
		}
	}
	if len(diffs) > 0 {
		return fmt.Errorf("moto does not hold the expected objects:\n  %s", strings.Join(diffs, "\n  "))
	}
	return nil
}
