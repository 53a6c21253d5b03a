package stack

import (
	"os"
	"strings"
	"testing"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
)

func TestParseTwoPairs(t *testing.T) {
	st, diags := LoadDir("testdata", map[string]string{"aws_endpoint": "http://127.0.0.1:5000"})
	if diags.HasErrors() {
		t.Fatal(FormatDiagnostics(diags))
	}
	if st.AWS.Endpoint != "http://127.0.0.1:5000" || !st.AWS.S3UsePathStyle || st.AWS.AccessKey != "test" {
		t.Errorf("aws: %+v", st.AWS)
	}
	if st.Parallelism != 20 || st.DefaultTags["cost-centre"] != "cc-1234" {
		t.Errorf("provider: %d %v", st.Parallelism, st.DefaultTags)
	}
	if len(st.RegionPairs) != 2 || st.RegionPairs[0].Address() != "meridian_region_pair.checkout" {
		t.Fatalf("pairs: %+v", st.RegionPairs)
	}
	cp := st.RegionPairs[0].Blueprint
	want := blueprint.RegionPair{
		Name: "checkout", PrimaryRegion: "us-east-1", SecondaryRegion: "us-west-2", WriteProfile: "write_heavy",
		ObjectStore: &blueprint.ObjectStore{BucketPrefix: "acme-checkout", ForceDestroy: true},
		KVTable:     &blueprint.KVTable{HashKey: "order_id"},
		DNS: &blueprint.DNS{ZoneName: "checkout.example.com", RecordName: "api",
			PrimaryEndpoint: "api-use1.checkout.example.com", SecondaryEndpoint: "api-usw2.checkout.example.com",
			HealthCheck: blueprint.HealthCheck{Path: "/healthz", Interval: 10}},
		Tags: map[string]string{"service": "checkout"},
	}
	if got, w := jsonOf(cp), jsonOf(want); got != w {
		t.Errorf("blueprint:\n got %s\nwant %s", got, w)
	}
	if len(st.Outputs) != 1 || st.Outputs[0].Name != "fqdn" {
		t.Errorf("outputs: %+v", st.Outputs)
	}

	g, err := st.Graph()
	if err != nil {
		t.Fatal(err)
	}
	// 12 primitives for the full pair, 3 for the table-only one.
	if len(g.Primitives) != 15 {
		t.Fatalf("%d primitives", len(g.Primitives))
	}
	names := map[string]bool{}
	for _, p := range g.Primitives {
		names[p.Name] = true
		if !strings.HasPrefix(p.Name, "checkout/") && !strings.HasPrefix(p.Name, "search/") {
			t.Errorf("primitive %s is not named after its pair", p.Name)
		}
		for _, d := range p.Dependencies() {
			if strings.SplitN(d, "/", 2)[0] != strings.SplitN(p.Name, "/", 2)[0] {
				t.Errorf("%s depends on %s of another pair", p.Name, d)
			}
		}
	}
	if !names["checkout/aws_route53_record.primary"] || !names["search/aws_ssm_parameter.manifest"] {
		t.Errorf("names: %v", names)
	}
}

