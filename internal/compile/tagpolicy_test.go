package compile

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// financePolicy exempts every untaggable type of a region pair.
func financePolicy() *blueprint.TagPolicy {
	return &blueprint.TagPolicy{
		Name:         "finance",
		RequiredTags: []string{"cost-centre", "service"},
		AllowedValues: map[string]blueprint.AllowedValues{
			"cost-centre": {Pattern: `^cc-[0-9]{4}$`},
			"env":         {Values: []string{"prod", "staging"}},
		},
		KeyCase:     blueprint.KeyCaseKebab,
		DefaultTags: map[string]string{"cost-centre": "cc-0000", "env": "staging", "owner": "finops"},
		Exemptions: map[string]string{
			primitive.S3BucketReplication: "part of the bucket", primitive.IAMRolePolicy: "part of the role",
			primitive.DynamoDBReplica: "carries the table's tags", primitive.Route53Record: "Route 53 records cannot be tagged",
		},
	}
}

// The merge order is provider default < policy default < resource tag < derived tag.
func TestTagMergeOrder(t *testing.T) {
	rp := fullActivePassive()
	rp.Tags = map[string]string{"service": "payments", "env": "prod"}
	rp.CostTagPolicy = financePolicy()
	provider := map[string]string{"cost-centre": "cc-1111", "env": "dev", "team": "platform", "owner": "nobody"}
	g, err := RegionPair(rp, provider)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"cost-centre": "cc-0000",  // policy default beats provider default
		"env":         "prod",     // resource tag beats both
		"owner":       "finops",   // policy default beats provider default
		"team":        "platform", // provider default, untouched
		"service":     "payments",
		TagResource:   "meridian_region_pair.payments",
		TagRegionRole: "primary",
	}
	if got := byName(g)["aws_dynamodb_table.kv"].Tags; !reflect.DeepEqual(got, want) {
		t.Errorf("table tags = %v, want %v", got, want)
	}
}

func TestEnforceGolden(t *testing.T) {
	tests := []struct {
		golden string
		mutate func(*blueprint.RegionPair)
	}{
		{"policy_clean", func(*blueprint.RegionPair) {}},
		{"policy_missing_tag", func(rp *blueprint.RegionPair) { delete(rp.Tags, "service") }},
		{"policy_key_case_conflict", func(rp *blueprint.RegionPair) { rp.Tags["CostCenter"] = "cc-1234" }},
		{"policy_required_key_spelt_differently", func(rp *blueprint.RegionPair) {
			rp.CostTagPolicy.DefaultTags = nil
			rp.Tags = map[string]string{"cost_center": "cc-1234", "service": "payments"}
		}},
		{"policy_value_not_allowed", func(rp *blueprint.RegionPair) { rp.Tags["cost-centre"] = "marketing" }},
		{"policy_exemption_missing", func(rp *blueprint.RegionPair) { delete(rp.CostTagPolicy.Exemptions, primitive.Route53Record) }},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			rp := fullActivePassive()
			rp.Tags = map[string]string{"service": "payments"}
			rp.CostTagPolicy = financePolicy()
			tt.mutate(&rp)
			g, err := RegionPair(rp, nil)
			var vs Violations
			if err != nil && !errors.As(err, &vs) {
				t.Fatalf("RegionPair() error = %v, want violations or none", err)
			}
			if err == nil {
				vs = Enforce(*rp.CostTagPolicy, "meridian_region_pair.payments", g)
			}
			got, _ := json.MarshalIndent(vs, "", "  ")
			got = append(got, '\n')
			path := filepath.Join("testdata", tt.golden+".golden.json")
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
				t.Errorf("violations differ from %s:\n%s", path, lineDiff(string(want), string(got)))
			}
		})
	}
}

func TestPolicyValidation(t *testing.T) {
	rp := fullActivePassive()
	rp.CostTagPolicy = financePolicy()
	rp.CostTagPolicy.Exemptions[primitive.Route53Record] = " "
	rp.CostTagPolicy.KeyCase = "SCREAMING"
	_, err := RegionPair(rp, nil)
	var p blueprint.Problem
	if !errors.As(err, &p) || p.Paths[0] != "cost_tag_policy" {
		t.Fatalf("error = %v, want a problem at cost_tag_policy", err)
	}
}
