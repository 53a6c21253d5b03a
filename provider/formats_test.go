package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
)

// privateMap is a resource's private state, as terraform keeps it between
// calls.
type privateMap map[string][]byte

func (p privateMap) GetKey(_ context.Context, key string) ([]byte, diag.Diagnostics) {
	return p[key], nil
}

func (p privateMap) SetKey(_ context.Context, key string, value []byte) diag.Diagnostics {
	p[key] = value
	return nil
}

// goldenRecords are the records in testdata/private_records_v1.json, which
// saveRecords wrote at commit 5dec2e9, before the private state carried a
// format version: every field a record can have.
var goldenRecords = engine.State{Records: []engine.Record{
	{Name: "asg.web", Type: "aws:autoscaling:group", Region: "us-east-1", ID: "web-asg",
		Inputs: map[string]any{"min": float64(2), "zones": []any{"us-east-1a"}}, Tags: map[string]string{"team": "core"},
		Outputs:   map[string]string{"arn": "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:web"},
		DependsOn: []string{"lt.web"}, Token: "tok-asg"},
	{Name: "lt.web", Type: "aws:ec2:launch_template", Region: "us-east-1", ID: "lt-0abc", Unmarked: true},
	{Name: "zone.main", Type: "aws:route53:zone", Region: "us-east-1", Pending: engine.OpCreate, Token: "tok-zone"},
}}

