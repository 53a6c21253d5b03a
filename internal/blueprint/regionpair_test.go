package blueprint

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// valid returns a region pair with every part declared that passes Validate
// once defaults are applied; table cases break one rule each.
func valid() RegionPair {
	return RegionPair{
		Name:            "payments",
		PrimaryRegion:   "us-east-1",
		SecondaryRegion: "us-west-2",
		ObjectStore:     &ObjectStore{BucketPrefix: "acme-payments"},
		KVTable:         &KVTable{HashKey: "pk"},
		DNS: &DNS{
			ZoneName:          "example.com",
			RecordName:        "api",
			PrimaryEndpoint:   "api-use1.example.com",
			SecondaryEndpoint: "api-usw2.example.com",
		},
		Tags: map[string]string{"team": "payments"},
	}
}

func TestWithDefaults(t *testing.T) {
	tests := []struct {
		desc string
		in   RegionPair
		want RegionPair
	}{
		{
			desc: "nothing optional set",
			in:   RegionPair{Name: "svc", KVTable: &KVTable{HashKey: "pk"}, DNS: &DNS{ZoneName: "z.com"}},
			want: RegionPair{
				Name: "svc", Mode: ActivePassive, WriteProfile: ReadHeavy,
				KVTable: &KVTable{Name: "svc", HashKey: "pk"},
				DNS: &DNS{ZoneName: "z.com", TTL: 60, HealthCheck: HealthCheck{
					Protocol: "HTTPS", Port: 443, Path: "/health", Interval: 30, FailureThreshold: 3,
				}},
			},
		},
		{
			desc: "no parts: only mode and write profile",
			in:   RegionPair{Name: "svc"},
			want: RegionPair{Name: "svc", Mode: ActivePassive, WriteProfile: ReadHeavy},
		},
		{
			desc: "everything set is kept",
			in: RegionPair{
				Name: "svc", Mode: ActiveActiveSharded, WriteProfile: WriteHeavy,
				KVTable: &KVTable{Name: "orders", HashKey: "id"},
				DNS: &DNS{TTL: 5, HealthCheck: HealthCheck{
					Protocol: "HTTP", Port: 8080, Path: "/ready", Interval: 10, FailureThreshold: 7,
				}},
			},
			want: RegionPair{
				Name: "svc", Mode: ActiveActiveSharded, WriteProfile: WriteHeavy,
				KVTable: &KVTable{Name: "orders", HashKey: "id"},
				DNS: &DNS{TTL: 5, HealthCheck: HealthCheck{
					Protocol: "HTTP", Port: 8080, Path: "/ready", Interval: 10, FailureThreshold: 7,
				}},
			},
		},
		{
			desc: "HTTP defaults to port 80",
			in:   RegionPair{Name: "svc", DNS: &DNS{HealthCheck: HealthCheck{Protocol: "HTTP"}}},
			want: RegionPair{Name: "svc", Mode: ActivePassive, WriteProfile: ReadHeavy, DNS: &DNS{TTL: 60, HealthCheck: HealthCheck{
				Protocol: "HTTP", Port: 80, Path: "/health", Interval: 30, FailureThreshold: 3,
			}}},
		},
		{
			desc: "TCP defaults to port 80 and no path",
			in:   RegionPair{Name: "svc", DNS: &DNS{HealthCheck: HealthCheck{Protocol: "TCP"}}},
			want: RegionPair{Name: "svc", Mode: ActivePassive, WriteProfile: ReadHeavy, DNS: &DNS{TTL: 60, HealthCheck: HealthCheck{
				Protocol: "TCP", Port: 80, Path: "", Interval: 30, FailureThreshold: 3,
			}}},
		},
		{
			desc: "HTTPS with an explicit path keeps it",
			in:   RegionPair{Name: "svc", DNS: &DNS{HealthCheck: HealthCheck{Path: "/z"}}},
			want: RegionPair{Name: "svc", Mode: ActivePassive, WriteProfile: ReadHeavy, DNS: &DNS{TTL: 60, HealthCheck: HealthCheck{
				Protocol: "HTTPS", Port: 443, Path: "/z", Interval: 30, FailureThreshold: 3,
			}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got := tt.in.WithDefaults()
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("WithDefaults() =\n%s\nwant\n%s", dump(got), dump(tt.want))
			}
			// Defaults are a fixed point.
			if again := got.WithDefaults(); !reflect.DeepEqual(again, got) {
				t.Errorf("WithDefaults is not idempotent:\n%s\nthen\n%s", dump(got), dump(again))
			}
		})
	}
}

