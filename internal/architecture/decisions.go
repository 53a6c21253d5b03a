package architecture

import (
	"fmt"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
)

// Where numbers come from. Every trade-off names one of these, filled in.
const (
	srcPlan      = "plan: %s"
	srcPrices    = "price table of %s"
	srcDrill     = "drill %s of %s"
	srcForecast  = "forecast of %s"
	srcBlueprint = "meridian's documented figure: %s"
)

// detection is how long Route 53 takes to move traffic off a failed
// primary: failure_threshold probes interval seconds apart, then resolvers
// holding the old answer for up to ttl seconds.
func detection(hc blueprint.HealthCheck, ttl int) time.Duration {
	return time.Duration(hc.Interval*hc.FailureThreshold+ttl) * time.Second
}

// defaultDNS is the dns block meridian would fill in for a pair that has
// none: the alternative to having no health-checked failover.
func defaultDNS() blueprint.DNS {
	return *blueprint.RegionPair{DNS: &blueprint.DNS{}}.WithDefaults().DNS
}

func dur(d time.Duration) string { return blueprint.FormatDuration(d) }

// policyOf is the DR policy of a pair, or nil.
func (s Stack) policyOf(pair string) *Policy {
	for i := range s.Policies {
		if s.Policies[i].Blueprint.RegionPair.Name == pair {
			return &s.Policies[i]
		}
	}
	return nil
}

// capacityOf is the capacity reservation serving a pair: the one in the
// same two regions whose service tag matches the pair's, else the first in
// the same regions.
func (s Stack) capacityOf(rp blueprint.RegionPair) *Capacity {
	var found *Capacity
	for i := range s.Capacity {
		c := &s.Capacity[i]
		if c.Blueprint.PrimaryRegion != rp.PrimaryRegion || c.Blueprint.SecondaryRegion != rp.SecondaryRegion {
			continue
		}
		if rp.Tags["service"] != "" && c.Blueprint.Tags["service"] == rp.Tags["service"] {
			return c
		}
		if found == nil {
			found = c
		}
	}
	return found
}

// replan plans c again with its failover coverage changed: how the
// alternatives of coverage and topology are priced, by the same function
// and price table as the chosen plan.
func (s Stack) replan(c *Capacity, coverage float64) (blueprint.CapacityPlan, bool) {
	bp := c.Blueprint.WithDefaults()
	bp.FailoverCoverage = &coverage
	p, problems := bp.Plan(c.Prices)
	return p, len(problems) == 0
}

func (s Stack) priceSource() string {
	return fmt.Sprintf(srcPrices, s.Prices.Date)
}

// pricesOf names the table a reservation was priced with.
func pricesOf(c *Capacity) string {
	return fmt.Sprintf(srcPrices, c.Prices.Date)
}

func money(m blueprint.Money, currency string) string { return m.String() + " " + currency + "/month" }