func TestDiagnostics(t *testing.T) {
	base := `resource "meridian_region_pair" "p" {
  name             = "pay"
  primary_region   = "us-east-1"
  secondary_region = "us-west-2"
%s
}
`
	cases := []struct {
		name, body string
		// want are substrings of the formatted diagnostics.
		want []string
	}{
		{"rule broken at a written attribute", `  dns {
    zone_name          = "x.example.com"
    record_name        = "api"
    primary_endpoint   = "a.example.com"
    secondary_endpoint = "b.example.com"
    health_check {
      interval = 15
    }
  }`, []string{"stack.tf:11,", "meridian_region_pair.p: dns.health_check.interval", "Route 53 checks every 10 or 30 seconds"}},
		{"missing required argument in a block", "  kv_table {\n  }", []string{"stack.tf:5,", "Missing required argument", "meridian_region_pair.p: kv_table.hash_key is required"}},
		{"unknown attribute", "  kv_table {\n    hash_key = \"k\"\n    colour = \"red\"\n  }", []string{"stack.tf:7,", "Unsupported argument", "colour"}},
		{"wrong type", "  kv_table {\n    hash_key = \"k\"\n  }\n  globally_consistent_store = [1]", []string{"stack.tf:8,", "meridian_region_pair.p: globally_consistent_store: bool required"}},
		{"duplicate block", "  kv_table {\n    hash_key = \"k\"\n  }\n  kv_table {\n    hash_key = \"j\"\n  }", []string{"stack.tf:8,", "Duplicate kv_table block"}},
		{"split brain", "  mode = \"active_active_sharded\"\n  write_profile = \"write_heavy\"\n  kv_table {\n    hash_key = \"k\"\n  }", []string{"stack.tf:5,", "Split brain", "meridian_region_pair.p: mode"}},
		{"empty pair at the resource", "", []string{"stack.tf:2,", "Empty region pair", "meridian_region_pair.p: name"}},
		{"workload without a cluster", "  workload {\n    image = \"orders:1\"\n  }", []string{"stack.tf:5,", "No cluster for the region", "meridian_region_pair.p: the workload runs in us-east-1", `region = "us-west-2"`}},
		{"workload without an image", "  workload {\n  }", []string{"stack.tf:5,", "meridian_region_pair.p: workload.image is required"}},
		{"volume without a size", "  workload {\n    image = \"orders:1\"\n    volume {\n    }\n  }", []string{"stack.tf:7,", "meridian_region_pair.p: workload.volume.size is required"}},
		{"ports not numbers", "  workload {\n    image = \"orders:1\"\n    ports = [\"http\"]\n  }", []string{"stack.tf:7,", "meridian_region_pair.p: workload.ports: list of number required"}},
		// Issue 13: a number for a string is a type error, not "42".
		{"number for a string", "  kv_table {\n    hash_key = 42\n  }", []string{"stack.tf:6,", "meridian_region_pair.p: kv_table.hash_key: string required, got number"}},
		{"bool for a string", "  mode = true\n  kv_table {\n    hash_key = \"k\"\n  }", []string{"stack.tf:5,", "meridian_region_pair.p: mode: string required, got bool"}},
		{"undefined variable", "  kv_table {\n    hash_key = var.nope\n  }", []string{"stack.tf:6,", "meridian_region_pair.p: kv_table.hash_key", "\"nope\""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := strings.Replace(base, "%s", c.body, 1)
			_, diags := Parse(map[string][]byte{"stack.tf": []byte(src)}, nil)
			if !diags.HasErrors() {
				t.Fatalf("no error for:\n%s", src)
			}
			out := FormatDiagnostics(diags)
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("diagnostics lack %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestStackLevelErrors(t *testing.T) {
	src := `provider "aws" {}
provider "meridian" { parallelism = 0 }
resource "aws_s3_bucket" "b" {}
resource "meridian_region_pair" "a" {
  name = "abc"
  primary_region = "us-east-1"
  secondary_region = "us-west-2"
  kv_table { hash_key = "k" }
}
resource "meridian_region_pair" "b" {
  name = "abc"
  primary_region = "us-east-1"
  secondary_region = "us-west-2"
  kv_table { hash_key = "k" }
}
variable "needed" {}
`
	_, diags := Parse(map[string][]byte{"s.tf": []byte(src)}, map[string]string{"other": "x"})
	out := FormatDiagnostics(diags)
	for _, w := range []string{"s.tf:1,", "Unsupported provider", "s.tf:2,", "parallelism must be 1 or more", "s.tf:3,", "Unsupported resource type",
		"s.tf:10,", "Duplicate region pair name", "No value for required variable", "Undeclared variable"} {
		if !strings.Contains(out, w) {
			t.Errorf("diagnostics lack %q:\n%s", w, out)
		}
	}
}

func TestQuickstartExampleParses(t *testing.T) {
	// The terraform quickstart is a valid stack as it is.
	if _, err := os.Stat("../../examples/quickstart/main.tf"); err != nil {
		t.Skip("no quickstart example")
	}
	st, diags := LoadDir("../../examples/quickstart", nil)
	if diags.HasErrors() {
		t.Fatal(FormatDiagnostics(diags))
	}
	if len(st.RegionPairs) != 1 {
		t.Fatalf("%d pairs", len(st.RegionPairs))
	}
}

func TestOutputs(t *testing.T) {
	st, diags := LoadDir("testdata", nil)
	if diags.HasErrors() {
		t.Fatal(FormatDiagnostics(diags))
	}
	out, diags := st.OutputValues()
	if diags.HasErrors() {
		t.Fatal(FormatDiagnostics(diags))
	}
	if out["fqdn"] != "api.checkout.example.com" {
		t.Fatalf("outputs %v", out)
	}
}

func TestFormatParsesBack(t *testing.T) {
	st, diags := LoadDir("testdata", nil)
	if diags.HasErrors() {
		t.Fatal(FormatDiagnostics(diags))
	}
	for _, rp := range st.RegionPairs {
		src := Format(rp.Blueprint)
		back, diags := Parse(map[string][]byte{"f.tf": []byte(src)}, nil)
		if diags.HasErrors() {
			t.Fatalf("%s\n%s", src, FormatDiagnostics(diags))
		}
		if got, want := jsonOf(back.RegionPairs[0].Blueprint), jsonOf(rp.Blueprint); got != want {
			t.Errorf("round trip:\n got %s\nwant %s", got, want)
		}
	}
}

func TestKubernetesAndWorkload(t *testing.T) {
	src := `provider "meridian" {
  kubernetes {
    cluster {
      region     = "us-east-1"
      kubeconfig = "/tmp/kubeconfig"
      context    = "region-a"
    }
    cluster {
      region                 = "us-west-2"
      host                   = "https://127.0.0.1:6443"
      token                  = "t0ken"
      cluster_ca_certificate = "PEM"
    }
  }
}
resource "meridian_region_pair" "orders" {
  name             = "orders"
  primary_region   = "us-east-1"
  secondary_region = "us-west-2"
  workload {
    image    = "orders:3"
    replicas = 3
    ports    = [8080, 9090]
    env      = { LOG = "debug" }
    volume {
      size = "1Gi"
    }
  }
}
`
	st, diags := Parse(map[string][]byte{"s.tf": []byte(src)}, nil)
	if diags.HasErrors() {
		t.Fatal(FormatDiagnostics(diags))
	}
	a, b := st.Kubernetes["us-east-1"], st.Kubernetes["us-west-2"]
	if len(st.Kubernetes) != 2 || a.Kubeconfig != "/tmp/kubeconfig" || a.Context != "region-a" || b.Host != "https://127.0.0.1:6443" || b.Token != "t0ken" || string(b.CAData) != "PEM" {
		t.Errorf("clusters: %+v", st.Kubernetes)
	}
	want := blueprint.Workload{Image: "orders:3", Replicas: 3, Ports: []int{8080, 9090}, Env: map[string]string{"LOG": "debug"}, Volume: &blueprint.Volume{Size: "1Gi"}}
	if got := st.RegionPairs[0].Blueprint.Workload; got == nil || jsonOf(*got) != jsonOf(want) {
		t.Fatalf("workload %+v, want %+v", got, want)
	}
	g, err := st.Graph()
	if err != nil {
		t.Fatal(err)
	}
	deployments := map[string]bool{}
	for _, p := range g.Primitives {
		if p.Type == "k8s_deployment" {
			deployments[p.Region] = true
		}
	}
	if !deployments["us-east-1"] || !deployments["us-west-2"] {
		t.Errorf("deployments in %v, want one in each region", deployments)
	}
	back, diags := Parse(map[string][]byte{"f.tf": []byte(src[:strings.Index(src, "resource")] + Format(st.RegionPairs[0].Blueprint))}, nil)
	if diags.HasErrors() {
		t.Fatalf("%s\n%s", Format(st.RegionPairs[0].Blueprint), FormatDiagnostics(diags))
	}
	if got := jsonOf(back.RegionPairs[0].Blueprint); got != jsonOf(st.RegionPairs[0].Blueprint) {
		t.Errorf("round trip:\n got %s\nwant %s", got, jsonOf(st.RegionPairs[0].Blueprint))
	}
}

func TestKubernetesErrors(t *testing.T) {
	src := `provider "meridian" {
  kubernetes {
    cluster {
      region     = "us-east-1"
      kubeconfig = "k"
      host       = "https://h"
    }
    cluster {
      region = "us-west-2"
    }
    cluster {
      region     = "us-west-2"
      kubeconfig = "k"
    }
    cluster {
      kubeconfig = "k"
    }
  }
}
`
	_, diags := Parse(map[string][]byte{"s.tf": []byte(src)}, nil)
	out := FormatDiagnostics(diags)
	for _, w := range []string{
		"s.tf:3,", `provider "meridian": kubernetes.cluster[0]: set either kubeconfig (and context) or host`,
		"s.tf:8,", "kubernetes.cluster[1]: set either",
		"s.tf:11,", "Duplicate cluster", `kubernetes.cluster[2]: region "us-west-2" already has the cluster at s.tf:8`,
		"s.tf:15,", `Missing required argument`, `"region" is required`,
	} {
		if !strings.Contains(out, w) {
			t.Errorf("diagnostics lack %q:\n%s", w, out)
		}
	}
}
