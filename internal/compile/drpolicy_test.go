package compile

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/compile -update to create it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("output differs from %s (run with -update if intended):\n%s", path, lineDiff(string(want), string(got)))
	}
}

func checkoutDR() blueprint.DRPolicy {
	return blueprint.DRPolicy{Name: "checkout", RegionPair: fullActivePassive(), RPO: "15m", RTO: "2h",
		Backup: blueprint.Backup{CrossRegionCopy: true}}
}

// The runbook of a full pair: data stores and what has no dependencies
// first, dependents after what they read, DNS records last.
func TestRunbookGolden(t *testing.T) {
	p := checkoutDR()
	p.RestoreOrder = []string{"aws_dynamodb_table.kv"}
	_, rb, err := DRPolicy(p, defaultTags)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.MarshalIndent(rb, "", "  ")
	checkGolden(t, "runbook_active_passive.golden.json", append(got, '\n'))
	checkGolden(t, "runbook_active_passive.golden.md", []byte(rb.Markdown("checkout")))

	group := map[string]int{}
	for _, s := range rb.Steps {
		group[s.Primitive] = s.Group
	}
	if group["aws_dynamodb_table.kv"] != 1 {
		t.Errorf("restore_order put the table in group %d, want 1", group["aws_dynamodb_table.kv"])
	}
	last := rb.Steps[len(rb.Steps)-1].Group
	for name, g := range group {
		isDNS := strings.HasPrefix(name, primitive.Route53Record)
		if isDNS != (g == last) {
			t.Errorf("%s in group %d; DNS records and only they belong to the last group %d", name, g, last)
		}
	}
	if group[primitive.S3Bucket+".primary"] >= group[primitive.S3BucketReplication+".primary"] || group[primitive.IAMRole+".replication"] >= group[primitive.IAMRolePolicy+".replication"] {
		t.Errorf("a primitive comes before what it depends on: %v", group)
	}
}

func TestRunbookRestoreOrderMustFollowDependencies(t *testing.T) {
	p := checkoutDR()
	p.RestoreOrder = []string{"aws_dynamodb_table_replica.kv"}
	_, _, err := DRPolicy(p, nil)
	var problem blueprint.Problem
	if !errors.As(err, &problem) || problem.Paths[0] != "restore_order" || !strings.Contains(problem.Detail, `before "aws_dynamodb_table.kv"`) {
		t.Fatalf("error = %v, want a restore_order problem naming the table", err)
	}
	p.RestoreOrder = []string{"nope"}
	if _, _, err := DRPolicy(p, nil); err == nil || !strings.Contains(err.Error(), `"nope" is not a primitive of the pair`) {
		t.Fatalf("error = %v", err)
	}
}

func TestDRPolicyRTOShorterThanEstimate(t *testing.T) {
	p := checkoutDR()
	p.RTO = "10m"
	_, rb, err := DRPolicy(p, nil)
	var problem blueprint.Problem
	if !errors.As(err, &problem) || problem.Summary != "RTO shorter than the estimated restore time" || !strings.Contains(problem.Detail, rb.Estimate) {
		t.Fatalf("error = %v, want the RTO rule with the estimate %s", err, rb.Estimate)
	}
}

func TestDRPolicyGraphGolden(t *testing.T) {
	g, _, err := DRPolicy(checkoutDR(), defaultTags)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.MarshalIndent(g, "", "  ")
	checkGolden(t, "drpolicy_checkout.golden.json", append(got, '\n'))
	copyRule := byName(g)[primitive.BackupPlan+".dr"].Properties["rule"].(map[string]any)
	if copyRule["copy_to_vault_arn"] != "${aws_backup_vault.secondary.arn}" {
		t.Errorf("the plan's rule does not copy to the secondary vault: %v", copyRule)
	}
	if byName(g)[primitive.BackupVault+".secondary"].Region != "us-west-2" {
		t.Errorf("secondary vault is not in the secondary region")
	}
}

// TestBackupRoleHasServicePolicies: the backup role AWS Backup assumes gets
// AWS's service policies for backups and restores, named in the partition
// of the pair's regions; a role with a trust policy and no permissions
// fails every job.
func TestBackupRoleHasServicePolicies(t *testing.T) {
	for region, partition := range map[string]string{"us-east-1": "aws", "us-gov-west-1": "aws-us-gov", "cn-north-1": "aws-cn"} {
		p := checkoutDR()
		p.RegionPair.PrimaryRegion = region
		p.RegionPair.SecondaryRegion = map[string]string{"us-east-1": "us-west-2", "us-gov-west-1": "us-gov-east-1", "cn-north-1": "cn-northwest-1"}[region]
		g, _, err := DRPolicy(p, nil)
		if err != nil {
			t.Fatalf("%s: %v", region, err)
		}
		var role primitive.Primitive
		for _, p := range g.Primitives {
			if p.Name == primitive.IAMRole+".backup" {
				role = p
			}
		}
		want := []any{
			"arn:" + partition + ":iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
			"arn:" + partition + ":iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
		}
		if got := role.Properties["managed_policy_arns"]; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: managed_policy_arns = %v, want %v", region, got, want)
		}
	}
}
