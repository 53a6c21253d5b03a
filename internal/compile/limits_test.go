package compile

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

func TestEncodeManifestFitsSSM(t *testing.T) {
	var demand []float64
	for i := 0; i < 24*14; i++ {
		demand = append(demand, 30+10*float64(i%24)/24)
	}
	g, _, err := Capacity(blueprint.Capacity{
		Name: "web", PrimaryRegion: "us-east-1", SecondaryRegion: "us-west-2",
		InstanceTypes: []string{"m5.large", "m5.xlarge"}, ImageID: "ami-12345678",
		Demand: blueprint.Demand{Values: demand, Start: "2026-09-01T00:00:00Z"},
		Batch:  0.25, Horizon: "7d",
		Kubernetes: &blueprint.CapacityKubernetes{Namespace: "web", CreateNamespace: true},
	}, blueprint.DefaultPrices(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	for _, p := range g.Primitives {
		if p.Type == primitive.SSMParameter {
			doc = p.Properties["value"].(map[string]any)
		}
	}
	raw, _ := json.Marshal(doc)
	value, err := primitive.EncodeManifest(doc)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("capacity manifest: %d bytes of JSON, stored as %d", len(raw), len(value))
	if len(raw) <= primitive.AdvancedParameterSize || len(value) > primitive.StandardParameterSize {
		t.Errorf("a %d-byte manifest is stored as %d bytes; want it over %d as JSON and within %d stored", len(raw), len(value), primitive.AdvancedParameterSize, primitive.StandardParameterSize)
	}
	back, err := primitive.DecodeManifest(value)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := json.Marshal(back); string(got) != string(raw) {
		t.Error("the manifest does not read back as written")
	}

	// Small manifests stay plain JSON, as every manifest written before was.
	small := map[string]any{"kind": "meridian_region_pair", "ids": map[string]any{"a": "b"}}
	if v, err := primitive.EncodeManifest(small); err != nil || !strings.HasPrefix(v, "{") {
		t.Errorf("a small manifest is stored as %q (%v), want plain JSON", v, err)
	}

	// What does not fit 8 KB even compressed is an error.
	noise := make([]byte, 8000)
	_, _ = rand.Read(noise)
	if _, err := primitive.EncodeManifest(map[string]any{"noise": hex.EncodeToString(noise)}); err == nil {
		t.Error("a manifest of 16 KB of random text was accepted")
	}
}

func TestCheckLimits(t *testing.T) {
	prim := func(tags map[string]string) primitive.Graph {
		return primitive.Graph{Primitives: []primitive.Primitive{{Name: "aws_s3_bucket.primary", Type: primitive.S3Bucket, Region: "us-east-1", Tags: tags}}}
	}
	many := func(n int) map[string]string {
		tags := map[string]string{}
		for i := 0; i < n; i++ {
			tags[fmt.Sprintf("tag-%02d", i)] = "v"
		}
		return tags
	}
	for name, tc := range map[string]struct {
		scope string
		tags  map[string]string
		tag   string // the tag a violation must name; "" for none expected
		count bool   // a "Too many tags" violation expected
	}{
		"within the limits":         {"stack", map[string]string{strings.Repeat("k", MaxTagKey): strings.Repeat("v", MaxTagValue)}, "", false},
		"key too long":              {"stack", map[string]string{strings.Repeat("k", MaxTagKey+1): "v"}, strings.Repeat("k", MaxTagKey+1), false},
		"value too long":            {"stack", map[string]string{"env": strings.Repeat("x", 300)}, "env", false},
		"value too long in runes":   {"stack", map[string]string{"env": strings.Repeat("é", MaxTagValue)}, "", false},
		"owner mark too long":       {strings.Repeat("s", 250), nil, engine.OwnerTag, false},
		"48 tags and the two marks": {"stack", many(48), "", false},
		"49 tags and the two marks": {"stack", many(49), "", true},
	} {
		vs := CheckLimits("meridian_region_pair.p", tc.scope, prim(tc.tags))
		named, counted := false, false
		for _, v := range vs {
			if v.Tag == tc.tag && tc.tag != "" && len(v.Primitives) == 1 && v.Primitives[0] == "aws_s3_bucket.primary (aws_s3_bucket)" {
				named = true
			}
			counted = counted || v.Summary == "Too many tags"
		}
		if tc.tag == "" && !tc.count && len(vs) > 0 {
			t.Errorf("%s: unexpected violations %v", name, vs)
		}
		if tc.tag != "" && !named {
			t.Errorf("%s: no violation names tag %q on the bucket: %v", name, tc.tag, vs)
		}
		if tc.count != counted {
			t.Errorf("%s: too many tags reported %v, want %v: %v", name, counted, tc.count, vs)
		}
	}
}

// The manifest is a String parameter anyone allowed to read the account's
// parameters can read: the workload's env values (secrets, often) stay out.
func TestManifestHoldsNoEnvValues(t *testing.T) {
	rp := workloadPair(blueprint.ActivePassive)
	rp.Workload.Env = map[string]string{"DB_PASSWORD": "hunter2-secret"}
	g, err := RegionPair(rp, nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range g.Primitives {
		raw, _ := json.Marshal(p.Properties)
		if p.Type == primitive.SSMParameter {
			found = true
			if strings.Contains(string(raw), "hunter2-secret") {
				t.Errorf("the manifest holds an env value: %s", raw)
			}
		}
	}
	if !found {
		t.Fatal("no manifest")
	}
	if rp.Workload.Env["DB_PASSWORD"] != "hunter2-secret" {
		t.Error("compiling changed the caller's blueprint")
	}
}