func dump(rp RegionPair) string {
	out := fmt.Sprintf("%+v", rp)
	if rp.KVTable != nil {
		out += fmt.Sprintf("\n  kv_table: %+v", *rp.KVTable)
	}
	if rp.DNS != nil {
		out += fmt.Sprintf("\n  dns: %+v", *rp.DNS)
	}
	return out
}

func TestWithDefaultsDoesNotModifyTheReceiver(t *testing.T) {
	kv := &KVTable{HashKey: "pk"}
	dns := &DNS{ZoneName: "z.com"}
	rp := RegionPair{Name: "svc", KVTable: kv, DNS: dns}
	_ = rp.WithDefaults()
	if kv.Name != "" {
		t.Errorf("WithDefaults wrote into the caller's KVTable: %+v", *kv)
	}
	if dns.TTL != 0 || dns.HealthCheck != (HealthCheck{}) {
		t.Errorf("WithDefaults wrote into the caller's DNS: %+v", *dns)
	}
	if rp.Mode != "" || rp.WriteProfile != "" {
		t.Errorf("WithDefaults changed its receiver: %+v", rp)
	}
}

func TestValidateAcceptsValid(t *testing.T) {
	tests := []struct {
		desc   string
		mutate func(*RegionPair)
	}{
		{"everything", func(*RegionPair) {}},
		{"only an object store", func(rp *RegionPair) { rp.KVTable, rp.DNS = nil, nil }},
		{"only a kv table", func(rp *RegionPair) { rp.ObjectStore, rp.DNS = nil, nil }},
		{"only dns", func(rp *RegionPair) { rp.ObjectStore, rp.KVTable = nil, nil }},
		{"sharded read-heavy", func(rp *RegionPair) { rp.Mode = ActiveActiveSharded }},
		{"sharded write-heavy with a globally consistent store", func(rp *RegionPair) {
			rp.Mode, rp.WriteProfile, rp.GloballyConsistentStore = ActiveActiveSharded, WriteHeavy, true
		}},
		{"active-passive write-heavy", func(rp *RegionPair) { rp.WriteProfile = WriteHeavy }},
		{"interval 10", func(rp *RegionPair) { rp.DNS.HealthCheck.Interval = 10 }},
		{"failure threshold 1", func(rp *RegionPair) { rp.DNS.HealthCheck.FailureThreshold = 1 }},
		{"failure threshold 10", func(rp *RegionPair) { rp.DNS.HealthCheck.FailureThreshold = 10 }},
		{"TCP without path", func(rp *RegionPair) { rp.DNS.HealthCheck.Protocol = "TCP" }},
		{"HTTP", func(rp *RegionPair) { rp.DNS.HealthCheck.Protocol = "HTTP" }},
		{"existing zone id", func(rp *RegionPair) { rp.DNS.ZoneID = "Z0123456789" }},
		{"zone name with trailing dot", func(rp *RegionPair) { rp.DNS.ZoneName = "example.com." }},
		{"bucket prefix with dots", func(rp *RegionPair) { rp.ObjectStore.BucketPrefix = "acme.payments-1" }},
		{"bucket prefix at the 63-character limit", func(rp *RegionPair) {
			// 63 = len(prefix) + 1 + len("us-west-2")
			rp.ObjectStore.BucketPrefix = strings.Repeat("a", 63-1-len("us-west-2"))
		}},
		// Not with a kv_table: its name defaults to the pair's, and a table
		// name needs 3 characters.
		{"three-character name", func(rp *RegionPair) { rp.Name = "abc" }},
		{"forty-character name", func(rp *RegionPair) { rp.Name = strings.Repeat("a", 40) }},
		{"explicit table name", func(rp *RegionPair) { rp.KVTable.Name = "Orders_v2.main" }},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			rp := valid()
			tt.mutate(&rp)
			rp = rp.WithDefaults()
			if ps := rp.Validate(); len(ps) != 0 {
				t.Errorf("Validate() = %v, want no problems", ps)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		desc string
		// mutate runs after WithDefaults unless before is set.
		mutate      func(*RegionPair)
		before      bool
		wantPaths   []string // all paths of the only problem
		wantSummary string
		wantDetail  string // a substring of Detail
	}{
		// name
		{desc: "empty name", mutate: func(rp *RegionPair) { rp.Name = "" },
			wantPaths: []string{"name"}, wantSummary: "Missing name"},
		{desc: "uppercase name", mutate: func(rp *RegionPair) { rp.Name = "Payments" },
			wantPaths: []string{"name"}, wantSummary: "Invalid name", wantDetail: `"Payments"`},
		{desc: "name ending in a hyphen", mutate: func(rp *RegionPair) { rp.Name = "pay-" },
			wantPaths: []string{"name"}, wantSummary: "Invalid name"},
		{desc: "one-character name", mutate: func(rp *RegionPair) { rp.Name = "p" },
			wantPaths: []string{"name"}, wantSummary: "Invalid name"},
		{desc: "41-character name", mutate: func(rp *RegionPair) { rp.Name = strings.Repeat("a", 41) },
			wantPaths: []string{"name"}, wantSummary: "Invalid name"},
		// regions
		{desc: "unknown primary region", mutate: func(rp *RegionPair) { rp.PrimaryRegion = "us-east-9" },
			wantPaths: []string{"primary_region"}, wantSummary: "Unknown region", wantDetail: `"us-east-9"`},
		{desc: "unknown secondary region", mutate: func(rp *RegionPair) { rp.SecondaryRegion = "mars-1" },
			wantPaths: []string{"secondary_region"}, wantSummary: "Unknown region", wantDetail: "us-west-2"},
		{desc: "same region", mutate: func(rp *RegionPair) { rp.SecondaryRegion = rp.PrimaryRegion },
			wantPaths: []string{"secondary_region", "primary_region"}, wantSummary: "Primary and secondary region are the same", wantDetail: `"us-east-1"`},
		// mode and write profile
		{desc: "invalid mode", mutate: func(rp *RegionPair) { rp.Mode = "active_active" },
			wantPaths: []string{"mode"}, wantSummary: "Invalid mode", wantDetail: `"active_active"`},
		{desc: "invalid write profile", mutate: func(rp *RegionPair) { rp.WriteProfile = "balanced" },
			wantPaths: []string{"write_profile"}, wantSummary: "Invalid write profile"},
		{desc: "split brain", mutate: func(rp *RegionPair) { rp.Mode, rp.WriteProfile = ActiveActiveSharded, WriteHeavy },
			wantPaths:   []string{"mode", "write_profile", "globally_consistent_store"},
			wantSummary: "Split brain: write-heavy active-active without a globally consistent store",
			wantDetail:  "globally_consistent_store = true"},
		{desc: "split brain with defaults applied after the mode is set", before: true,
			mutate:      func(rp *RegionPair) { rp.Mode, rp.WriteProfile = ActiveActiveSharded, WriteHeavy },
			wantPaths:   []string{"mode", "write_profile", "globally_consistent_store"},
			wantSummary: "Split brain: write-heavy active-active without a globally consistent store"},
		// parts
		{desc: "empty pair", mutate: func(rp *RegionPair) { rp.ObjectStore, rp.KVTable, rp.DNS = nil, nil, nil },
			wantPaths: []string{"name"}, wantSummary: "Empty region pair"},
		// object store
		{desc: "empty bucket prefix", mutate: func(rp *RegionPair) { rp.ObjectStore.BucketPrefix = "" },
			wantPaths: []string{"object_store.bucket_prefix"}, wantSummary: "Invalid bucket prefix"},
		{desc: "uppercase bucket prefix", mutate: func(rp *RegionPair) { rp.ObjectStore.BucketPrefix = "Acme" },
			wantPaths: []string{"object_store.bucket_prefix"}, wantSummary: "Invalid bucket prefix", wantDetail: `"Acme"`},
		{desc: "bucket prefix with underscore", mutate: func(rp *RegionPair) { rp.ObjectStore.BucketPrefix = "acme_pay" },
			wantPaths: []string{"object_store.bucket_prefix"}, wantSummary: "Invalid bucket prefix"},
		{desc: "bucket prefix starting with a hyphen", mutate: func(rp *RegionPair) { rp.ObjectStore.BucketPrefix = "-acme" },
			wantPaths: []string{"object_store.bucket_prefix"}, wantSummary: "Invalid bucket prefix"},
		{desc: "bucket prefix ending with a dot", mutate: func(rp *RegionPair) { rp.ObjectStore.BucketPrefix = "acme." },
			wantPaths: []string{"object_store.bucket_prefix"}, wantSummary: "Invalid bucket prefix"},
		{desc: "bucket prefix with two dots", mutate: func(rp *RegionPair) { rp.ObjectStore.BucketPrefix = "acme..pay" },
			wantPaths: []string{"object_store.bucket_prefix"}, wantSummary: "Invalid bucket prefix"},
		{desc: "bucket prefix one character too long", mutate: func(rp *RegionPair) {
			rp.ObjectStore.BucketPrefix = strings.Repeat("a", 64-1-len("us-west-2"))
		}, wantPaths: []string{"object_store.bucket_prefix"}, wantSummary: "Bucket prefix too long", wantDetail: "makes 64"},
		{desc: "bucket prefix too long for the longer region only", mutate: func(rp *RegionPair) {
			rp.SecondaryRegion = "ap-southeast-2" // 14 characters, primary us-east-1 has 9
			rp.ObjectStore.BucketPrefix = strings.Repeat("b", 63-1-9)
		}, wantPaths: []string{"object_store.bucket_prefix"}, wantSummary: "Bucket prefix too long", wantDetail: "makes 68"},
		// kv table
		{desc: "table name too short", mutate: func(rp *RegionPair) { rp.KVTable.Name = "ab" },
			wantPaths: []string{"kv_table.name"}, wantSummary: "Invalid table name"},
		{desc: "table name with a space", mutate: func(rp *RegionPair) { rp.KVTable.Name = "my table" },
			wantPaths: []string{"kv_table.name"}, wantSummary: "Invalid table name"},
		{desc: "empty hash key", mutate: func(rp *RegionPair) { rp.KVTable.HashKey = "" },
			wantPaths: []string{"kv_table.hash_key"}, wantSummary: "Invalid hash key"},
		{desc: "hash key too long", mutate: func(rp *RegionPair) { rp.KVTable.HashKey = strings.Repeat("k", 256) },
			wantPaths: []string{"kv_table.hash_key"}, wantSummary: "Invalid hash key"},
		// dns
		{desc: "empty zone name", mutate: func(rp *RegionPair) { rp.DNS.ZoneName = "" },
			wantPaths: []string{"dns.zone_name"}, wantSummary: "Invalid zone name"},
		{desc: "zone name with a space", mutate: func(rp *RegionPair) { rp.DNS.ZoneName = "exa mple.com" },
			wantPaths: []string{"dns.zone_name"}, wantSummary: "Invalid zone name"},
		{desc: "empty record name", mutate: func(rp *RegionPair) { rp.DNS.RecordName = "" },
			wantPaths: []string{"dns.record_name"}, wantSummary: "Invalid record name"},
		{desc: "record name with a space", mutate: func(rp *RegionPair) { rp.DNS.RecordName = "a pi" },
			wantPaths: []string{"dns.record_name"}, wantSummary: "Invalid record name"},
		{desc: "bad primary endpoint", mutate: func(rp *RegionPair) { rp.DNS.PrimaryEndpoint = "https://api.example.com" },
			wantPaths: []string{"dns.primary_endpoint"}, wantSummary: "Invalid endpoint"},
		{desc: "bad secondary endpoint", mutate: func(rp *RegionPair) { rp.DNS.SecondaryEndpoint = "api_2.example.com" },
			wantPaths: []string{"dns.secondary_endpoint"}, wantSummary: "Invalid endpoint"},
		{desc: "endpoints equal", mutate: func(rp *RegionPair) { rp.DNS.SecondaryEndpoint = rp.DNS.PrimaryEndpoint },
			wantPaths: []string{"dns.secondary_endpoint", "dns.primary_endpoint"}, wantSummary: "Primary and secondary endpoint are the same",
			wantDetail: `"api-use1.example.com"`},
		{desc: "negative ttl", mutate: func(rp *RegionPair) { rp.DNS.TTL = -1 },
			wantPaths: []string{"dns.ttl"}, wantSummary: "Invalid TTL"},
		{desc: "bad protocol", mutate: func(rp *RegionPair) { rp.DNS.HealthCheck.Protocol = "UDP" },
			wantPaths: []string{"dns.health_check.protocol"}, wantSummary: "Invalid health check protocol", wantDetail: `"UDP"`},
		{desc: "lowercase protocol", mutate: func(rp *RegionPair) { rp.DNS.HealthCheck.Protocol = "https" },
			wantPaths: []string{"dns.health_check.protocol"}, wantSummary: "Invalid health check protocol"},
		{desc: "path on TCP", mutate: func(rp *RegionPair) { rp.DNS.HealthCheck.Protocol = "TCP" }, // defaults left "/health"
			wantPaths: []string{"dns.health_check.path", "dns.health_check.protocol"}, wantSummary: "Path on a TCP health check"},
		{desc: "path on TCP set before defaults", before: true, mutate: func(rp *RegionPair) {
			rp.DNS.HealthCheck.Protocol, rp.DNS.HealthCheck.Path = "TCP", "/x"
		}, wantPaths: []string{"dns.health_check.path", "dns.health_check.protocol"}, wantSummary: "Path on a TCP health check"},
		{desc: "HTTPS path without leading slash", mutate: func(rp *RegionPair) { rp.DNS.HealthCheck.Path = "health" },
			wantPaths: []string{"dns.health_check.path"}, wantSummary: "Invalid health check path", wantDetail: `"health"`},
		{desc: "HTTP path too long", mutate: func(rp *RegionPair) {
			rp.DNS.HealthCheck.Protocol, rp.DNS.HealthCheck.Path = "HTTP", "/"+strings.Repeat("p", 255)
		}, wantPaths: []string{"dns.health_check.path"}, wantSummary: "Invalid health check path"},
		{desc: "port 0", mutate: func(rp *RegionPair) { rp.DNS.HealthCheck.Port = 0 },
			wantPaths: []string{"dns.health_check.port"}, wantSummary: "Invalid health check port"},
		{desc: "port 65536", mutate: func(rp *RegionPair) { rp.DNS.HealthCheck.Port = 65536 },
			wantPaths: []string{"dns.health_check.port"}, wantSummary: "Invalid health check port", wantDetail: "65536"},
		{desc: "interval 20", mutate: func(rp *RegionPair) { rp.DNS.HealthCheck.Interval = 20 },
			wantPaths: []string{"dns.health_check.interval"}, wantSummary: "Health check interval out of AWS limits", wantDetail: "20 is neither"},
		{desc: "interval 60", mutate: func(rp *RegionPair) { rp.DNS.HealthCheck.Interval = 60 },
			wantPaths: []string{"dns.health_check.interval"}, wantSummary: "Health check interval out of AWS limits"},
		{desc: "failure threshold 0 after defaults", mutate: func(rp *RegionPair) { rp.DNS.HealthCheck.FailureThreshold = 0 },
			wantPaths: []string{"dns.health_check.failure_threshold"}, wantSummary: "Health check failure threshold out of AWS limits"},
		{desc: "failure threshold 11", mutate: func(rp *RegionPair) { rp.DNS.HealthCheck.FailureThreshold = 11 },
			wantPaths: []string{"dns.health_check.failure_threshold"}, wantSummary: "Health check failure threshold out of AWS limits", wantDetail: "got 11"},
		{desc: "failure threshold -1", mutate: func(rp *RegionPair) { rp.DNS.HealthCheck.FailureThreshold = -1 },
			wantPaths: []string{"dns.health_check.failure_threshold"}, wantSummary: "Health check failure threshold out of AWS limits"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			rp := valid()
			if tt.before {
				tt.mutate(&rp)
				rp = rp.WithDefaults()
			} else {
				rp = rp.WithDefaults()
				tt.mutate(&rp)
			}
			ps := rp.Validate()
			if len(ps) != 1 {
				t.Fatalf("Validate() = %d problems %v, want exactly one (%s)", len(ps), ps, tt.wantSummary)
			}
			p := ps[0]
			if p.Paths[0] != tt.wantPaths[0] {
				t.Errorf("first path = %q, want %q", p.Paths[0], tt.wantPaths[0])
			}
			if !reflect.DeepEqual(p.Paths, tt.wantPaths) {
				t.Errorf("paths = %q, want %q", p.Paths, tt.wantPaths)
			}
			if p.Summary != tt.wantSummary {
				t.Errorf("summary = %q, want %q", p.Summary, tt.wantSummary)
			}
			if p.Detail == "" || !strings.Contains(p.Detail, tt.wantDetail) {
				t.Errorf("detail = %q, want one containing %q", p.Detail, tt.wantDetail)
			}
			wantErr := tt.wantPaths[0] + ": " + tt.wantSummary + ": " + p.Detail
			if p.Error() != wantErr {
				t.Errorf("Error() = %q, want %q", p.Error(), wantErr)
			}
		})
	}
}

