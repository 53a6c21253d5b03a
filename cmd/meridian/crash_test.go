package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	awscloud "github.com/meridianhq/terraform-provider-meridian/internal/cloud/aws"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// TestCrashRecovery kills `meridian up` and `meridian destroy` with SIGKILL
// at random points while they deploy ~200 primitives to moto, and checks
// that the runs that follow finish the job: afterwards every object in moto
// is recorded in the state exactly once, and every record has its object.
// It runs with the state in a local directory and in an S3 bucket (moto),
// whose journals work differently.
//
// Each round kills a destroy and then an up at random delays, then runs up
// to completion and takes the inventory, until 2 x rounds kills have landed
// (20 on the local state, 10 on S3). The seed is printed;
// MERIDIAN_CRASH_SEED replays a run.
func TestCrashRecovery(t *testing.T) {
	if os.Getenv("TF_ACC") == "" && os.Getenv("MERIDIAN_CRASH_TEST") == "" {
		t.Skip("set TF_ACC=1 (make test does) or MERIDIAN_CRASH_TEST=1: the crash test deploys ~200 primitives to moto many times")
	}
	t.Run("local state", func(t *testing.T) {
		crashRecovery(t, 10, "", func(t *testing.T, _ *awscloud.Cloud, dir string) stateFile {
			return readState(t, filepath.Join(dir, ".meridian/stacks/crash.json"))
		})
	})
	t.Run("s3 state", func(t *testing.T) {
		crashRecovery(t, 5, "s3://"+crashStateBucket+"/stacks", func(t *testing.T, cloud *awscloud.Cloud, _ string) stateFile {
			out, err := cloud.S3("us-east-1").GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(crashStateBucket), Key: aws.String("stacks/crash.json")},
				func(o *s3.Options) { o.DisableLogOutputChecksumValidationSkipped = true })
			if err != nil {
				t.Fatal(err)
			}
			defer out.Body.Close()
			var s stateFile
			if err := json.NewDecoder(out.Body).Decode(&s); err != nil {
				t.Fatal(err)
			}
			return s
		})
	})
}

// crashStateBucket holds the S3 state; the inventory leaves it out.
const crashStateBucket = "meridian-crash-state"

