package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	awscloud "github.com/meridianhq/terraform-provider-meridian/internal/cloud/aws"
	"github.com/meridianhq/terraform-provider-meridian/internal/stack"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/NAME, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n%s", path, got)
	}
}

// platformStack copies examples/stacks/platform into a new directory.
func platformStack(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"main.tf", "demand.csv"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", "stacks", "platform", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func edit(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s has no %q", path, old)
	}
	if err := os.WriteFile(path, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var evs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		evs = append(evs, ev)
	}
	return evs
}

func TestCapacityCommand(t *testing.T) {
	dir := platformStack(t)
	c := newCLI(t, dir)

	r := c.must("capacity")
	golden(t, "capacity.txt", r.stdout)

	r = c.must("capacity", "--json")
	golden(t, "capacity.json", r.stdout)
	evs := jsonLines(t, r.stdout)
	if len(evs) != 2 || evs[0]["resource"] != "meridian_capacity_reservation.web" || evs[1]["event"] != "summary" {
		t.Fatalf("json: %s", r.stdout)
	}
	split := evs[0]["split"].([]any)
	primary, secondary := split[0].(map[string]any), split[1].(map[string]any)
	if primary["region"] != "us-east-1" || secondary["region"] != "us-west-2" || secondary["role"] != "secondary" ||
		primary["reserved"].(float64) < 1 || secondary["reserved"] != primary["reserved"] {
		t.Errorf("split: %v", split)
	}
	if evs[0]["estimated_monthly_cost"].(float64) >= evs[0]["all_on_demand_monthly_cost"].(float64) {
		t.Errorf("the split costs no less than all on-demand: %v", evs[0])
	}

	// The chart: history, forecast, interval and the reserved baseline.
	r = c.must("capacity", "web", "--chart", "plan.svg")
	if !strings.Contains(r.stdout, "chart: plan.svg") {
		t.Errorf("capacity --chart:\n%s", r.stdout)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "plan.svg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", `class="history"`, `class="forecast"`, `class="interval"`, `class="reserved"`, "reserved baseline 21"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("chart lacks %q", want)
		}
	}

	// Flags win over the block: no batch means no spot.
	r = c.must("capacity", "--batch", "0", "--json")
	for _, s := range jsonLines(t, r.stdout)[0]["split"].([]any) {
		if s.(map[string]any)["spot_peak"].(float64) != 0 {
			t.Errorf("--batch 0 still plans spot: %v", s)
		}
	}
	// A rule the flags break names the resource and the attribute.
	if r := c.run("capacity", "--failover-coverage", "0.2"); r.code != 1 || !strings.Contains(r.stderr, "main.tf:") ||
		!strings.Contains(r.stderr, "meridian_capacity_reservation.web: failover_coverage") || !strings.Contains(r.stderr, "Failover coverage below what the RTO needs") {
		t.Errorf("coverage below the RTO: exit %d\n%s", r.code, r.stderr)
	}
	if r := c.run("capacity", "nope"); r.code != 1 || !strings.Contains(r.stderr, "it has web") {
		t.Errorf("unknown label: exit %d\n%s", r.code, r.stderr)
	}

	// Without a stack, the flags are the whole reservation.
	empty := t.TempDir()
	c2 := newCLI(t, empty)
	if r := c2.run("capacity"); r.code != 1 || !strings.Contains(r.stderr, "--demand") {
		t.Errorf("capacity without stack or flags: exit %d\n%s", r.code, r.stderr)
	}
	r = c2.must("capacity", "--demand", filepath.Join(dir, "demand.csv"), "--primary-region", "us-east-1", "--secondary-region", "us-west-2",
		"--instance-types", "m5.large,m6i.large", "--horizon", "14d", "--batch", "0.2", "--rto", "1h")
	want := strings.Replace(golden0(t, "capacity.txt"), "meridian_capacity_reservation.web (checkout-web)", "meridian_capacity_reservation.plan (plan)", 1)
	if r.stdout != want {
		t.Errorf("the same knobs as flags give another plan:\n%s\nwant\n%s", r.stdout, want)
	}
}