// topology defends active-passive against sharded active-active, or the
// other way round.
func (s Stack) topology(p Pair) Decision {
	rp := p.Blueprint
	alt := blueprint.ActiveActiveSharded
	if rp.Mode == blueprint.ActiveActiveSharded {
		alt = blueprint.ActivePassive
	}
	d := Decision{Section: 2, Topic: "topology of " + rp.Name, Choice: string(rp.Mode), Alternative: string(alt)}
	// Active-active moves shards by DNS: with the pair's health check, or
	// meridian's default one when the pair has none yet.
	dns, which := defaultDNS(), "the default dns block's health-check detection plus TTL"
	if rp.DNS != nil {
		dns, which = *rp.DNS, "health-check detection plus TTL"
	}
	switchover := detection(dns.HealthCheck, dns.TTL)
	if pol := s.policyOf(rp.Name); pol != nil {
		restore, _ := blueprint.ParseDuration(pol.Runbook.Estimate)
		ap, aa := dur(restore), dur(switchover)
		if rp.Mode == blueprint.ActiveActiveSharded {
			ap, aa = aa, ap
		}
		d.TradeOffs = append(d.TradeOffs, TradeOff{
			Quantity: "RTO after losing the primary region", Chosen: ap, Alternative: aa,
			Source: fmt.Sprintf(srcPlan, pol.Address+" runbook critical path ("+pol.Runbook.Estimate+") against "+which+" ("+dur(switchover)+")"),
		})
	}
	rules := map[blueprint.Mode]int{blueprint.ActivePassive: 1, blueprint.ActiveActiveSharded: 2}
	if rp.ObjectStore != nil {
		d.TradeOffs = append(d.TradeOffs, TradeOff{
			Quantity: "S3 replication rules (directions objects flow)", Chosen: fmt.Sprint(rules[rp.Mode]), Alternative: fmt.Sprint(rules[alt]),
			Source: fmt.Sprintf(srcPlan, p.Address+" compiled primitives"),
		})
	}
	if c := s.capacityOf(rp); c != nil {
		// Sharded active-active serves from both regions, so each must
		// hold the whole reserved baseline to absorb the other's shards.
		if aaPlan, ok := s.replan(c, 1); ok {
			chosen, other := c.Plan.MonthlyCost, aaPlan.MonthlyCost
			if rp.Mode == blueprint.ActiveActiveSharded {
				other = chosen
			}
			d.TradeOffs = append(d.TradeOffs, TradeOff{
				Quantity: "compute cost (" + c.Address + ")", Chosen: money(chosen, c.Plan.Currency), Alternative: money(other, c.Plan.Currency) + fmt.Sprintf(" (%+.2f)", other.Float()-chosen.Float()),
				Source: fmt.Sprintf(srcForecast, c.Address) + ", " + pricesOf(c),
			})
		}
	}
	switch {
	case rp.Mode == blueprint.ActivePassive && rp.WriteProfile == blueprint.WriteHeavy && !rp.GloballyConsistentStore:
		d.Why = "The pair is write-heavy without a globally consistent store: active-active would let both regions accept conflicting writes (split brain), which meridian refuses at plan time. Active-passive pays for it with the restore time above."
	case rp.Mode == blueprint.ActivePassive:
		d.Why = "Active-passive keeps one writer, so no write can conflict; it pays for that with the longer RTO above, against what sharded active-active would cost."
	default:
		d.Why = "Sharded active-active serves every shard from its home region and moves it on failure within the detection time; each region reserves enough to absorb the other."
	}
	return d
}

// replication defends continuous replication against backups alone.
func (s Stack) replication(p Pair) Decision {
	rp := p.Blueprint
	d := Decision{Section: 3, Topic: "data replication of " + rp.Name, Choice: "continuous cross-region replication", Alternative: "backups with cross-region copy only"}
	lag, replicated := rp.ContinuousRPO()
	if !replicated {
		d.Choice, d.Alternative = "no replicated store", "object_store or kv_table, replicated continuously"
		return d
	}
	pol := s.policyOf(rp.Name)
	schedule := blueprint.DefaultSchedule
	src := fmt.Sprintf(srcBlueprint, "the default backup schedule "+schedule)
	if pol != nil {
		schedule = pol.Blueprint.Backup.Schedule
		src = fmt.Sprintf(srcPlan, pol.Address+" backup.schedule "+schedule)
	}
	interval, err := blueprint.ScheduleInterval(schedule)
	if err != nil {
		return d
	}
	d.TradeOffs = append(d.TradeOffs, TradeOff{
		Quantity: "worst-case RPO", Chosen: dur(lag), Alternative: dur(interval),
		Source: fmt.Sprintf(srcBlueprint, "S3 Replication Time Control replicates 99.99% of objects within "+dur(blueprint.ObjectReplicationLag)+", a DynamoDB replica within "+dur(blueprint.TableReplicationLag)) + "; " + src,
	})
	d.Why = "Replication bounds the data lost with the primary region by its lag, not by the backup interval; backups stay, because replication copies deletes and corruption too."
	return d
}

