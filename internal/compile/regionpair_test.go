package compile

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ with the current output")

var defaultTags = map[string]string{"cost-centre": "cc-42", "env": "prod", "team": "platform"}

func fullActivePassive() blueprint.RegionPair {
	return blueprint.RegionPair{
		Name:            "payments",
		PrimaryRegion:   "us-east-1",
		SecondaryRegion: "us-west-2",
		ObjectStore:     &blueprint.ObjectStore{BucketPrefix: "acme-payments"},
		KVTable:         &blueprint.KVTable{HashKey: "pk"},
		DNS: &blueprint.DNS{
			ZoneName:          "example.com",
			RecordName:        "api",
			PrimaryEndpoint:   "api-use1.example.com",
			SecondaryEndpoint: "api-usw2.example.com",
		},
		// team overrides the default tag; service is new.
		Tags: map[string]string{"team": "payments", "service": "payments"},
	}
}

func TestRegionPairGolden(t *testing.T) {
	tests := []struct {
		golden string
		rp     blueprint.RegionPair
		tags   map[string]string
	}{
		{
			golden: "active_passive_full",
			rp:     fullActivePassive(),
			tags:   defaultTags,
		},
		{
			golden: "active_active_sharded_consistent",
			rp: blueprint.RegionPair{
				Name:                    "ledger",
				PrimaryRegion:           "eu-west-1",
				SecondaryRegion:         "eu-central-1",
				Mode:                    blueprint.ActiveActiveSharded,
				WriteProfile:            blueprint.WriteHeavy,
				GloballyConsistentStore: true,
				ObjectStore:             &blueprint.ObjectStore{BucketPrefix: "acme-ledger", ForceDestroy: true},
				Tags:                    map[string]string{"service": "ledger"},
			},
			tags: defaultTags,
		},
		{
			golden: "dns_existing_zone",
			rp: blueprint.RegionPair{
				Name:            "edge",
				PrimaryRegion:   "ap-southeast-2",
				SecondaryRegion: "ap-northeast-1",
				DNS: &blueprint.DNS{
					ZoneName:          "example.org.",
					ZoneID:            "Z0EXISTING123",
					RecordName:        "edge",
					PrimaryEndpoint:   "edge-syd.example.org",
					SecondaryEndpoint: "edge-tyo.example.org",
					TTL:               30,
					HealthCheck:       blueprint.HealthCheck{Protocol: "TCP", Port: 8443, Interval: 10, FailureThreshold: 2},
				},
			},
			tags: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			// The blueprint as written: compile applies the defaults, and the
			// manifest records what was written.
			g, err := RegionPair(tt.rp, tt.tags)
			if err != nil {
				t.Fatalf("RegionPair() error = %v", err)
			}
			got, err := json.MarshalIndent(g, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
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
			if !bytes.Equal(got, want) {
				t.Errorf("compiled graph differs from %s (run with -update if the change is intended):\n%s", path, lineDiff(string(want), string(got)))
			}
			// The golden file must describe a graph the engine can order.
			var back primitive.Graph
			if err := json.Unmarshal(want, &back); err != nil {
				t.Fatalf("golden is not a graph: %v", err)
			}
			if err := back.Check(); err != nil {
				t.Errorf("golden graph: %v", err)
			}
		})
	}
}

// lineDiff shows the first lines that differ, enough to find the change.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 20; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("line " + itoa(i+1) + ":\n  want: " + wl + "\n  got:  " + gl + "\n")
			shown++
		}
	}
	return b.String()
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func byName(g primitive.Graph) map[string]primitive.Primitive {
	out := map[string]primitive.Primitive{}
	for _, p := range g.Primitives {
		out[p.Name] = p
	}
	return out
}

func names(g primitive.Graph) []string {
	var out []string
	for _, p := range g.Primitives {
		out = append(out, p.Name)
	}
	return out
}

