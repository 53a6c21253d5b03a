package blueprint

import (
	"fmt"
	"strings"
	"time"
)

// DRPolicy states how much data a region pair may lose (RPO) and how long
// it may be down (RTO), and how backups and drills keep those promises.
type DRPolicy struct {
	Name       string     `json:"name"`
	RegionPair RegionPair `json:"region_pair"`
	// RPO and RTO are written with a unit ("15m", "4h", "1d").
	RPO    string `json:"rpo"`
	RTO    string `json:"rto"`
	Backup Backup `json:"backup"`
	// RestoreOrder names primitives to restore first, in this order, ahead
	// of the order the dependency graph gives.
	RestoreOrder []string `json:"restore_order,omitempty"`
	Drill        Drill    `json:"drill"`
	// MeasuredRTO is the RTO the last drill measured, if any: a target
	// shorter than a measured restore is a broken promise.
	MeasuredRTO string            `json:"measured_rto,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
}

// Backup is an AWS Backup plan with a copy to the secondary region.
type Backup struct {
	// Schedule is an AWS Backup expression: "rate(1 hour)" or "cron(0 */4 * * ? *)".
	Schedule        string `json:"schedule"`
	RetentionDays   int    `json:"retention_days"`
	CrossRegionCopy bool   `json:"cross_region_copy"`
	PrimaryVault    string `json:"primary_vault,omitempty"`
	SecondaryVault  string `json:"secondary_vault,omitempty"`
}

// Drill says how often the policy should be proven and how far a drill
// may miss the targets before it fails.
type Drill struct {
	Schedule string `json:"schedule,omitempty"`
	// MaxDeviationPercent is how far over the target a measured RTO or RPO
	// may be and still pass.
	MaxDeviationPercent int `json:"max_deviation_percent"`
	// Scope is what a drill destroys: "namespace" (the default) or
	// "cluster". OutageAt is where in the backup cycle the outage strikes:
	// "worst" (the default), "random" or "now". TimeCompression runs the
	// backup schedule that many times faster (0 or 1: real time).
	Scope           string  `json:"scope,omitempty"`
	OutageAt        string  `json:"outage_at,omitempty"`
	TimeCompression float64 `json:"time_compression,omitempty"`
}

// Defaults for a DR policy.
const (
	DefaultRetentionDays = 35
	DefaultSchedule      = "rate(1 hour)"
)

// WithDefaults fills in what a policy may leave out.
func (p DRPolicy) WithDefaults() DRPolicy {
	p.RegionPair = p.RegionPair.WithDefaults()
	if p.Backup.Schedule == "" {
		p.Backup.Schedule = DefaultSchedule
	}
	if p.Backup.RetentionDays == 0 {
		p.Backup.RetentionDays = DefaultRetentionDays
	}
	if p.Backup.PrimaryVault == "" {
		p.Backup.PrimaryVault = "meridian-" + p.RegionPair.Name + "-" + p.RegionPair.PrimaryRegion
	}
	if p.Backup.SecondaryVault == "" {
		p.Backup.SecondaryVault = "meridian-" + p.RegionPair.Name + "-" + p.RegionPair.SecondaryRegion
	}
	return p
}

// ReplicationLag is how far behind continuous replication may run: S3
// cross-region replication with Replication Time Control replicates 99.99%
// of objects within 15 minutes (its SLA; the region pair's replication
// rules always turn it on, with its metrics, so this holds), a DynamoDB
// replica within seconds.
const (
	ObjectReplicationLag = 15 * time.Minute
	TableReplicationLag  = time.Second
)

// ContinuousRPO is the data loss continuous replication alone allows for the
// pair, or false when some store of the pair is not replicated.
func (rp RegionPair) ContinuousRPO() (time.Duration, bool) {
	var lag time.Duration
	if rp.ObjectStore == nil && rp.KVTable == nil {
		return 0, false
	}
	if rp.ObjectStore != nil {
		lag = max(lag, ObjectReplicationLag)
	}
	if rp.KVTable != nil {
		lag = max(lag, TableReplicationLag)
	}
	return lag, true
}

// Validate returns the rules the policy breaks that need no compiled graph.
func (p DRPolicy) Validate() []Problem {
	var ps []Problem
	add := func(summary, detail string, paths ...string) {
		ps = append(ps, Problem{Paths: paths, Summary: summary, Detail: detail})
	}
	if strings.TrimSpace(p.Name) == "" {
		add("Missing name", "name is empty; it names the backup plan and the meridian:resource tag.", "name")
	}
	rpo, rpoErr := ParseDuration(p.RPO)
	rto, rtoErr := ParseDuration(p.RTO)
	if rpoErr != nil {
		add("Invalid RPO", "rpo, the data the pair may lose: "+rpoErr.Error(), "rpo")
	}
	if rtoErr != nil {
		add("Invalid RTO", "rto, how long the pair may be down: "+rtoErr.Error(), "rto")
	}
	if rpoErr == nil && rtoErr == nil {
		if rto < time.Minute {
			add("Impossible RTO", fmt.Sprintf("rto %s: no restore of cloud resources completes in under a minute; state what a restore can really achieve.", rto), "rto")
		}
		if rpo > 0 && rto > 0 && rto*60 < rpo {
			add("RPO and RTO look swapped", fmt.Sprintf("rpo %s is more than 60 times rto %s: RPO is the data you may lose, RTO how long you may be down; check that they are not swapped.", rpo, rto), "rpo", "rto")
		}
	}
	rp := p.RegionPair
	continuous, replicated := rp.ContinuousRPO()
	if !replicated {
		add("No secondary data path", fmt.Sprintf("region pair %q has neither object_store nor kv_table, so nothing replicates to %s and there is no data to restore there.", rp.Name, rp.SecondaryRegion), "region_pair")
	}
	interval, err := ScheduleInterval(p.Backup.Schedule)
	if err != nil {
		add("Invalid backup schedule", err.Error(), "backup.schedule")
	} else if rpoErr == nil && interval > rpo {
		switch {
		case replicated && continuous <= rpo:
			// Replication keeps the secondary within the RPO; backups guard
			// against what replication copies too (deletes, corruption).
		case replicated:
			add("Backup schedule looser than the RPO", fmt.Sprintf("backups run every %s but rpo is %s, and continuous replication lags up to %s, so it does not cover the gap either. Back up at least every %s or loosen the RPO.", interval, rpo, continuous, rpo), "backup.schedule", "rpo")
		default:
			add("Backup schedule looser than the RPO", fmt.Sprintf("backups run every %s but rpo is %s, and nothing replicates continuously. Back up at least every %s.", interval, rpo, rpo), "backup.schedule", "rpo")
		}
	}
	if p.Backup.RetentionDays < 1 {
		add("Invalid retention", fmt.Sprintf("retention_days %d: backups must be kept at least a day.", p.Backup.RetentionDays), "backup.retention_days")
	}
	if p.Backup.CrossRegionCopy && p.Backup.PrimaryVault == p.Backup.SecondaryVault && rp.PrimaryRegion == rp.SecondaryRegion {
		add("Copy to the same vault", "cross_region_copy copies into the same vault in the same region.", "backup.secondary_vault")
	}
	if p.Drill.MaxDeviationPercent < 0 {
		add("Invalid drill deviation", "max_deviation_percent cannot be negative.", "drill.max_deviation_percent")
	}
	if p.MeasuredRTO != "" && rtoErr == nil {
		if measured, err := ParseDuration(p.MeasuredRTO); err == nil && measured > rto {
			add("RTO shorter than the measured restore", fmt.Sprintf("the last drill restored the pair in %s, longer than rto %s: change the design or the target.", measured, rto), "rto")
		}
	}
	return ps
}

// Seconds writes a Go duration ("1m2.5s", as a drill measures it) as
// ParseDuration reads it, in whole seconds rounded up; "" if it is none.
func Seconds(goDuration string) string {
	d, err := ParseDuration(goDuration)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%ds", int((d+time.Second-1)/time.Second))
}
