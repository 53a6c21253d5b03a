// Package blueprint holds meridian's resource kinds as plain Go values, their
// defaults and the rules they must obey. It does no I/O.
package blueprint

import (
	"fmt"
	"regexp"
	"strings"
)

// Mode is how a region pair serves traffic.
type Mode string

const (
	ActivePassive       Mode = "active_passive"
	ActiveActiveSharded Mode = "active_active_sharded"
)

// WriteProfile says whether a service mostly reads or mostly writes.
type WriteProfile string

const (
	ReadHeavy  WriteProfile = "read_heavy"
	WriteHeavy WriteProfile = "write_heavy"
)

// RegionPair is a service's data and traffic spread over two regions.
type RegionPair struct {
	Name            string       `json:"name,omitempty"`
	PrimaryRegion   string       `json:"primary_region,omitempty"`
	SecondaryRegion string       `json:"secondary_region,omitempty"`
	Mode            Mode         `json:"mode,omitempty"`
	WriteProfile    WriteProfile `json:"write_profile,omitempty"`
	// GloballyConsistentStore declares that writes go to a store with global
	// consistency (Spanner, Aurora DSQL, ...), which makes sharded
	// active-active safe for write-heavy services.
	GloballyConsistentStore bool              `json:"globally_consistent_store,omitempty"`
	ObjectStore             *ObjectStore      `json:"object_store,omitempty"`
	KVTable                 *KVTable          `json:"kv_table,omitempty"`
	DNS                     *DNS              `json:"dns,omitempty"`
	Workload                *Workload         `json:"workload,omitempty"`
	Tags                    map[string]string `json:"tags,omitempty"`
	// CostTagPolicy, if set, is enforced on every primitive at compile time.
	CostTagPolicy *TagPolicy `json:"cost_tag_policy,omitempty"`
}

// ObjectStore is a versioned bucket in each region with replication between them.
type ObjectStore struct {
	BucketPrefix string `json:"bucket_prefix,omitempty"`
	ForceDestroy bool   `json:"force_destroy,omitempty"`
}

// KVTable is a DynamoDB table in the primary region with a replica in the secondary.
type KVTable struct {
	Name    string `json:"name,omitempty"`
	HashKey string `json:"hash_key,omitempty"`
}

// DNS is health-checked failover from the primary endpoint to the secondary.
type DNS struct {
	ZoneName          string      `json:"zone_name,omitempty"`
	ZoneID            string      `json:"zone_id,omitempty"`
	RecordName        string      `json:"record_name,omitempty"`
	PrimaryEndpoint   string      `json:"primary_endpoint,omitempty"`
	SecondaryEndpoint string      `json:"secondary_endpoint,omitempty"`
	TTL               int         `json:"ttl,omitempty"`
	HealthCheck       HealthCheck `json:"health_check,omitempty"`
}

// HealthCheck probes the primary endpoint.
type HealthCheck struct {
	Protocol         string `json:"protocol,omitempty"`
	Port             int    `json:"port,omitempty"`
	Path             string `json:"path,omitempty"`
	Interval         int    `json:"interval,omitempty"`
	FailureThreshold int    `json:"failure_threshold,omitempty"`
}

// ReservedTagPrefix starts the keys of the tags meridian derives itself.
const ReservedTagPrefix = "meridian:"

// Defaults for what a user may leave out.
const (
	DefaultTTL              = 60
	DefaultProtocol         = "HTTPS"
	DefaultPort             = 443
	DefaultPath             = "/health"
	DefaultInterval         = 30
	DefaultFailureThreshold = 3
)

// Stated returns rp with the values that every terraform declaration
// states filled in: the mode and the write profile, whose defaults the
// provider's schema writes into the declaration. A pair kept (in its
// manifest) or imported in this form is the same whether a stack, a
// program or terraform declared it, so an import into terraform plans no
// change. What WithDefaults derives from other values is left as written.
func (rp RegionPair) Stated() RegionPair {
	if rp.Mode == "" {
		rp.Mode = ActivePassive
	}
	if rp.WriteProfile == "" {
		rp.WriteProfile = ReadHeavy
	}
	return rp
}

// WithDefaults returns rp with every omitted optional value filled in.
func (rp RegionPair) WithDefaults() RegionPair {
	rp = rp.Stated()
	if rp.KVTable != nil && rp.KVTable.Name == "" {
		kv := *rp.KVTable
		kv.Name = rp.Name
		rp.KVTable = &kv
	}
	if rp.Workload != nil {
		w := rp.Workload.withDefaults()
		rp.Workload = &w
	}
	if rp.DNS != nil {
		d := *rp.DNS
		if d.TTL == 0 {
			d.TTL = DefaultTTL
		}
		hc := &d.HealthCheck
		if hc.Protocol == "" {
			hc.Protocol = DefaultProtocol
		}
		if hc.Port == 0 {
			hc.Port = map[string]int{"HTTP": 80, "TCP": 80}[hc.Protocol]
			if hc.Port == 0 {
				hc.Port = DefaultPort
			}
		}
		if hc.Path == "" && hc.Protocol != "TCP" {
			hc.Path = DefaultPath
		}
		if hc.Interval == 0 {
			hc.Interval = DefaultInterval
		}
		if hc.FailureThreshold == 0 {
			hc.FailureThreshold = DefaultFailureThreshold
		}
		rp.DNS = &d
	}
	return rp
}