// TestRegionPairShape checks the facts the golden files hold, independently
// of them, so that a wrong golden written by -update still fails.
func TestRegionPairShape(t *testing.T) {
	t.Run("active passive", func(t *testing.T) {
		g, err := RegionPair(fullActivePassive().WithDefaults(), defaultTags)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{
			"aws_dynamodb_table.kv", "aws_dynamodb_table_replica.kv",
			"aws_iam_role.replication", "aws_iam_role_policy.replication",
			"aws_route53_health_check.primary", "aws_route53_record.primary", "aws_route53_record.secondary",
			"aws_route53_zone.dns",
			"aws_s3_bucket.primary", "aws_s3_bucket.secondary",
			"aws_s3_bucket_replication.primary",
			"aws_ssm_parameter.manifest",
		}
		if got := names(g); !reflect.DeepEqual(got, want) {
			t.Errorf("primitives = %q, want %q", got, want)
		}
		ps := byName(g)
		if p := ps["aws_s3_bucket.secondary"]; p.Region != "us-west-2" || p.Properties["bucket"] != "acme-payments-us-west-2" {
			t.Errorf("secondary bucket = %+v", p)
		}
		repl := ps["aws_s3_bucket_replication.primary"]
		if repl.Region != "us-east-1" ||
			repl.Properties["bucket"] != "${aws_s3_bucket.primary.bucket}" ||
			repl.Properties["destination_bucket_arn"] != "${aws_s3_bucket.secondary.arn}" {
			t.Errorf("replication = %+v, want primary -> secondary in us-east-1", repl)
		}
		if deps := repl.Dependencies(); !reflect.DeepEqual(deps, []string{"aws_iam_role.replication", "aws_iam_role_policy.replication", "aws_s3_bucket.primary", "aws_s3_bucket.secondary"}) {
			t.Errorf("replication dependencies = %q", deps)
		}
		if r := ps["aws_dynamodb_table_replica.kv"]; r.Region != "us-west-2" || r.Properties["table_region"] != "us-east-1" {
			t.Errorf("replica = %+v", r)
		}
		if tbl := ps["aws_dynamodb_table.kv"]; tbl.Properties["table_name"] != "payments" {
			t.Errorf("table name = %v, want the pair's name by default", tbl.Properties["table_name"])
		}
		primary, secondary := ps["aws_route53_record.primary"], ps["aws_route53_record.secondary"]
		if primary.Properties["zone_id"] != "${aws_route53_zone.dns.zone_id}" || primary.Properties["failover"] != "PRIMARY" ||
			primary.Properties["health_check_id"] != "${aws_route53_health_check.primary.id}" ||
			primary.Properties["name"] != "api.example.com" {
			t.Errorf("primary record = %+v", primary)
		}
		if _, has := secondary.Properties["health_check_id"]; has || secondary.Properties["failover"] != "SECONDARY" {
			t.Errorf("secondary record = %+v, want SECONDARY without a health check", secondary)
		}
		hc := ps["aws_route53_health_check.primary"]
		if hc.Properties["fqdn"] != "api-use1.example.com" || hc.Properties["port"] != float64(443) ||
			hc.Properties["resource_path"] != "/health" || hc.Properties["request_interval"] != float64(30) {
			t.Errorf("health check = %+v", hc)
		}
	})
	t.Run("active active sharded replicates both ways", func(t *testing.T) {
		rp := fullActivePassive()
		rp.Mode, rp.WriteProfile, rp.GloballyConsistentStore = blueprint.ActiveActiveSharded, blueprint.WriteHeavy, true
		g, err := RegionPair(rp.WithDefaults(), nil)
		if err != nil {
			t.Fatal(err)
		}
		ps := byName(g)
		for _, tc := range []struct{ name, region, from, to string }{
			{"aws_s3_bucket_replication.primary", "us-east-1", "aws_s3_bucket.primary", "aws_s3_bucket.secondary"},
			{"aws_s3_bucket_replication.secondary", "us-west-2", "aws_s3_bucket.secondary", "aws_s3_bucket.primary"},
		} {
			p, ok := ps[tc.name]
			if !ok {
				t.Errorf("no %s in %q", tc.name, names(g))
				continue
			}
			if p.Region != tc.region || p.Properties["bucket"] != primitive.Ref(tc.from, "bucket") ||
				p.Properties["destination_bucket_arn"] != primitive.Ref(tc.to, "arn") {
				t.Errorf("%s = %+v, want %s -> %s in %s", tc.name, p, tc.from, tc.to, tc.region)
			}
		}
	})
	t.Run("active passive replicates one way", func(t *testing.T) {
		g, err := RegionPair(fullActivePassive().WithDefaults(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := byName(g)["aws_s3_bucket_replication.secondary"]; ok {
			t.Errorf("active-passive pair replicates secondary -> primary")
		}
	})
	t.Run("existing zone id", func(t *testing.T) {
		rp := fullActivePassive()
		rp.ObjectStore, rp.KVTable = nil, nil
		rp.DNS.ZoneID = "Z0EXISTING"
		g, err := RegionPair(rp.WithDefaults(), nil)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"aws_route53_health_check.primary", "aws_route53_record.primary", "aws_route53_record.secondary", "aws_ssm_parameter.manifest"}
		if got := names(g); !reflect.DeepEqual(got, want) {
			t.Errorf("primitives = %q, want %q (no zone)", got, want)
		}
		for _, n := range []string{"aws_route53_record.primary", "aws_route53_record.secondary"} {
			if z := byName(g)[n].Properties["zone_id"]; z != "Z0EXISTING" {
				t.Errorf("%s zone_id = %v, want the given zone", n, z)
			}
		}
	})
}

func TestRegionPairTags(t *testing.T) {
	rp := fullActivePassive()
	// The user may not set a derived tag.
	rp.Tags = map[string]string{"team": "payments", TagRegionRole: "forged"}
	if _, err := RegionPair(rp, nil); err == nil || !strings.Contains(err.Error(), "Reserved tag key") {
		t.Fatalf("RegionPair with a meridian: tag: error = %v, want Reserved tag key", err)
	}
	rp.Tags = map[string]string{"team": "payments", "service": "payments"}
	g, err := RegionPair(rp.WithDefaults(), map[string]string{"team": "platform", "env": "prod"})
	if err != nil {
		t.Fatal(err)
	}
	wantRole := map[string]string{
		"aws_s3_bucket.primary":            "primary",
		"aws_s3_bucket.secondary":          "secondary",
		"aws_dynamodb_table.kv":            "primary",
		"aws_route53_health_check.primary": "primary",
		"aws_iam_role.replication":         "",
		"aws_route53_zone.dns":             "",
		"aws_ssm_parameter.manifest":       "primary",
	}
	for _, p := range g.Primitives {
		if !Taggable(p.Type) {
			if p.Tags != nil {
				t.Errorf("%s (%s) is untaggable but has tags %v", p.Name, p.Type, p.Tags)
			}
			continue
		}
		role, ok := wantRole[p.Name]
		if !ok {
			t.Errorf("unexpected taggable primitive %s", p.Name)
			continue
		}
		want := map[string]string{
			"env":       "prod",                          // default only
			"team":      "payments",                      // resource beats default
			"service":   "payments",                      // resource only
			TagResource: "meridian_region_pair.payments", // derived beats resource
		}
		if role != "" { // a global primitive has no region role
			want[TagRegionRole] = role
		}
		if !reflect.DeepEqual(p.Tags, want) {
			t.Errorf("%s tags = %v, want %v", p.Name, p.Tags, want)
		}
	}
	for _, typ := range []string{primitive.S3BucketReplication, primitive.IAMRolePolicy, primitive.DynamoDBReplica, primitive.Route53Record} {
		if Taggable(typ) {
			t.Errorf("Taggable(%s) = true", typ)
		}
	}
	for _, typ := range []string{primitive.S3Bucket, primitive.IAMRole, primitive.DynamoDBTable, primitive.Route53Zone, primitive.Route53HealthCheck} {
		if !Taggable(typ) {
			t.Errorf("Taggable(%s) = false", typ)
		}
	}
}

func TestRegionPairDoesNotShareTagMaps(t *testing.T) {
	defaults := map[string]string{"env": "prod"}
	rp := fullActivePassive()
	g, err := RegionPair(rp.WithDefaults(), defaults)
	if err != nil {
		t.Fatal(err)
	}
	ps := byName(g)
	ps["aws_s3_bucket.primary"].Tags["env"] = "changed"
	if ps["aws_s3_bucket.secondary"].Tags["env"] != "prod" {
		t.Errorf("primitives share one tag map")
	}
	if defaults["env"] != "prod" || len(defaults) != 1 {
		t.Errorf("compile modified the default tags: %v", defaults)
	}
	if rp.Tags[TagResource] != "" {
		t.Errorf("compile modified the blueprint's tags: %v", rp.Tags)
	}
}

func TestRegionPairIsDeterministic(t *testing.T) {
	first, err := RegionPair(fullActivePassive().WithDefaults(), defaultTags)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(first)
	for range 10 {
		again, err := RegionPair(fullActivePassive().WithDefaults(), defaultTags)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(again)
		if !bytes.Equal(a, b) {
			t.Fatalf("compile is not deterministic:\n%s\n%s", a, b)
		}
	}
}

func TestRegionPairRefusesInvalid(t *testing.T) {
	tests := []struct {
		desc      string
		mutate    func(*blueprint.RegionPair)
		wantPath  string
		wantInErr string
	}{
		{"split brain", func(rp *blueprint.RegionPair) {
			rp.Mode, rp.WriteProfile = blueprint.ActiveActiveSharded, blueprint.WriteHeavy
		}, "mode", "Split brain"},
		{"same region", func(rp *blueprint.RegionPair) { rp.SecondaryRegion = rp.PrimaryRegion }, "secondary_region", "same"},
		{"bad interval", func(rp *blueprint.RegionPair) { rp.DNS.HealthCheck.Interval = 15 }, "dns.health_check.interval", "interval"},
		{"empty", func(rp *blueprint.RegionPair) { rp.ObjectStore, rp.KVTable, rp.DNS = nil, nil, nil }, "name", "Empty region pair"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			rp := fullActivePassive().WithDefaults()
			tt.mutate(&rp)
			g, err := RegionPair(rp, defaultTags)
			if err == nil {
				t.Fatalf("RegionPair() = %d primitives, want an error", len(g.Primitives))
			}
			var p blueprint.Problem
			if !errors.As(err, &p) {
				t.Fatalf("error %v (%T) is not a blueprint.Problem", err, err)
			}
			if p.Paths[0] != tt.wantPath || !strings.Contains(err.Error(), tt.wantInErr) {
				t.Errorf("error = %v at %q, want %q at %q", err, p.Paths[0], tt.wantInErr, tt.wantPath)
			}
			if len(g.Primitives) != 0 {
				t.Errorf("an invalid blueprint compiled to %d primitives", len(g.Primitives))
			}
		})
	}
}