// crashRecovery is TestCrashRecovery with the state at stateURL ("" for the
// stack directory), read back after each complete run by load.
func crashRecovery(t *testing.T, rounds int, stateURL string, load func(*testing.T, *awscloud.Cloud, string) stateFile) {
	pairs := 17
	if v := os.Getenv("MERIDIAN_CRASH_ROUNDS"); v != "" {
		rounds, _ = strconv.Atoi(v)
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("MERIDIAN_CRASH_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	t.Logf("crash test seed %d (replay with MERIDIAN_CRASH_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	m := startMoto(t)
	dir := t.TempDir()
	writeStack(t, dir, "crash", pairs, 10)
	c := newCLI(t, dir, "MERIDIAN_STATE="+stateURL)
	endpoint := "--var=aws_endpoint=" + m.Endpoint()

	cloud, err := awscloud.New(context.Background(), awscloud.Config{
		Endpoint: m.Moto.Endpoint(), AccessKey: "test", SecretKey: "test", S3UsePathStyle: true, SkipCredentialsValidation: true, Emulator: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if stateURL != "" {
		if _, err := cloud.S3("us-east-1").CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(crashStateBucket)}); err != nil {
			t.Fatal(err)
		}
	}
	c.must("stack", "init", "crash", endpoint)
	check := func() int { return checkInventory(t, cloud, load(t, cloud, dir)) }

	// A full up and a full destroy, timed, set the scale of the random delays.
	took := map[string]time.Duration{}
	for _, op := range []string{"up", "destroy", "up"} {
		start := time.Now()
		c.must(op, "--yes", endpoint)
		took[op] = time.Since(start)
	}
	n := check()
	t.Logf("full up %s, full destroy %s, for %d primitives", took["up"].Round(time.Millisecond), took["destroy"].Round(time.Millisecond), n)

	kills, upKills := 0, 0
	// A destroy that ends before its kill is a fair outcome, so rounds go
	// on until 2 x rounds kills have landed.
	round := 0
	for ; kills < 2*rounds; round++ {
		if round == 2*rounds {
			t.Fatalf("only %d kills in %d rounds", kills, round)
		}
		// Kill a destroy somewhere in its run, then an up while it still
		// has creates to make. An up that finishes first leaves nothing to
		// interrupt, so the round starts over with another destroy.
		for attempt := 0; ; attempt++ {
			if attempt == 20 {
				t.Fatalf("round %d: no up could be killed while it had work", round+1)
			}
			delay := time.Duration(rng.Int64N(int64(took["destroy"])))
			pid, killed := killAfter(t, c, delay, "destroy", "--yes", endpoint)
			t.Logf("round %d: destroy (pid %d) after %s: %s", round+1, pid, delay.Round(time.Millisecond), outcome(killed))
			if killed {
				kills++
				recoverLock(t, c, pid, endpoint)
			}
			left := creates(t, c, endpoint)
			if left == 0 {
				// The destroy died before it deleted anything: there is no
				// up with work to interrupt, so destroy again.
				continue
			}
			// An up takes about its share of a full up's time.
			limit := max(time.Duration(float64(took["up"])*float64(left)/float64(n)), 50*time.Millisecond)
			delay = time.Duration(rng.Int64N(int64(limit)))
			pid, killed = killAfter(t, c, delay, "up", "--yes", endpoint)
			t.Logf("round %d: up with %d to create (pid %d) after %s: %s", round+1, left, pid, delay.Round(time.Millisecond), outcome(killed))
			if killed {
				kills++
				upKills++
				recoverLock(t, c, pid, endpoint)
				break
			}
		}
		c.must("up", "--yes", endpoint)
		n = check()
	}
	records := len(load(t, cloud, dir).Records)
	t.Logf("crash test: %d SIGKILLs in %d rounds (%d of them of an up with work left); then the state holds %d records, and %d objects in moto match them one to one (no duplicates, no orphans; the %d DynamoDB replicas are not counted: moto ignores replicas)",
		kills, round, upKills, records, n, records-n)
	// Leave moto empty, as a last check that destroy finds everything.
	c.must("destroy", "--yes", endpoint)
	if left := inventory(t, cloud); total(left) != 0 {
		t.Fatalf("after destroy, moto still holds %v", left)
	}
}

// killAfter starts meridian and SIGKILLs it after delay, unless it ended first.
func killAfter(t *testing.T, c *cli, delay time.Duration, args ...string) (int, bool) {
	t.Helper()
	cmd, stdout, stderr := c.command(args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("meridian %v ended with %v before it was killed:\n%s\n%s", args, err, tail(stdout.String(), 20), stderr.String())
		}
		return cmd.Process.Pid, false
	case <-time.After(delay):
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-done
	return cmd.Process.Pid, true
}

// recoverLock checks that a lock left by a killed run is reported as stale
// with the dead pid and not broken by the next run, then unlocks explicitly.
func recoverLock(t *testing.T, c *cli, pid int, endpoint string) {
	t.Helper()
	r := c.run("preview", endpoint)
	if r.code != 0 {
		t.Fatalf("preview after a kill: %d %s", r.code, r.stderr)
	}
	// A target that matches nothing fails after the lock is taken: exit 3
	// if the lock is still held, the no-match error if it is not.
	r = c.run("up", "--yes", "--target", "none-such", endpoint)
	if r.code != 3 && strings.Contains(r.stderr, `target "none-such" matches no resource`) {
		return // the run was killed before it took the lock
	}
	want := fmt.Sprintf("process %d is not running", pid)
	if r.code != 3 || !strings.Contains(r.stderr, want) {
		t.Fatalf("after a kill, want exit 3 and %q, got %d: %s", want, r.code, r.stderr)
	}
	c.must("stack", "unlock", "--yes", endpoint)
}

// checkInventory compares moto with the state and returns how many objects
// matched.
func checkInventory(t *testing.T, cloud *awscloud.Cloud, st stateFile) int {
	t.Helper()
	recorded := map[string]map[string]int{}
	for _, r := range st.Records {
		if r.Pending != "" {
			t.Errorf("record %s is still pending after a complete up", r.Name)
		}
		if recorded[r.Type] == nil {
			recorded[r.Type] = map[string]int{}
		}
		recorded[r.Type][r.ID]++
	}
	inCloud := inventory(t, cloud)
	matched := 0
	types := map[string]bool{}
	for typ := range recorded {
		types[typ] = true
	}
	for typ := range inCloud {
		types[typ] = true
	}
	for typ := range types {
		if typ == primitive.DynamoDBReplica {
			// moto accepts replica updates and ignores them, so there is
			// nothing in moto to count them against.
			continue
		}
		for id, n := range inCloud[typ] {
			switch {
			case n > 1:
				t.Errorf("duplicate %s in moto: %s x%d", typ, id, n)
			case recorded[typ][id] == 0:
				t.Errorf("orphan %s in moto: %s is in no record", typ, id)
			}
		}
		for id, n := range recorded[typ] {
			switch {
			case n > 1:
				t.Errorf("%s %s is recorded %d times", typ, id, n)
			case inCloud[typ][id] == 0:
				t.Errorf("record of %s %s has no object in moto", typ, id)
			default:
				matched++
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return matched
}

func total(inv map[string]map[string]int) int {
	n := 0
	for _, ids := range inv {
		for _, c := range ids {
			n += c
		}
	}
	return n
}

// inventory lists what moto holds, by primitive type and the id the driver
// records, counting duplicates: zones and health checks by name, since
// Route 53 allows two with the same name and moto ignores caller references.
func inventory(t *testing.T, c *awscloud.Cloud) map[string]map[string]int {
	t.Helper()
	ctx := context.Background()
	out := map[string]map[string]int{}
	add := func(typ, id string) {
		if out[typ] == nil {
			out[typ] = map[string]int{}
		}
		out[typ][id]++
	}
	fail := func(what string, err error) {
		if err != nil {
			t.Fatalf("inventory %s: %v", what, err)
		}
	}
	buckets, err := c.S3("us-east-1").ListBuckets(ctx, &s3.ListBucketsInput{})
	fail("buckets", err)
	for _, b := range buckets.Buckets {
		name := aws.ToString(b.Name)
		if name == crashStateBucket {
			continue
		}
		add(primitive.S3Bucket, name)
		region := "us-east-1"
		if strings.HasSuffix(name, "us-west-2") {
			region = "us-west-2"
		}
		if _, err := c.S3(region).GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: aws.String(name)}); err == nil {
			add(primitive.S3BucketReplication, name)
		}
	}
	roles, err := c.IAM().ListRoles(ctx, &iam.ListRolesInput{PathPrefix: aws.String("/meridian/")})
	fail("roles", err)
	for _, r := range roles.Roles {
		add(primitive.IAMRole, aws.ToString(r.RoleName))
		pols, err := c.IAM().ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: r.RoleName})
		fail("role policies", err)
		for _, p := range pols.PolicyNames {
			add(primitive.IAMRolePolicy, aws.ToString(r.RoleName)+":"+p)
		}
	}
	for _, region := range []string{"us-east-1", "us-west-2"} {
		tables, err := c.DynamoDB(region).ListTables(ctx, &dynamodb.ListTablesInput{})
		fail("tables", err)
		for _, name := range tables.TableNames {
			add(primitive.DynamoDBTable, name)
		}
		params, err := c.SSM(region).DescribeParameters(ctx, &ssm.DescribeParametersInput{
			ParameterFilters: []ssmtypes.ParameterStringFilter{{Key: aws.String("Path"), Option: aws.String("Recursive"), Values: []string{"/meridian"}}},
			MaxResults:       aws.Int32(50),
		})
		fail("parameters", err)
		for len(params.Parameters) > 0 {
			for _, p := range params.Parameters {
				add(primitive.SSMParameter, aws.ToString(p.Name))
			}
			if params.NextToken == nil {
				break
			}
			params, err = c.SSM(region).DescribeParameters(ctx, &ssm.DescribeParametersInput{
				ParameterFilters: []ssmtypes.ParameterStringFilter{{Key: aws.String("Path"), Option: aws.String("Recursive"), Values: []string{"/meridian"}}},
				MaxResults:       aws.Int32(50), NextToken: params.NextToken,
			})
			fail("parameters", err)
		}
	}
	r53 := c.Route53()
	zoneNames := map[string]int{}
	zones := route53.NewListHostedZonesPaginator(r53, &route53.ListHostedZonesInput{})
	for zones.HasMorePages() {
		page, err := zones.NextPage(ctx)
		fail("zones", err)
		for _, z := range page.HostedZones {
			id := strings.TrimPrefix(aws.ToString(z.Id), "/hostedzone/")
			add(primitive.Route53Zone, id)
			zoneNames[aws.ToString(z.Name)]++
			sets := route53.NewListResourceRecordSetsPaginator(r53, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(id)})
			for sets.HasMorePages() {
				rs, err := sets.NextPage(ctx)
				fail("records", err)
				for _, r := range rs.ResourceRecordSets {
					if r.Type == r53types.RRTypeSoa || r.Type == r53types.RRTypeNs {
						continue
					}
					add(primitive.Route53Record, strings.Join([]string{id, strings.TrimSuffix(aws.ToString(r.Name), "."), string(r.Type), aws.ToString(r.SetIdentifier)}, "_"))
				}
			}
		}
	}
	for name, n := range zoneNames {
		if n > 1 {
			add(primitive.Route53Zone, "duplicate name "+name)
			out[primitive.Route53Zone]["duplicate name "+name] = n
		}
	}
	checkFQDNs := map[string]int{}
	checks := route53.NewListHealthChecksPaginator(r53, &route53.ListHealthChecksInput{})
	for checks.HasMorePages() {
		page, err := checks.NextPage(ctx)
		fail("health checks", err)
		for _, hc := range page.HealthChecks {
			add(primitive.Route53HealthCheck, aws.ToString(hc.Id))
			checkFQDNs[aws.ToString(hc.HealthCheckConfig.FullyQualifiedDomainName)]++
		}
	}
	for fqdn, n := range checkFQDNs {
		if n > 1 {
			add(primitive.Route53HealthCheck, "duplicate fqdn "+fqdn)
			out[primitive.Route53HealthCheck]["duplicate fqdn "+fqdn] = n
		}
	}
	var summary []string
	for typ, ids := range out {
		summary = append(summary, fmt.Sprintf("%s=%d", typ, len(ids)))
	}
	sort.Strings(summary)
	t.Logf("moto holds %s", strings.Join(summary, " "))
	return out
}

func outcome(killed bool) string {
	if killed {
		return "SIGKILLed"
	}
	return "ended first"
}

// creates is how many creates and replaces an up would make now.
func creates(t *testing.T, c *cli, endpoint string) int {
	t.Helper()
	r := c.must("preview", "--json", endpoint)
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var ev struct {
			Event  string         `json:"event"`
			Counts map[string]int `json:"counts"`
		}
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Event == "plan" {
			return ev.Counts["create"] + ev.Counts["replace"]
		}
	}
	t.Fatalf("preview --json gave no plan event:\n%s", r.stdout)
	return 0
}
