package blueprint

import (
	"strings"
	"testing"
	"time"
)

func drPolicy() DRPolicy {
	return DRPolicy{
		Name: "checkout", RPO: "15m", RTO: "1h",
		RegionPair: RegionPair{Name: "checkout", PrimaryRegion: "us-east-1", SecondaryRegion: "us-west-2",
			ObjectStore: &ObjectStore{BucketPrefix: "acme"}, KVTable: &KVTable{HashKey: "id"}},
		Backup: Backup{Schedule: "rate(1 hour)", CrossRegionCopy: true},
	}.WithDefaults()
}

func TestDRPolicyRules(t *testing.T) {
	tests := []struct {
		desc    string
		mutate  func(*DRPolicy)
		path    string
		summary string
		detail  string
	}{
		{"valid", func(*DRPolicy) {}, "", "", ""},
		{"rpo missing", func(p *DRPolicy) { p.RPO = "" }, "rpo", "Invalid RPO", "required, with a unit"},
		{"rto without unit", func(p *DRPolicy) { p.RTO = "4" }, "rto", "Invalid RTO", `"4" has no unit`},
		{"rpo unknown unit", func(p *DRPolicy) { p.RPO = "15 mins" }, "rpo", "Invalid RPO", "is not a duration"},
		{"impossible rto", func(p *DRPolicy) { p.RTO = "30s" }, "rto", "Impossible RTO", "under a minute"},
		{"swapped", func(p *DRPolicy) { p.RPO, p.RTO = "4d", "15m" }, "rpo", "RPO and RTO look swapped", "more than 60 times"},
		{"no secondary data path", func(p *DRPolicy) { p.RegionPair.ObjectStore, p.RegionPair.KVTable = nil, nil },
			"region_pair", "No secondary data path", "nothing replicates to us-west-2"},
		{"backup looser than rpo, replication too slow", func(p *DRPolicy) { p.RPO = "5m" },
			"backup.schedule", "Backup schedule looser than the RPO", "replication lags up to 15m0s"},
		{"backup looser than rpo, table only replicates in seconds", func(p *DRPolicy) { p.RPO = "5m"; p.RegionPair.ObjectStore = nil },
			"", "", ""},
		{"daily cron looser than rpo", func(p *DRPolicy) { p.RPO = "10m"; p.Backup.Schedule = "cron(0 2 * * ? *)" },
			"backup.schedule", "Backup schedule looser than the RPO", "backups run every 24h0m0s"},
		{"bad schedule", func(p *DRPolicy) { p.Backup.Schedule = "every hour" }, "backup.schedule", "Invalid backup schedule", "not an AWS Backup expression"},
		{"measured restore slower than rto", func(p *DRPolicy) { p.MeasuredRTO = "2h" }, "rto", "RTO shorter than the measured restore", "restored the pair in 2h0m0s"},
		{"retention", func(p *DRPolicy) { p.Backup.RetentionDays = -1 }, "backup.retention_days", "Invalid retention", "at least a day"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			p := drPolicy()
			tt.mutate(&p)
			ps := p.Validate()
			if tt.summary == "" {
				if len(ps) > 0 {
					t.Fatalf("Validate() = %v, want none", ps)
				}
				return
			}
			if len(ps) == 0 {
				t.Fatalf("Validate() found nothing, want %q", tt.summary)
			}
			if ps[0].Paths[0] != tt.path || ps[0].Summary != tt.summary || !strings.Contains(ps[0].Detail, tt.detail) {
				t.Errorf("Validate()[0] = %v %q %q, want %s %q containing %q", ps[0].Paths, ps[0].Summary, ps[0].Detail, tt.path, tt.summary, tt.detail)
			}
		})
	}
}

func TestScheduleInterval(t *testing.T) {
	tests := []struct {
		expr string
		want time.Duration
	}{
		{"rate(1 hour)", time.Hour},
		{"rate(15 minutes)", 15 * time.Minute},
		{"rate(2 days)", 48 * time.Hour},
		{"cron(0 * * * ? *)", time.Hour},
		{"cron(0 */4 * * ? *)", 4 * time.Hour},
		{"cron(0 2 * * ? *)", 24 * time.Hour},
		{"cron(0 2,14 * * ? *)", 12 * time.Hour},
		{"cron(0 2 ? * MON *)", 7 * 24 * time.Hour},
		{"cron(0 2 ? * MON-FRI *)", 3 * 24 * time.Hour},
		{"cron(*/5 * * * ? *)", 5 * time.Minute},
	}
	for _, tt := range tests {
		got, err := ScheduleInterval(tt.expr)
		if err != nil || got != tt.want {
			t.Errorf("ScheduleInterval(%q) = %v, %v; want %v", tt.expr, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "hourly", "rate(0 hours)", "cron(0 2 * *)", "cron(61 * * * ? *)", "cron(0 2 1 1 ? *)"} {
		if _, err := ScheduleInterval(bad); err == nil {
			t.Errorf("ScheduleInterval(%q) = nil error, want one", bad)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"90s": 90 * time.Second, "15m": 15 * time.Minute, "4h": 4 * time.Hour, "1d": 24 * time.Hour, "1.5h": 90 * time.Minute} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "15", "15 m", "m15", "-1h", "1y", "1h30", "h"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) = nil error", bad)
		}
	}
}

func TestSeconds(t *testing.T) {
	for in, want := range map[string]string{"6.76s": "7s", "1h2m3s": "3723s", "40ms": "1s", "0s": "0s", "": "", "soon": ""} {
		if got := Seconds(in); got != want {
			t.Errorf("Seconds(%q) = %q, want %q", in, got, want)
		}
		if want != "" {
			if _, err := ParseDuration(Seconds(in)); err != nil {
				t.Errorf("ParseDuration(Seconds(%q)): %v", in, err)
			}
		}
	}
}