// routing defends the health check's interval and threshold, or the
// absence of DNS failover.
func (s Stack) routing(p Pair) Decision {
	rp := p.Blueprint
	if rp.DNS == nil {
		def := defaultDNS()
		return Decision{
			Section: 4, Topic: "traffic failover of " + rp.Name,
			Choice:      "no health-checked DNS failover (traffic is moved by hand)",
			Alternative: fmt.Sprintf("a dns block with meridian's defaults: %s %s every %ds, failure threshold %d, TTL %ds", def.HealthCheck.Protocol, def.HealthCheck.Path, def.HealthCheck.Interval, def.HealthCheck.FailureThreshold, def.TTL),
			Why:         "Without a health check nobody is told the primary failed, and the RTO starts only when a person notices.",
			TradeOffs: []TradeOff{
				{Quantity: "Route 53 health checks", Chosen: "0", Alternative: "1", Source: fmt.Sprintf(srcPlan, p.Address+" compiled primitives")},
				{Quantity: "time from failure to traffic on the secondary", Chosen: "unbounded (manual)", Alternative: dur(detection(def.HealthCheck, def.TTL)), Source: fmt.Sprintf(srcBlueprint, "interval x failure threshold + TTL")},
			},
		}
	}
	hc := rp.DNS.HealthCheck
	fast := hc
	fast.Interval = 10
	alt := "fast health checks (10s interval)"
	if hc.Interval == 10 {
		fast.Interval = 30
		alt = "standard health checks (30s interval)"
	}
	month := s.hoursPerMonth() * 3600
	return Decision{
		Section: 4, Topic: "health check of " + rp.Name,
		Choice:      fmt.Sprintf("%s %s every %ds, failure threshold %d, TTL %ds", hc.Protocol, hc.Path, hc.Interval, hc.FailureThreshold, rp.DNS.TTL),
		Alternative: alt,
		Why:         "A shorter interval detects a failure sooner and probes the endpoint more often.",
		TradeOffs: []TradeOff{
			{Quantity: "expected detection and switch time", Chosen: dur(detection(hc, rp.DNS.TTL)), Alternative: dur(detection(fast, rp.DNS.TTL)), Source: fmt.Sprintf(srcPlan, p.Address+" dns.health_check (interval x failure_threshold + ttl)")},
			{Quantity: "probes a month from each checker", Chosen: fmt.Sprintf("%.0f", month/float64(hc.Interval)), Alternative: fmt.Sprintf("%.0f", month/float64(fast.Interval)), Source: s.priceSource() + ", hours a month"},
		},
	}
}

func (s Stack) hoursPerMonth() float64 {
	if s.Prices.HoursPerMonth > 0 {
		return s.Prices.HoursPerMonth
	}
	return 730
}

// backupSchedule defends the backup interval against a tighter (or, if it
// is already 15 minutes or less, a looser) one.
func (s Stack) backupSchedule(pol Policy) Decision {
	bp := pol.Blueprint
	d := Decision{Section: 5, Topic: "backup schedule of " + bp.Name, Choice: bp.Backup.Schedule}
	interval, err := blueprint.ScheduleInterval(bp.Backup.Schedule)
	if err != nil {
		return d
	}
	alt := 15 * time.Minute
	d.Alternative = "rate(15 minutes)"
	if interval <= alt {
		alt, d.Alternative = time.Hour, "rate(1 hour)"
	}
	retention := time.Duration(bp.Backup.RetentionDays) * 24 * time.Hour
	copies := map[bool]int{true: 2, false: 1}[bp.Backup.CrossRegionCopy]
	month := time.Duration(s.hoursPerMonth() * float64(time.Hour))
	src := fmt.Sprintf(srcPlan, pol.Address+" backup (schedule, retention_days, cross_region_copy)")
	d.TradeOffs = []TradeOff{
		{Quantity: "worst-case RPO from backups alone", Chosen: dur(interval), Alternative: dur(alt), Source: src},
		{Quantity: "recovery points kept (both vaults)", Chosen: fmt.Sprint(copies * int(retention/interval)), Alternative: fmt.Sprint(copies * int(retention/alt)), Source: src},
		{Quantity: "backup and copy jobs a month", Chosen: fmt.Sprint(copies * int(month/interval)), Alternative: fmt.Sprint(copies * int(month/alt)), Source: src + ", " + s.priceSource() + ", hours a month"},
	}
	d.Why = "Backup storage and jobs grow with the number of recovery points; the RPO target is held by replication where the pair replicates, and by the schedule where it does not."
	return d
}