func readGolden(t *testing.T) []byte {
	t.Helper()
	raw, err := os.ReadFile("testdata/private_records_v1.json")
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestTodaysPrivateRecordsLoad: the private state written before it had a
// format version loads, and is written back at the current version.
func TestTodaysPrivateRecordsLoad(t *testing.T) {
	ctx := context.Background()
	got, diags := loadRecords(ctx, privateMap{recordsKey: readGolden(t)})
	if diags.HasError() {
		t.Fatal(diags)
	}
	if !reflect.DeepEqual(got, goldenRecords) {
		t.Fatalf("records = %+v\nwant %+v", got, goldenRecords)
	}
	p := privateMap{}
	if diags := saveRecords(ctx, p, got); diags.HasError() {
		t.Fatal(diags)
	}
	var v struct{ Version int }
	if err := json.Unmarshal(p[recordsKey], &v); err != nil || v.Version != privateVersion {
		t.Fatalf("written back at version %d (%v), want %d: %s", v.Version, err, privateVersion, p[recordsKey])
	}
	again, diags := loadRecords(ctx, p)
	if diags.HasError() || !reflect.DeepEqual(again, goldenRecords) {
		t.Fatalf("written back and read again: %+v, %v", again, diags)
	}
}

// TestNewerPrivateRecordsAreRefused: records a newer provider wrote are
// refused as newer, naming both versions, whether or not today's types
// could read them; never taken as no records or as corrupt.
func TestNewerPrivateRecordsAreRefused(t *testing.T) {
	for name, raw := range map[string]string{
		"readable": `{"version":2,"records":[{"name":"zone.main","type":"aws:route53:zone","region":"us-east-1","id":"Z1"}]}`,
		"reshaped": `{"version":2,"records":{"zone.main":{"id":"Z1"}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			got, diags := loadRecords(context.Background(), privateMap{recordsKey: []byte(raw)})
			if !diags.HasError() {
				t.Fatalf("records of format version 2 were read: %+v", got)
			}
			detail := diags.Errors()[0].Detail()
			for _, want := range []string{"format version 2", "this provider's 1", "newer meridian provider"} {
				if !strings.Contains(detail, want) {
					t.Errorf("the refusal does not say %q: %s", want, detail)
				}
			}
		})
	}
}

// TestSchemaVersion0IsUpgraded: every resource's schema has a version, and
// a state terraform stored under version 0 (every state written before
// schemas had versions) is upgraded, at the protocol, to the same values.
func TestSchemaVersion0IsUpgraded(t *testing.T) {
	ctx := context.Background()
	server, err := providerserver.NewProtocol6WithError(New("test")())()
	if err != nil {
		t.Fatal(err)
	}
	schemas, err := server.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil || len(schemas.Diagnostics) > 0 {
		t.Fatal(err, schemas.Diagnostics)
	}
	if len(schemas.ResourceSchemas) != 5 {
		t.Errorf("%d resources; this test expects the 5 it was written for", len(schemas.ResourceSchemas))
	}
	for typ, s := range schemas.ResourceSchemas {
		t.Run(typ, func(t *testing.T) {
			if s.Version != schemaVersion || schemaVersion < 1 {
				t.Fatalf("schema version %d, want %d (at least 1)", s.Version, schemaVersion)
			}
			// The first string attribute, set, and one the schema does
			// not have (an older state may hold such): the rest is null.
			var attr string
			for _, a := range s.Block.Attributes {
				if a.Type != nil && a.Type.Is(tftypes.String) {
					attr = a.Name
					break
				}
			}
			if attr == "" {
				t.Fatal("no string attribute")
			}
			raw, _ := json.Marshal(map[string]any{attr: "from-version-0", "attribute_of_old": 1})
			resp, err := server.UpgradeResourceState(ctx, &tfprotov6.UpgradeResourceStateRequest{
				TypeName: typ, Version: 0, RawState: &tfprotov6.RawState{JSON: raw},
			})
			if err != nil || len(resp.Diagnostics) > 0 {
				for _, d := range resp.Diagnostics {
					t.Errorf("%s: %s", d.Summary, d.Detail)
				}
				t.Fatalf("upgrade from version 0: %v", err)
			}
			v, err := resp.UpgradedState.Unmarshal(s.ValueType())
			if err != nil {
				t.Fatal(err)
			}
			var fields map[string]tftypes.Value
			if err := v.As(&fields); err != nil {
				t.Fatal(err)
			}
			var got string
			if err := fields[attr].As(&got); err != nil || got != "from-version-0" {
				t.Fatalf("%s upgraded to %q (%v)", attr, got, err)
			}
		})
	}
}

// version0Server is this provider as it was before its schemas had
// versions: every resource schema at version 0, and a state of version 0
// read as the current schema (the framework's passthrough), not upgraded.
type version0Server struct{ tfprotov6.ProviderServer }

func (s version0Server) GetProviderSchema(ctx context.Context, req *tfprotov6.GetProviderSchemaRequest) (*tfprotov6.GetProviderSchemaResponse, error) {
	resp, err := s.ProviderServer.GetProviderSchema(ctx, req)
	if err == nil {
		for _, rs := range resp.ResourceSchemas {
			rs.Version = 0
		}
	}
	return resp, err
}

func (s version0Server) UpgradeResourceState(ctx context.Context, req *tfprotov6.UpgradeResourceStateRequest) (*tfprotov6.UpgradeResourceStateResponse, error) {
	if req.Version == 0 {
		req.Version = schemaVersion
	}
	return s.ProviderServer.UpgradeResourceState(ctx, req)
}

// schemaVersions checks the schema version terraform stored for each
// resource in its state.
type schemaVersions map[string]uint64

func (want schemaVersions) CheckState(_ context.Context, req statecheck.CheckStateRequest, resp *statecheck.CheckStateResponse) {
	if req.State == nil || req.State.Values == nil || req.State.Values.RootModule == nil {
		resp.Error = fmt.Errorf("no state")
		return
	}
	seen := 0
	for _, r := range req.State.Values.RootModule.Resources {
		v, ok := want[r.Address]
		if !ok {
			continue
		}
		seen++
		if r.SchemaVersion != v {
			resp.Error = fmt.Errorf("%s is stored at schema version %d, want %d", r.Address, r.SchemaVersion, v)
			return
		}
	}
	if seen != len(want) {
		resp.Error = fmt.Errorf("%d of the resources %v are in state", seen, want)
	}
}

// TestAccStateOfSchemaVersion0 applies with the provider as it was before
// schemas had versions, then plans and applies with this one: terraform
// upgrades the stored state through UpgradeResourceState (version 0 to
// the current), finds nothing to change, and stores the current version.
func TestAccStateOfSchemaVersion0(t *testing.T) {
	endpoint := acceptance(t)
	c := cloud{endpoint}
	config := pair{name: "formats", secondary: "us-west-2", hashKey: "id", path: "/healthz", threshold: 3,
		tags: `{ service = "formats" }`, defaultTags: `{ cost-centre = "cc-1" }`}.config(endpoint) + `
resource "meridian_cost_tag_policy" "formats" {
  name          = "formats"
  required_tags = ["service"]
}
`
	policy := "meridian_cost_tag_policy.formats"
	old := map[string]func() (tfprotov6.ProviderServer, error){
		"meridian": func() (tfprotov6.ProviderServer, error) {
			s, err := providerFactories["meridian"]()
			return version0Server{s}, err
		},
	}
	resource.Test(t, resource.TestCase{
		CheckDestroy: c.checkGone("formats", "us-east-1", "us-west-2"),
		Steps: []resource.TestStep{
			{
				ProtoV6ProviderFactories: old,
				Config:                   config,
				ConfigStateChecks:        []statecheck.StateCheck{schemaVersions{addr: 0, policy: 0}},
			},
			{
				ProtoV6ProviderFactories: providerFactories,
				Config:                   config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectEmptyPlan(),
				}},
				ConfigStateChecks: []statecheck.StateCheck{schemaVersions{addr: schemaVersion, policy: schemaVersion}},
			},
		},
	})
}