// Problem is a broken rule, located at the attributes that break it.
type Problem struct {
	// Paths are the attributes involved, in HCL notation ("dns.health_check.interval");
	// the first is where the diagnostic points.
	Paths   []string
	Summary string
	Detail  string
	// Warning marks a problem that does not stop the plan, such as a check
	// the endpoint could not make.
	Warning bool
}

func (p Problem) Error() string {
	return fmt.Sprintf("%s: %s: %s", p.Paths[0], p.Summary, p.Detail)
}

var (
	namePattern         = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$`)
	bucketPrefixPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]*[a-z0-9]$`)
	tableNamePattern    = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)
	hostnamePattern     = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?$`)
)

// Validate returns every rule rp breaks; none means rp can be compiled.
// It expects rp.WithDefaults().
func (rp RegionPair) Validate() []Problem {
	var ps []Problem
	add := func(summary, detail string, paths ...string) {
		ps = append(ps, Problem{Paths: paths, Summary: summary, Detail: detail})
	}
	if rp.Name == "" {
		add("Missing name", "name is empty; it names buckets, tables and roles, and the meridian:resource tag: 3-40 lowercase letters, digits and hyphens.", "name")
	} else if !namePattern.MatchString(rp.Name) {
		add("Invalid name", fmt.Sprintf("%q must be 3-40 characters of lowercase letters, digits and hyphens, starting and ending with a letter or digit: it names buckets, tables and roles.", rp.Name), "name")
	}
	for _, r := range []struct{ path, region string }{{"primary_region", rp.PrimaryRegion}, {"secondary_region", rp.SecondaryRegion}} {
		if !KnownRegion(r.region) {
			add("Unknown region", fmt.Sprintf("%q is not an AWS region meridian knows; expected one of %s.", r.region, strings.Join(Regions(), ", ")), r.path)
		}
	}
	if KnownRegion(rp.PrimaryRegion) && KnownRegion(rp.SecondaryRegion) && Partition(rp.PrimaryRegion) != Partition(rp.SecondaryRegion) {
		add("Regions in different partitions", fmt.Sprintf("%s is in partition %s and %s in %s: replication, roles and failover records cannot span AWS partitions. Pick two regions of one partition.", rp.PrimaryRegion, Partition(rp.PrimaryRegion), rp.SecondaryRegion, Partition(rp.SecondaryRegion)), "secondary_region", "primary_region")
	}
	if rp.PrimaryRegion != "" && rp.PrimaryRegion == rp.SecondaryRegion {
		add("Primary and secondary region are the same", fmt.Sprintf("Both are %q: a region pair needs two regions, or a regional outage takes both copies down.", rp.PrimaryRegion), "secondary_region", "primary_region")
	}
	switch rp.Mode {
	case ActivePassive, ActiveActiveSharded:
	default:
		add("Invalid mode", fmt.Sprintf("%q is not a mode; expected %q or %q.", rp.Mode, ActivePassive, ActiveActiveSharded), "mode")
	}
	switch rp.WriteProfile {
	case ReadHeavy, WriteHeavy:
	default:
		add("Invalid write profile", fmt.Sprintf("%q is not a write profile; expected %q or %q.", rp.WriteProfile, ReadHeavy, WriteHeavy), "write_profile")
	}
	if rp.Mode == ActiveActiveSharded && rp.WriteProfile == WriteHeavy && !rp.GloballyConsistentStore {
		add("Split brain: write-heavy active-active without a globally consistent store",
			"Sharded active-active accepts writes in both regions; the pair's stores replicate asynchronously, so during a partition both sides accept conflicting writes. Use mode = \"active_passive\", or declare globally_consistent_store = true once writes go to a store with global consistency.",
			"mode", "write_profile", "globally_consistent_store")
	}
	for k := range rp.Tags {
		if strings.HasPrefix(k, ReservedTagPrefix) {
			add("Reserved tag key", fmt.Sprintf("%q: keys starting with %q are set by meridian itself (resource and region role) and cannot be set by hand.", k, ReservedTagPrefix), "tags")
		}
	}
	if rp.CostTagPolicy != nil {
		for _, p := range rp.CostTagPolicy.WithDefaults().Validate() {
			p.Detail = "policy " + p.Paths[0] + ": " + p.Detail
			p.Paths = []string{"cost_tag_policy"}
			ps = append(ps, p)
		}
	}
	if rp.ObjectStore == nil && rp.KVTable == nil && rp.DNS == nil && rp.Workload == nil {
		add("Empty region pair", "Declare at least one of object_store, kv_table, dns or workload: a pair with none of them creates nothing.", "name")
	}
	if os := rp.ObjectStore; os != nil {
		longest := len(os.BucketPrefix) + 1 + longestRegion(rp.PrimaryRegion, rp.SecondaryRegion)
		switch {
		case !bucketPrefixPattern.MatchString(os.BucketPrefix) || strings.Contains(os.BucketPrefix, ".."):
			add("Invalid bucket prefix", fmt.Sprintf("%q must be lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit (S3 bucket naming rules).", os.BucketPrefix), "object_store.bucket_prefix")
		case longest > 63:
			add("Bucket prefix too long", fmt.Sprintf("Bucket names are \"<prefix>-<region>\" and S3 allows 63 characters; %q makes %d.", os.BucketPrefix, longest), "object_store.bucket_prefix")
		}
	}
	if kv := rp.KVTable; kv != nil {
		if !tableNamePattern.MatchString(kv.Name) {
			add("Invalid table name", fmt.Sprintf("%q must be 3-255 characters of letters, digits, '_', '-' and '.'.", kv.Name), "kv_table.name")
		}
		if kv.HashKey == "" || len(kv.HashKey) > 255 {
			add("Invalid hash key", "hash_key must be 1-255 characters.", "kv_table.hash_key")
		}
	}
	if d := rp.DNS; d != nil {
		ps = append(ps, d.validate()...)
	}
	if w := rp.Workload; w != nil {
		ps = append(ps, w.validate()...)
	}
	return ps
}

func (d DNS) validate() []Problem {
	var ps []Problem
	add := func(summary, detail string, paths ...string) {
		ps = append(ps, Problem{Paths: paths, Summary: summary, Detail: detail})
	}
	if !hostnamePattern.MatchString(d.ZoneName) {
		add("Invalid zone name", fmt.Sprintf("%q is not a DNS name.", d.ZoneName), "dns.zone_name")
	}
	if d.RecordName == "" || strings.Contains(d.RecordName, " ") {
		add("Invalid record name", fmt.Sprintf("%q must be a label within the zone, such as \"api\".", d.RecordName), "dns.record_name")
	}
	for _, e := range []struct{ path, host string }{{"dns.primary_endpoint", d.PrimaryEndpoint}, {"dns.secondary_endpoint", d.SecondaryEndpoint}} {
		if !hostnamePattern.MatchString(e.host) {
			add("Invalid endpoint", fmt.Sprintf("%q is not a hostname; failover records are CNAMEs to each region's endpoint.", e.host), e.path)
		}
	}
	if d.PrimaryEndpoint != "" && d.PrimaryEndpoint == d.SecondaryEndpoint {
		add("Primary and secondary endpoint are the same", fmt.Sprintf("Both are %q: failover would send traffic to the endpoint that just failed.", d.PrimaryEndpoint), "dns.secondary_endpoint", "dns.primary_endpoint")
	}
	if d.TTL < 0 || d.TTL > 2147483647 {
		add("Invalid TTL", fmt.Sprintf("ttl %d is out of range.", d.TTL), "dns.ttl")
	}
	hc := d.HealthCheck
	switch hc.Protocol {
	case "HTTP", "HTTPS":
		if !strings.HasPrefix(hc.Path, "/") || len(hc.Path) > 255 {
			add("Invalid health check path", fmt.Sprintf("%q must start with \"/\" and be at most 255 characters.", hc.Path), "dns.health_check.path")
		}
	case "TCP":
		if hc.Path != "" {
			add("Path on a TCP health check", "A TCP health check only opens a connection; remove path or use HTTP/HTTPS.", "dns.health_check.path", "dns.health_check.protocol")
		}
	default:
		add("Invalid health check protocol", fmt.Sprintf("%q is not supported; expected HTTP, HTTPS or TCP.", hc.Protocol), "dns.health_check.protocol")
	}
	if hc.Port < 1 || hc.Port > 65535 {
		add("Invalid health check port", fmt.Sprintf("%d is not a TCP port (1-65535).", hc.Port), "dns.health_check.port")
	}
	if hc.Interval != 10 && hc.Interval != 30 {
		add("Health check interval out of AWS limits", fmt.Sprintf("Route 53 checks every 10 or 30 seconds; %d is neither.", hc.Interval), "dns.health_check.interval")
	}
	if hc.FailureThreshold < 1 || hc.FailureThreshold > 10 {
		add("Health check failure threshold out of AWS limits", fmt.Sprintf("Route 53 allows 1 to 10 consecutive failures; got %d.", hc.FailureThreshold), "dns.health_check.failure_threshold")
	}
	return ps
}

// FailoverFQDN is the name clients resolve; it fails over between the endpoints.
func (d DNS) FailoverFQDN() string {
	return strings.TrimSuffix(d.RecordName, ".") + "." + strings.TrimSuffix(d.ZoneName, ".")
}

func longestRegion(a, b string) int {
	return max(len(a), len(b))
}
