package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
)

// envSensitive checks the plan of a region pair: terraform marks its
// workload env sensitive (so every rendering of the plan shows "(sensitive
// value)"), and the value is nowhere else in the planned values (spec).
type envSensitive struct{ address, value string }

func (c envSensitive) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	for _, rc := range req.Plan.ResourceChanges {
		if rc.Address != c.address {
			continue
		}
		marks, _ := json.Marshal(rc.Change.AfterSensitive)
		if !strings.Contains(string(marks), `"env":true`) {
			resp.Error = fmt.Errorf("%s: workload env is not marked sensitive in the plan: after_sensitive = %s", c.address, marks)
			return
		}
		after, _ := rc.Change.After.(map[string]any)
		if w, ok := after["workload"].(map[string]any); ok {
			delete(w, "env") // the one place the value belongs, marked sensitive
		}
		if b, _ := json.Marshal(after); strings.Contains(string(b), c.value) {
			resp.Error = fmt.Errorf("%s: the env value is in clear in the planned values besides env: %s", c.address, b)
		}
		return
	}
	resp.Error = fmt.Errorf("no planned change of %s", c.address)
}

// TestAccRegionPair_envIsSensitive plans a region pair whose workload has a
// secret env value: terraform's plan shows env as "(sensitive value)" and
// holds the value nowhere else (spec redacts it). Planning reads no
// cluster, so the clusters are addresses nothing answers at.
func TestAccRegionPair_envIsSensitive(t *testing.T) {
	endpoint := acceptance(t)
	const secret = "tf-s3cr3t-pa55word"
	config := fmt.Sprintf(`
provider "meridian" {
  aws {
    endpoint                    = %q
    access_key                  = "test"
    secret_key                  = "test"
    s3_use_path_style           = true
    skip_credentials_validation = true
  }
  kubernetes {
    cluster {
      region = "us-east-1"
      host   = "https://127.0.0.1:9"
      token  = "unused"
    }
    cluster {
      region = "us-west-2"
      host   = "https://127.0.0.1:9"
      token  = "unused"
    }
  }
}

resource "meridian_region_pair" "secretive" {
  name             = "acc-secretive"
  primary_region   = "us-east-1"
  secondary_region = "us-west-2"
  workload {
    image = "registry.example/app:1"
    env   = { DB_PASSWORD = %q }
  }
}
`, endpoint, secret)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: providerFactories,
		Steps: []resource.TestStep{{
			Config:   config,
			PlanOnly: true,
			ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPreRefresh: []plancheck.PlanCheck{
				envSensitive{address: "meridian_region_pair.secretive", value: secret},
			}},
			// A plan-only step fails on a non-empty plan and prints the
			// plan as terraform renders it for people: env must read
			// "(sensitive value)" there.
			ExpectError: regexp.MustCompile(`(?s)The non-refresh plan was not empty.*\+ env\s+= \(sensitive value\)`),
		}},
	})
}
