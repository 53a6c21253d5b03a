package main

import (
	"strings"
	"testing"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/sdk"
)

// TestPlanText is issue 13 item 11: the preview is grouped by resource
// (sorted by address), an unchanged resource is one line, placeholders
// read "(known after apply)", and a JSON document (the SSM manifest) is
// shown by key on create and diffed by key on update.
func TestPlanText(t *testing.T) {
	st := func(op engine.Op, name, typ, region string) engine.Step {
		return engine.Step{Op: op, Name: name, Type: typ, Region: region}
	}
	role := st(engine.OpCreate, "search/aws_iam_role.replication", "aws_iam_role", "global")
	manifest := st(engine.OpUpdate, "checkout/aws_ssm_parameter.manifest", "aws_ssm_parameter", "us-east-1")
	pv := sdk.Preview{
		Plan: engine.Plan{Steps: []engine.Step{
			role,
			st(engine.OpSame, "checkout/aws_s3_bucket.primary", "aws_s3_bucket", "us-east-1"),
			manifest,
			st(engine.OpSame, "checkout/aws_s3_bucket.secondary", "aws_s3_bucket", "us-west-2"),
			st(engine.OpSame, "cart/aws_s3_bucket.primary", "aws_s3_bucket", "us-east-1"),
		}},
		Steps: []sdk.StepDetail{
			{Step: role, Diffs: []sdk.PropertyDiff{
				{Key: "arn", New: "${search/aws_iam_role.replication.arn}", Computed: true},
				{Key: "assume_role_policy", New: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Resource":"${search/aws_s3_bucket.primary.arn}"}]}`},
				{Key: "name", New: "search-replication"},
			}},
			{Step: manifest, Diffs: []sdk.PropertyDiff{
				{Key: "value", Old: `{"blueprint":{"name":"checkout","tags":{"team":"a"}},"ids":{"bucket":"b-1"}}`,
					New: `{"blueprint":{"name":"checkout","tags":{"team":"b"}},"ids":{"bucket":"${checkout/aws_s3_bucket.primary.id}"}}`},
			}},
		},
	}
	group := func(name string) (string, string) {
		pair, short, _ := strings.Cut(name, "/")
		return "meridian_region_pair." + pair, short
	}
	want := `meridian_region_pair.cart: 1 unchanged
meridian_region_pair.checkout: 1 to update, 2 unchanged
  ~   aws_ssm_parameter.manifest (aws_ssm_parameter in us-east-1)
        value.blueprint.tags.team: "a" => "b"
        value.ids.bucket: "b-1" => (known after apply)
meridian_region_pair.search: 1 to create
  +   aws_iam_role.replication (aws_iam_role in global)
        arn = (known after apply)
        assume_role_policy = {
          "Statement": [
            {
              "Effect": "Allow",
              "Resource": (known after apply)
            }
          ],
          "Version": "2012-10-17"
        }
        name = "search-replication"
`
	if got := planText(pv, group); got != want {
		t.Errorf("plan text:\n%s\nwant:\n%s", got, want)
	}
}