// TestValidateSplitBrainNeedsAllThree pins down the combination that is an
// error and checks that each way out of it passes.
func TestValidateSplitBrainNeedsAllThree(t *testing.T) {
	for _, mode := range []Mode{ActivePassive, ActiveActiveSharded} {
		for _, wp := range []WriteProfile{ReadHeavy, WriteHeavy} {
			for _, gcs := range []bool{false, true} {
				rp := valid()
				rp.Mode, rp.WriteProfile, rp.GloballyConsistentStore = mode, wp, gcs
				ps := rp.WithDefaults().Validate()
				want := mode == ActiveActiveSharded && wp == WriteHeavy && !gcs
				if got := len(ps) == 1 && strings.HasPrefix(ps[0].Summary, "Split brain"); got != want || (!want && len(ps) != 0) {
					t.Errorf("mode=%s write_profile=%s globally_consistent_store=%v: problems %v, want split brain: %v", mode, wp, gcs, ps, want)
				}
			}
		}
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	rp := valid().WithDefaults()
	rp.Name = "BAD"
	rp.PrimaryRegion = "nowhere-1"
	rp.SecondaryRegion = "nowhere-1"
	rp.ObjectStore.BucketPrefix = "UP"
	rp.DNS.HealthCheck.Interval = 15
	rp.DNS.HealthCheck.FailureThreshold = 0
	var got []string
	for _, p := range rp.Validate() {
		got = append(got, p.Paths[0]+"|"+p.Summary)
	}
	want := []string{
		"name|Invalid name",
		"primary_region|Unknown region",
		"secondary_region|Unknown region",
		"secondary_region|Primary and secondary region are the same",
		"object_store.bucket_prefix|Invalid bucket prefix",
		"dns.health_check.interval|Health check interval out of AWS limits",
		"dns.health_check.failure_threshold|Health check failure threshold out of AWS limits",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Validate() =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestValidateEveryProblemHasPaths(t *testing.T) {
	// The zero value breaks many rules at once; Error() must not panic on any.
	for _, rp := range []RegionPair{{}, {DNS: &DNS{}, KVTable: &KVTable{}, ObjectStore: &ObjectStore{}}} {
		for _, p := range rp.Validate() {
			if len(p.Paths) == 0 || p.Paths[0] == "" || p.Summary == "" || p.Detail == "" {
				t.Errorf("incomplete problem %+v", p)
			}
			_ = p.Error()
		}
	}
}

func TestRegions(t *testing.T) {
	rs := Regions()
	if !sort.StringsAreSorted(rs) {
		t.Errorf("Regions() is not sorted: %q", rs)
	}
	for _, r := range []string{"us-east-1", "eu-west-1", "ap-southeast-2"} {
		if !KnownRegion(r) {
			t.Errorf("KnownRegion(%q) = false", r)
		}
	}
	for _, r := range []string{"", "US-EAST-1", "us-east-1a", "global", "us-gov-west-1x"} {
		if KnownRegion(r) {
			t.Errorf("KnownRegion(%q) = true", r)
		}
	}
	for _, r := range rs {
		if !KnownRegion(r) {
			t.Errorf("Regions() lists %q, which KnownRegion rejects", r)
		}
	}
}

func TestFailoverFQDN(t *testing.T) {
	tests := []struct{ record, zone, want string }{
		{"api", "example.com", "api.example.com"},
		{"api", "example.com.", "api.example.com"},
		{"api.", "example.com.", "api.example.com"},
		{"a.b", "example.com", "a.b.example.com"},
	}
	for _, tt := range tests {
		if got := (DNS{RecordName: tt.record, ZoneName: tt.zone}).FailoverFQDN(); got != tt.want {
			t.Errorf("FailoverFQDN(%q, %q) = %q, want %q", tt.record, tt.zone, got, tt.want)
		}
	}
}

// TestPartition: every ARN meridian builds takes its partition from the
// region it is used in, so a pair in China or GovCloud names its buckets and
// policies as AWS does there.
func TestPartition(t *testing.T) {
	tests := []struct{ region, partition string }{
		{"us-east-1", "aws"}, {"eu-west-1", "aws"}, {"", "aws"},
		{"cn-north-1", "aws-cn"}, {"cn-northwest-1", "aws-cn"},
		{"us-gov-west-1", "aws-us-gov"}, {"us-gov-east-1", "aws-us-gov"},
	}
	for _, tt := range tests {
		if got := Partition(tt.region); got != tt.partition {
			t.Errorf("Partition(%q) = %q, want %q", tt.region, got, tt.partition)
		}
		if tt.region != "" && !KnownRegion(tt.region) {
			t.Errorf("KnownRegion(%q) = false", tt.region)
		}
	}
	arns := []struct{ got, want string }{
		{ARN("cn-north-1", "s3", "", "", "b"), "arn:aws-cn:s3:::b"},
		{ARN("us-gov-west-1", "iam", "", "aws", "policy/service-role/P"), "arn:aws-us-gov:iam::aws:policy/service-role/P"},
		{ARN("eu-west-1", "ec2", "eu-west-1", "123456789012", "capacity-reservation/cr-1"), "arn:aws:ec2:eu-west-1:123456789012:capacity-reservation/cr-1"},
	}
	for _, a := range arns {
		if a.got != a.want {
			t.Errorf("ARN = %q, want %q", a.got, a.want)
		}
	}
	rp := valid().WithDefaults()
	rp.PrimaryRegion, rp.SecondaryRegion = "us-east-1", "cn-north-1"
	if ps := rp.Validate(); len(ps) != 1 || ps[0].Summary != "Regions in different partitions" {
		t.Errorf("a pair across partitions: %v", ps)
	}
	rp.PrimaryRegion, rp.SecondaryRegion = "cn-north-1", "cn-northwest-1"
	if ps := rp.Validate(); len(ps) > 0 {
		t.Errorf("a pair in China: %v", ps)
	}
}