// TestRegionPairAppliesDefaults checks that a blueprint as written compiles
// to the same primitives as the same blueprint with its defaults filled in,
// the manifest aside, which records the blueprint as written.
func TestRegionPairAppliesDefaults(t *testing.T) {
	written := fullActivePassive()
	a, err := RegionPair(written, defaultTags)
	if err != nil {
		t.Fatal(err)
	}
	b, err := RegionPair(written.WithDefaults(), defaultTags)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(names(a), names(b)) {
		t.Fatalf("primitives differ: %q vs %q", names(a), names(b))
	}
	for i := range a.Primitives {
		if a.Primitives[i].Name == Manifest {
			continue
		}
		if !reflect.DeepEqual(a.Primitives[i], b.Primitives[i]) {
			t.Errorf("%s differs:\n%+v\n%+v", a.Primitives[i].Name, a.Primitives[i], b.Primitives[i])
		}
	}
	hc := byName(a)["aws_route53_health_check.primary"].Properties
	if hc["request_interval"] != float64(blueprint.DefaultInterval) || hc["failure_threshold"] != float64(blueprint.DefaultFailureThreshold) {
		t.Errorf("health check = %v, want the default interval and threshold", hc)
	}
}

func TestRegionPairManifest(t *testing.T) {
	written := fullActivePassive()
	g, err := RegionPair(written, defaultTags)
	if err != nil {
		t.Fatal(err)
	}
	ps := byName(g)
	m, ok := ps[Manifest]
	if !ok {
		t.Fatalf("no %s in %q", Manifest, names(g))
	}
	if m.Type != primitive.SSMParameter || m.Region != written.PrimaryRegion || m.Properties["name"] != ManifestName(written.Name) ||
		ManifestName("payments") != "/meridian/region_pair/payments" {
		t.Errorf("manifest = %+v", m)
	}
	value, _ := m.Properties["value"].(map[string]any)
	if value["kind"] != "meridian_region_pair" {
		t.Errorf("manifest kind = %v", value["kind"])
	}
	// The blueprint is recorded as written and stated (mode and write
	// profile filled in, as terraform's schema does), so that import gives
	// back what the user wrote, the same for terraform and stacks.
	bp, _ := json.Marshal(value["blueprint"])
	var back blueprint.RegionPair
	if err := json.Unmarshal(bp, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, written.Stated()) || back.Mode == "" {
		t.Errorf("manifest blueprint = %+v, want %+v", back, written.Stated())
	}
	ids, _ := value["ids"].(map[string]any)
	var others []string
	for _, p := range g.Primitives {
		if p.Name == Manifest {
			continue
		}
		others = append(others, p.Name)
		if ids[p.Name] != primitive.Ref(p.Name, "id") {
			t.Errorf("manifest ids[%s] = %v, want %s", p.Name, ids[p.Name], primitive.Ref(p.Name, "id"))
		}
	}
	if len(ids) != len(others) {
		t.Errorf("manifest has %d ids, graph has %d other primitives", len(ids), len(others))
	}
	// So the manifest is written last, once every id is known.
	if deps := m.Dependencies(); !reflect.DeepEqual(deps, others) {
		t.Errorf("manifest depends on %q, want %q", deps, others)
	}
}
