package provider

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"

	"github.com/meridianhq/terraform-provider-meridian/internal/architecture"
	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/drill"
)

// The platform example's pair, with its cost tag policy, as its spec.
var docPair = blueprint.RegionPair{
	Name: "checkout", PrimaryRegion: "us-east-1", SecondaryRegion: "us-west-2",
	ObjectStore: &blueprint.ObjectStore{BucketPrefix: "meridian-platform-checkout", ForceDestroy: true},
	KVTable:     &blueprint.KVTable{HashKey: "order_id"},
	Tags:        map[string]string{"service": "checkout"},
	CostTagPolicy: &blueprint.TagPolicy{
		Name: "finance", RequiredTags: []string{"cost-centre", "service"}, KeyCase: "kebab-case",
		DefaultTags: map[string]string{"owner": "finops"},
		Exemptions: map[string]string{
			"aws_s3_bucket_replication": "part of its bucket", "aws_iam_role_policy": "part of its role",
			"aws_dynamodb_table_replica": "carries its table's tags", "aws_route53_record": "cannot carry tags",
			"aws_backup_selection": "part of its plan",
		},
	},
}

func architectureDocumentConfig(endpoint, spec, drillFile string) string {
	lastDrill := ""
	if drillFile != "" {
		lastDrill = fmt.Sprintf("last_drill = file(%q)", drillFile)
	}
	return providerConfig(endpoint, `{ cost-centre = "cc-1234" }`) + fmt.Sprintf(`
locals {
  checkout = %q
}

data "meridian_architecture_document" "platform" {
  name         = "platform"
  region_pairs = [local.checkout]
  at           = "2026-11-30"
  dr_policies = [{
    name            = "checkout"
    region_pair     = local.checkout
    rpo             = "15m"
    rto             = "1h"
    restore_order   = ["aws_dynamodb_table.kv"]
    backup_schedule = "rate(1 hour)"
    retention_days  = 14
    drill_schedule  = "monthly"
    %s
  }]
}
`, spec, lastDrill)
}

// The data source writes, from the pair's spec and the policy's arguments,
// the document that architecture.Write gives for the same blueprints, with
// its diagrams; without a drill report it is not defended.
func TestAccArchitectureDocument(t *testing.T) {
	endpoint := acceptance(t)
	spec, err := json.Marshal(docPair)
	if err != nil {
		t.Fatal(err)
	}
	fixture, err := filepath.Abs(filepath.Join("..", "internal", "architecture", "testdata", "drill-report.fixture.json"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	var rep drill.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	policy := blueprint.DRPolicy{Name: "checkout", RegionPair: docPair, RPO: "15m", RTO: "1h", RestoreOrder: []string{"aws_dynamodb_table.kv"},
		Backup: blueprint.Backup{Schedule: "rate(1 hour)", RetentionDays: 14, CrossRegionCopy: true},
		Drill:  blueprint.Drill{Schedule: "monthly", MaxDeviationPercent: DefaultDrillDeviation}}
	in, err := architecture.FromBlueprints("platform", []blueprint.RegionPair{docPair}, []blueprint.DRPolicy{policy},
		map[string]*drill.Report{"checkout": &rep}, map[string]string{"cost-centre": "cc-1234"}, time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	want := architecture.Write(in)
	const ds = "data.meridian_architecture_document.platform"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{
			{
				Config: architectureDocumentConfig(endpoint, string(spec), fixture),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(ds, "markdown", want.Markdown),
					resource.TestCheckResourceAttr(ds, "defended", "true"),
					resource.TestCheckResourceAttr(ds, "findings.#", "0"),
					resource.TestCheckResourceAttr(ds, "diagrams.%", "3"),
					resource.TestCheckResourceAttr(ds, "diagrams.runbook-checkout.svg", want.Diagrams[2].SVG),
					resource.TestMatchResourceAttr(ds, "markdown", regexp.MustCompile(`Last drill: fixture-20261120 on 2026-11-20, passed`)),
				),
			},
			{
				Config: architectureDocumentConfig(endpoint, string(spec), ""),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(ds, "defended", "false"),
					resource.TestCheckResourceAttr(ds, "findings.#", "1"),
					resource.TestCheckResourceAttr(ds, "findings.0", "never_drilled: meridian_dr_policy.checkout: never drilled: its RPO and RTO are unproven (meridian drill)"),
				),
			},
		},
	})
}