func golden0(t *testing.T, name string) string {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRunbookCommand(t *testing.T) {
	dir := platformStack(t)
	c := newCLI(t, dir)
	r := c.must("runbook")
	golden(t, "runbook.md", r.stdout)

	// The runbook is the stack's DR policy compiled as the provider compiles it.
	st, diags := stack.LoadDir(dir, nil)
	if diags.HasErrors() {
		t.Fatal(stack.FormatDiagnostics(diags))
	}
	if want := st.DRPolicies[0].Runbook.Markdown("checkout"); r.stdout != want {
		t.Errorf("runbook:\n%s\nwant\n%s", r.stdout, want)
	}

	r = c.must("runbook", "checkout", "--json")
	evs := jsonLines(t, r.stdout)
	if len(evs) != 2 || evs[0]["estimated_rto"] != "41m10s" || evs[0]["rto"] != "1h" || evs[1]["event"] != "summary" {
		t.Fatalf("json: %s", r.stdout)
	}
	steps := evs[0]["steps"].([]any)
	if first := steps[0].(map[string]any); first["primitive"] != "aws_dynamodb_table.kv" || first["group"].(float64) != 1 {
		t.Errorf("restore_order puts the table first: %v", first)
	}
	if r := c.run("runbook", "nope"); r.code != 1 || !strings.Contains(r.stderr, "it has checkout") {
		t.Errorf("unknown label: exit %d\n%s", r.code, r.stderr)
	}
	// An RTO the restore cannot meet stops the runbook as it stops a plan.
	edit(t, filepath.Join(dir, "main.tf"), `rto           = "1h"`, `rto           = "10m"`)
	if r := c.run("runbook"); r.code != 1 || !strings.Contains(r.stderr, "main.tf:") || !strings.Contains(r.stderr, "RTO shorter than the estimated restore time") {
		t.Errorf("rto too short: exit %d\n%s", r.code, r.stderr)
	}
}

func TestCostCommand(t *testing.T) {
	dir := platformStack(t)
	c := newCLI(t, dir)
	r := c.must("cost")
	if !strings.Contains(r.stdout, "20 primitives of 3 resources checked against finance: 0 violations") {
		t.Errorf("a compliant stack:\n%s", r.stdout)
	}
	// A value the policy does not allow, on a resource that does not name
	// the policy, and a key spelt another way on the pair that does.
	edit(t, filepath.Join(dir, "main.tf"), `  tags = { service = "checkout" }
}

output`, `  tags = { service = "web" }
}

output`)
	edit(t, filepath.Join(dir, "main.tf"), `  tags = { service = "checkout" }`, `  tags = { service = "checkout", Team = "payments" }`)
	r = c.run("cost")
	if r.code != 1 || !strings.Contains(r.stderr, "tag policy violations") {
		t.Fatalf("cost with violations: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	golden(t, "cost.txt", r.stdout)
	r = c.run("cost", "--json")
	evs := jsonLines(t, r.stdout)
	last := evs[len(evs)-1]
	if r.code != 1 || last["event"] != "cost_summary" || last["compliant"] != false || int(last["violations"].(float64)) != len(evs)-1 {
		t.Fatalf("cost --json: exit %d\n%s", r.code, r.stdout)
	}
	found := map[string]bool{}
	for _, ev := range evs[:len(evs)-1] {
		found[ev["resource"].(string)+" "+ev["type"].(string)+" "+ev["tag"].(string)] = true
	}
	for _, want := range []string{
		"meridian_capacity_reservation.web aws_ec2_capacity_reservation service",
		"meridian_capacity_reservation.web aws_autoscaling_group service",
		"meridian_region_pair.checkout aws_s3_bucket Team",
		"meridian_dr_policy.checkout aws_backup_vault Team",
	} {
		if !found[want] {
			t.Errorf("no violation %q in %v", want, found)
		}
	}
}

// TestDrillCommand checks what meridian drill refuses before it touches a
// cluster; test/TestDrillCLI runs real drills on real clusters.
func TestDrillCommand(t *testing.T) {
	c := newCLI(t, platformStack(t))
	if r := c.run("drill", "checkout", "--scope", "cluster"); r.code != 1 || !strings.Contains(r.stderr, "--scope cluster needs --testbed DIR") {
		t.Errorf("cluster-scope drill without --testbed: exit %d\n%s", r.code, r.stderr)
	}
	c.must("stack", "init", "dev")
	if r := c.run("drill", "nope", "--testbed", t.TempDir()); r.code != 1 || !strings.Contains(r.stderr, `no meridian_dr_policy "nope" in the stack (it has checkout)`) {
		t.Errorf("drill of an unknown policy: exit %d\n%s", r.code, r.stderr)
	}
	if r := c.run("drill", "checkout", "--testbed", filepath.Join(t.TempDir(), "none")); r.code != 1 || !strings.Contains(r.stderr, "start the clusters with make clusters") {
		t.Errorf("drill without a cluster set: exit %d\n%s", r.code, r.stderr)
	}
	if r := c.run("drill", "--last"); r.code != 1 || !strings.Contains(r.stderr, `stack dev keeps no drill of region pair "checkout"`) {
		t.Errorf("drill --last before any drill: exit %d\n%s", r.code, r.stderr)
	}
}

// startCapacityMoto starts moto and an endpoint that also serves the EC2
// capacity reservation calls moto lacks (the strict layer with
// MERIDIAN_STRICT, else the testbed's ec2capacity stand-in): capacity for
// the CLI, capDirect for the test's checks (no strict layer in between).
// It skips without TF_ACC, as the other acceptance tests do.
func startCapacityMoto(t *testing.T) (m *testbed.AWS, capacity, capDirect string) {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 to run it against moto (make test does)")
	}
	m = startMoto(t)
	capacity, capDirect, err := m.Capacity()
	if err != nil {
		t.Fatal(err)
	}
	return m, capacity, capDirect
}

// TestInstanceTypeNotOffered: a capacity reservation whose instance type
// no zone of its region offers (DescribeInstanceTypeOfferings, answered by moto
// through the ec2capacity stand-in) stops preview and up before anything
// is created, as it stops terraform's plan.
func TestInstanceTypeNotOffered(t *testing.T) {
	m, capacity, _ := startCapacityMoto(t)
	dir := platformStack(t)
	// hpc6a.48xlarge has a price, so that only the cloud can tell it is not
	// offered (nowhere in us-east-1).
	prices := blueprint.DefaultPrices()
	for _, region := range []string{"us-east-1", "us-west-2"} {
		prices.Prices[region]["hpc6a.48xlarge"] = blueprint.TypePrice{VCPUs: 2, OnDemand: 0.1, Reserved: 0.06, Spot: 0.03}
	}
	raw, _ := json.Marshal(prices)
	if err := os.WriteFile(filepath.Join(dir, "prices.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	edit(t, filepath.Join(dir, "main.tf"), `instance_types   = ["m5.large", "m6i.large"]`, `instance_types   = ["m5.large", "hpc6a.48xlarge"]
  price_table      = "${path.module}/prices.json"`)
	c := newCLI(t, dir, "MERIDIAN_STATE=")
	endpoint := "--var=aws_endpoint=" + capacity
	c.must("stack", "init", "dev", endpoint)
	for _, args := range [][]string{{"preview"}, {"up", "--yes"}} {
		r := c.run(append(args, endpoint)...)
		// At the line of instance_types, as terraform plan puts it at the attribute.
		if r.code != 1 || !regexp.MustCompile(`main\.tf:\d+,\d+: error: Instance type not offered: meridian_capacity_reservation\.\S+: instance_types: hpc6a\.48xlarge not offered in any available zone of us-east-1`).MatchString(r.stderr) {
			t.Errorf("%s with hpc6a.48xlarge: exit %d\n%s", args[0], r.code, r.stderr)
		}
	}
	cloud, err := awscloud.New(context.Background(), awscloud.Config{Endpoint: m.Moto.Endpoint(), AccessKey: "test", SecretKey: "test", S3UsePathStyle: true, SkipCredentialsValidation: true, Emulator: true})
	if err != nil {
		t.Fatal(err)
	}
	buckets, err := cloud.S3("us-east-1").ListBuckets(context.Background(), &s3.ListBucketsInput{})
	if err != nil || len(buckets.Buckets) != 0 {
		t.Errorf("up refused, yet moto holds buckets %v (%v)", buckets.Buckets, err)
	}
	if st := readState(t, filepath.Join(dir, ".meridian", "stacks", "dev.json")); len(st.Records) != 0 {
		t.Errorf("up refused, yet the state holds %d records", len(st.Records))
	}
}

// TestMeasuredRTOStopsThePlan: once a drill kept in the state measured a
// restore longer than the policy's RTO, preview and up fail at rto, as the
// provider's plan does, and destroy still runs.
func TestMeasuredRTOStopsThePlan(t *testing.T) {
	// The plan checks the capacity reservation's instance types in the cloud.
	_, capacity, _ := startCapacityMoto(t)
	endpoint := "--var=aws_endpoint=" + capacity
	dir := platformStack(t)
	c := newCLI(t, dir, "MERIDIAN_STATE=")
	c.must("stack", "init", "dev", endpoint)
	doc := `{"version": 1, "stack": "dev", "serial": 1, "drills": {"checkout": {"id": "d1", "pair": "checkout", "measured_rto": "1h30m0s", "passed": false}}}`
	if err := os.WriteFile(filepath.Join(dir, ".meridian", "stacks", "dev.json"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"preview"}, {"up", "--yes"}} {
		r := c.run(append(args, endpoint)...)
		if r.code != 1 || !strings.Contains(r.stderr, "main.tf:77,") || !strings.Contains(r.stderr, "RTO shorter than the measured restore") ||
			!strings.Contains(r.stderr, "meridian_dr_policy.checkout: rto: the last drill restored the pair in 1h30m0s, longer than rto 1h0m0s") {
			t.Errorf("%s after a drill that measured 1h30m: exit %d\n%s", args[0], r.code, r.stderr)
		}
	}
	// The kept report reads back, and a drill that did not pass exits 1.
	r := c.run("drill", "--last", endpoint)
	if r.code != 1 || !strings.Contains(r.stdout, "drill d1 of region pair checkout") || !strings.Contains(r.stdout, "FAILED") || !strings.Contains(r.stdout, "1h30m0s") ||
		!strings.Contains(r.stderr, "the drill of meridian_dr_policy.checkout failed: it missed its targets") {
		t.Errorf("drill --last: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// The report, then the summary every failed command ends its JSON with.
	if evs := jsonLines(t, c.run("drill", "--last", "--json", endpoint).stdout); len(evs) != 2 || evs[0]["event"] != "drill" || evs[0]["report"].(map[string]any)["id"] != "d1" ||
		evs[1]["event"] != "summary" || evs[1]["ok"] != false {
		t.Errorf("drill --last --json: %v", evs)
	}
	c.must("destroy", "--yes", endpoint)
	edit(t, filepath.Join(dir, "main.tf"), `rto           = "1h"`, `rto           = "2h"`)
	if r := c.must("preview", endpoint); !strings.Contains(r.stdout, "to create") {
		t.Errorf("preview with an RTO above the measured restore:\n%s", r.stdout)
	}
}

// TestCostAccount audits a moto account: a bucket meridian did not create
// and that carries no tags is reported; a compliant one is not.
func TestCostAccount(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 to run it against moto (make test does)")
	}
	m := startMoto(t)
	ctx := context.Background()
	cloud, err := awscloud.New(ctx, awscloud.Config{Endpoint: m.Moto.Endpoint(), AccessKey: "test", SecretKey: "test", S3UsePathStyle: true, SkipCredentialsValidation: true, Emulator: true})
	if err != nil {
		t.Fatal(err)
	}
	s3c := cloud.S3("us-east-1")
	for _, b := range []string{"rogue-untagged", "tidy-tagged"} {
		if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s3c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String("tidy-tagged"), Tagging: &s3types.Tagging{TagSet: []s3types.Tag{
		{Key: aws.String("cost-centre"), Value: aws.String("cc-0001")}, {Key: aws.String("service"), Value: aws.String("checkout")},
	}}}); err != nil {
		t.Fatal(err)
	}
	dir := platformStack(t)
	c := newCLI(t, dir)
	r := c.run("cost", "--account", "--var", "aws_endpoint="+m.Endpoint())
	if r.code != 1 || !strings.Contains(r.stderr, "tag policy violations") {
		t.Fatalf("cost --account: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"arn:aws:s3:::rogue-untagged", "not meridian", `required tag "cost-centre" is not set`, `required tag "service" is not set`, "in us-east-1, us-west-2 checked against finance: 2 violations"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("cost --account lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "tidy-tagged") {
		t.Errorf("a compliant bucket is reported:\n%s", r.stdout)
	}
	r = c.run("cost", "--account", "--json", "--region", "us-east-1", "--var", "aws_endpoint="+m.Endpoint())
	evs := jsonLines(t, r.stdout)
	if evs[0]["event"] != "account_violation" || evs[0]["arn"] != "arn:aws:s3:::rogue-untagged" || evs[0]["type"] != "s3:bucket" {
		t.Errorf("cost --account --json:\n%s", r.stdout)
	}
}

// TestUpDeploysEveryKind deploys examples/stacks/platform, its tag policy
// enforced in a moto organization, with meridian up: every resource kind
// lands in the state under its own name, refresh and preview find nothing
// to change, and destroy leaves nothing in the state or in moto. Capacity
// reservations go to the testbed's ec2capacity stand-in in front of moto,
// which serves the EC2 capacity reservation calls moto does not implement.
func TestUpDeploysEveryKind(t *testing.T) {
	_, capacity, capDirect := startCapacityMoto(t)
	ctx := context.Background()
	cloud, err := awscloud.New(ctx, awscloud.Config{Endpoint: capDirect, AccessKey: "test", SecretKey: "test", S3UsePathStyle: true, SkipCredentialsValidation: true, Emulator: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cloud.Organizations().CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: orgtypes.OrganizationFeatureSetAll}); err != nil {
		t.Fatal(err)
	}
	roots, err := cloud.Organizations().ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil || len(roots.Roots) == 0 {
		t.Fatalf("roots: %v %v", roots, err)
	}
	dir := platformStack(t)
	edit(t, filepath.Join(dir, "main.tf"), "  # enforce_in_cloud {\n  #   target_id = \"r-abcd\"\n  # }", "  enforce_in_cloud {\n    target_id = \""+*roots.Roots[0].Id+"\"\n  }")
	c := newCLI(t, dir, "MERIDIAN_STATE=")
	endpoint := "--var=aws_endpoint=" + capacity
	c.must("stack", "init", "dev")
	c.must("up", "--yes", "--progress=plain", endpoint)

	st := readState(t, filepath.Join(dir, ".meridian", "stacks", "dev.json"))
	kinds := map[string]int{}
	for _, r := range st.Records {
		kinds[strings.SplitN(r.Name, "/", 2)[0]]++
	}
	for _, want := range []string{"checkout", "meridian_dr_policy.checkout", "meridian_capacity_reservation.checkout-web", "meridian_cost_tag_policy.finance"} {
		if kinds[want] == 0 {
			t.Errorf("no records of %s after up: %v", want, kinds)
		}
	}
	vaults, err := cloud.Backup("us-west-2").ListBackupVaults(ctx, &backup.ListBackupVaultsInput{})
	if err != nil || len(vaults.BackupVaultList) == 0 {
		t.Errorf("no backup vault in us-west-2 after up: %v %v", vaults, err)
	}
	if r := c.must("refresh", endpoint); !strings.Contains(r.stdout, "0 drifted") {
		t.Errorf("refresh after up:\n%s", r.stdout)
	}
	if r := c.must("preview", endpoint); !strings.Contains(r.stdout, "0 to create, 0 to update, 0 to replace, 0 to delete") {
		t.Errorf("preview after up:\n%s", r.stdout)
	}
	// A resource other than a pair is a target by its address.
	c.must("destroy", "--yes", "--progress=plain", "--target", "meridian_dr_policy.checkout", endpoint)
	left := readState(t, filepath.Join(dir, ".meridian", "stacks", "dev.json")).Records
	for _, r := range left {
		if strings.HasPrefix(r.Name, "meridian_dr_policy.checkout/") {
			t.Errorf("%s left after destroy --target meridian_dr_policy.checkout", r.Name)
		}
	}
	if len(left) != len(st.Records)-kinds["meridian_dr_policy.checkout"] {
		t.Errorf("%d records after destroy --target meridian_dr_policy.checkout, want %d", len(left), len(st.Records)-kinds["meridian_dr_policy.checkout"])
	}
	c.must("destroy", "--yes", "--progress=plain", endpoint)
	if st := readState(t, filepath.Join(dir, ".meridian", "stacks", "dev.json")); len(st.Records) != 0 {
		t.Errorf("%d records after destroy", len(st.Records))
	}
	vaults, err = cloud.Backup("us-west-2").ListBackupVaults(ctx, &backup.ListBackupVaultsInput{})
	if err != nil || len(vaults.BackupVaultList) != 0 {
		t.Errorf("backup vaults left after destroy: %v %v", vaults, err)
	}
}

// TestRunbookMatchesProvider plans the same stack with terraform and the
// provider, and requires `meridian runbook` to print exactly the planned
// runbook_markdown.
func TestRunbookMatchesProvider(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 to run it with terraform (make test does)")
	}
	tf := testbed.RequireTool(t, "terraform")
	m := startMoto(t)
	repoRoot, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	mirror := filepath.Join(tmp, "mirror")
	if err := testbed.InstallProvider(repoRoot, mirror); err != nil {
		t.Fatal(err)
	}
	cliConfig := filepath.Join(tmp, "terraformrc")
	if err := testbed.WriteCLIConfig(cliConfig, mirror); err != nil {
		t.Fatal(err)
	}
	dir := platformStack(t)
	if err := os.WriteFile(filepath.Join(dir, "versions.tf"), []byte("terraform {\n  required_providers {\n    meridian = { source = \"meridianhq/meridian\" }\n  }\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tfRun := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, tf, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+cliConfig, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1", "TF_INPUT=0",
			"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_EC2_METADATA_DISABLED=true")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("terraform %s: %v\n%s\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
		}
		return stdout.String()
	}
	tfRun("init", "-input=false", "-no-color")
	tfRun("plan", "-input=false", "-no-color", "-out=plan.bin", "-var", "aws_endpoint="+m.Endpoint())
	var plan struct {
		PlannedValues struct {
			RootModule struct {
				Resources []struct {
					Address string         `json:"address"`
					Values  map[string]any `json:"values"`
				} `json:"resources"`
			} `json:"root_module"`
		} `json:"planned_values"`
	}
	if err := json.Unmarshal([]byte(tfRun("show", "-json", "plan.bin")), &plan); err != nil {
		t.Fatal(err)
	}
	var planned string
	for _, res := range plan.PlannedValues.RootModule.Resources {
		if res.Address == "meridian_dr_policy.checkout" {
			planned, _ = res.Values["runbook_markdown"].(string)
		}
	}
	if planned == "" {
		t.Fatal("terraform planned no runbook_markdown for meridian_dr_policy.checkout")
	}
	r := newCLI(t, dir).must("runbook")
	if r.stdout != planned {
		t.Errorf("meridian runbook:\n%s\nterraform's runbook_markdown:\n%s", r.stdout, planned)
	}
}

// The per-step forecast comes out as CSV and JSON with its intervals, the
// interval's coverage is the user's, and a history without timestamps
// needs its start.
func TestCapacityForecastOutputs(t *testing.T) {
	dir := platformStack(t)
	c := newCLI(t, dir)
	c.must("capacity", "web", "--forecast", "f.csv", "--interval", "0.8")
	b, err := os.ReadFile(filepath.Join(dir, "f.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(rows) != 14*24+1 || rows[0] != "time,mean,lower,upper,std_dev" || !strings.HasPrefix(rows[1], "2026-10-15T00:00:00Z,") {
		t.Fatalf("forecast csv: %d rows, %q", len(rows), rows[:2])
	}
	r := c.must("capacity", "web", "--forecast", "f.json", "--json")
	var pts []map[string]any
	if b, err = os.ReadFile(filepath.Join(dir, "f.json")); err != nil || json.Unmarshal(b, &pts) != nil || len(pts) != 14*24 {
		t.Fatalf("forecast json: %v, %d points", err, len(pts))
	}
	for _, p := range pts {
		if !(p["lower"].(float64) <= p["mean"].(float64) && p["mean"].(float64) <= p["upper"].(float64)) {
			t.Fatalf("point %v: mean outside its interval", p)
		}
	}
	fc := jsonLines(t, r.stdout)[0]["forecast"].(map[string]any)
	if fc["model"] == "" || fc["interval_coverage"] != 0.95 || fc["empirical_coverage"] == nil || fc["backtest_mase"] == nil {
		t.Errorf("json forecast: %v", fc)
	}

	// Values without timestamps: --start is required, then taken.
	var values strings.Builder
	for _, row := range rows[1:] {
		v, _, _ := strings.Cut(strings.SplitN(row, ",", 2)[1], ",")
		values.WriteString(v + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "values.csv"), []byte(values.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := c.run("capacity", "web", "--demand", "values.csv"); r.code != 1 || !strings.Contains(r.stderr, "--start") || !strings.Contains(r.stderr, "Missing start of the demand history") {
		t.Errorf("values without start: exit %d\n%s", r.code, r.stderr)
	}
	if r := c.must("capacity", "web", "--demand", "values.csv", "--start", "2026-11-01T00:00:00Z"); !strings.Contains(r.stdout, "next review 2026-12-15") {
		t.Errorf("values with start:\n%s", r.stdout)
	}
}