// split defends the reserved / on-demand / spot split against all on-demand.
func (s Stack) split(c Capacity) Decision {
	p := c.Plan
	src := fmt.Sprintf(srcForecast, c.Address) + fmt.Sprintf(" (baseline %.2f, peak %.2f)", p.Baseline, p.Peak) + ", " + pricesOf(&c)
	return Decision{
		Section: 6, Topic: "purchase split of " + c.Blueprint.Name,
		Choice: fmt.Sprintf("reserved %d + on-demand burst %d + spot %d at peak in %s; %d reserved in %s",
			p.Primary.Reserved, p.Primary.OnDemandBurst, p.Primary.SpotPeak, p.Primary.Region, p.Secondary.Reserved, p.Secondary.Region),
		Alternative: "all on-demand",
		Why:         "Reservations are paid whether used or not, so only the forecast's baseline is reserved; the burst runs on-demand and the batch share on spot.",
		TradeOffs: []TradeOff{
			{Quantity: "monthly compute cost", Chosen: money(p.MonthlyCost, p.Currency), Alternative: money(p.AllOnDemand, p.Currency), Source: src},
		},
	}
}

// coverage defends the failover region's reservation against the least
// the RTO allows.
func (s Stack) coverage(c Capacity) (Decision, bool) {
	bp := c.Blueprint.WithDefaults()
	chosen := *bp.FailoverCoverage
	least := 0.0
	if rto, err := blueprint.ParseDuration(bp.RTO); err == nil && bp.RTO != "" {
		least = blueprint.CoverageForRTO(rto)
	}
	alt := least
	if alt == chosen {
		alt = 1
		if chosen == 1 {
			return Decision{}, false
		}
	}
	altPlan, ok := s.replan(&c, alt)
	if !ok {
		return Decision{}, false
	}
	return Decision{
		Section: 6, Topic: "failover capacity of " + bp.Name,
		Choice:      fmt.Sprintf("failover_coverage %.2f (%d reserved in %s)", chosen, c.Plan.Secondary.Reserved, c.Plan.Secondary.Region),
		Alternative: fmt.Sprintf("failover_coverage %.2f (%d reserved), the least rto %s allows", alt, altPlan.Secondary.Reserved, orDash(bp.RTO)),
		Why:         "Capacity not reserved in the failover region must be found on-demand during a regional event, when everyone else is looking for it too.",
		TradeOffs: []TradeOff{
			{Quantity: "monthly cost of the failover region", Chosen: money(c.Plan.Secondary.MonthlyCost, c.Plan.Currency), Alternative: money(altPlan.Secondary.MonthlyCost, c.Plan.Currency), Source: fmt.Sprintf(srcForecast, c.Address) + ", " + pricesOf(&c)},
			{Quantity: "instances that start at once on failover", Chosen: fmt.Sprint(c.Plan.Secondary.Reserved), Alternative: fmt.Sprint(altPlan.Secondary.Reserved), Source: fmt.Sprintf(srcForecast, c.Address)},
		},
	}, true
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
