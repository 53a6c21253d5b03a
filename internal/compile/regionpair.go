// Package compile turns blueprints into graphs of primitives. It is pure:
// the same blueprint and tags always give the same graph.
package compile

import (
	"fmt"
	"sort"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// Manifest is the primitive that records, in the cloud, the blueprint a
// resource was applied from and the ids of its primitives, so that import
// needs nothing but its name.
const Manifest = primitive.SSMParameter + ".manifest"

// withoutSecrets is the blueprint as the manifest keeps it: without the
// workload's env values, which may hold secrets, while an SSM String
// parameter is readable by anyone who may read the account's parameters.
// An import gets them back from the configuration on its next apply.
func withoutSecrets(rp blueprint.RegionPair) blueprint.RegionPair {
	if rp.Workload != nil && len(rp.Workload.Env) > 0 {
		w := *rp.Workload
		w.Env = nil
		rp.Workload = &w
	}
	return rp
}

// ManifestName is where a region pair's manifest lives, in its primary region.
func ManifestName(pair string) string { return "/meridian/region_pair/" + pair }

// untaggable primitive types: sub-resources of a tagged parent in AWS.
var untaggable = map[string]string{
	primitive.S3BucketReplication: "a bucket's replication configuration is part of the bucket, which is tagged",
	primitive.IAMRolePolicy:       "an inline policy is part of its role, which is tagged",
	primitive.DynamoDBReplica:     "a replica carries the tags of its table",
	primitive.Route53Record:       "Route 53 record sets cannot carry tags; their zone and health check are tagged",
}

// Taggable reports whether a primitive type can carry tags.
func Taggable(typ string) bool { _, no := untaggable[typ]; return !no }

// Derived tag keys that meridian sets on every taggable primitive.
const (
	TagResource   = "meridian:resource"
	TagRegionRole = "meridian:region-role"
)

// RegionPair compiles a region pair, as the user wrote it, into its primitives.
func RegionPair(written blueprint.RegionPair, defaultTags map[string]string) (primitive.Graph, error) {
	rp := written.WithDefaults()
	if ps := rp.Validate(); len(ps) > 0 {
		return primitive.Graph{}, ps[0]
	}
	var policyTags map[string]string
	if rp.CostTagPolicy != nil {
		policyTags = rp.CostTagPolicy.DefaultTags
	}
	// Provider defaults < policy defaults < the resource's own tags < derived tags.
	c := &graphBuilder{resource: "meridian_region_pair." + rp.Name, tags: mergeTags(defaultTags, policyTags, rp.Tags)}
	roles := map[string]string{rp.PrimaryRegion: "primary", rp.SecondaryRegion: "secondary"}

	if os := rp.ObjectStore; os != nil {
		for _, region := range []string{rp.PrimaryRegion, rp.SecondaryRegion} {
			c.add(primitive.Primitive{
				Name: primitive.S3Bucket + "." + roles[region], Type: primitive.S3Bucket, Region: region,
				Properties: map[string]any{
					"bucket":        os.BucketPrefix + "-" + region,
					"versioning":    true,
					"force_destroy": os.ForceDestroy,
				},
			}, roles[region])
		}
		role := primitive.IAMRole + ".replication"
		c.add(primitive.Primitive{
			Name: role, Type: primitive.IAMRole, Region: primitive.Global,
			Properties: map[string]any{
				"name": "meridian-" + rp.Name + "-replication",
				"path": "/meridian/",
				"assume_role_policy": policy(map[string]any{
					"Effect":    "Allow",
					"Principal": map[string]any{"Service": "s3.amazonaws.com"},
					"Action":    "sts:AssumeRole",
				}),
			},
		}, "")
		buckets := []string{primitive.S3Bucket + ".primary", primitive.S3Bucket + ".secondary"}
		c.add(primitive.Primitive{
			Name: primitive.IAMRolePolicy + ".replication", Type: primitive.IAMRolePolicy, Region: primitive.Global,
			Properties: map[string]any{
				"role": primitive.Ref(role, "name"),
				"name": "replication",
				"policy": policy(
					map[string]any{
						"Effect":   "Allow",
						"Action":   []any{"s3:GetReplicationConfiguration", "s3:ListBucket"},
						"Resource": []any{primitive.Ref(buckets[0], "arn"), primitive.Ref(buckets[1], "arn")},
					},
					map[string]any{
						"Effect":   "Allow",
						"Action":   []any{"s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"},
						"Resource": []any{primitive.Ref(buckets[0], "arn") + "/*", primitive.Ref(buckets[1], "arn") + "/*"},
					},
					map[string]any{
						"Effect":   "Allow",
						"Action":   []any{"s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"},
						"Resource": []any{primitive.Ref(buckets[0], "arn") + "/*", primitive.Ref(buckets[1], "arn") + "/*"},
					},
				),
			},
		}, "")
		// Sharded active-active writes in both regions, so objects flow both ways.
		directions := [][2]string{{buckets[0], buckets[1]}}
		if rp.Mode == blueprint.ActiveActiveSharded {
			directions = append(directions, [2]string{buckets[1], buckets[0]})
		}
		for _, d := range directions {
			from := c.get(d[0])
			c.add(primitive.Primitive{
				Name: primitive.S3BucketReplication + "." + roles[from.Region], Type: primitive.S3BucketReplication, Region: from.Region,
				Properties: map[string]any{
					"bucket":                 primitive.Ref(d[0], "bucket"),
					"role_arn":               primitive.Ref(role, "arn"),
					"destination_bucket_arn": primitive.Ref(d[1], "arn"),
					// The DR policy's RPO rule counts on objects reaching the
					// secondary within blueprint.ObjectReplicationLag: only
					// Replication Time Control bounds that.
					"replication_time_control": true,
				},
				DependsOn: []string{primitive.IAMRolePolicy + ".replication"},
			}, roles[from.Region])
		}
	}

	if kv := rp.KVTable; kv != nil {
		table := primitive.DynamoDBTable + ".kv"
		c.add(primitive.Primitive{
			Name: table, Type: primitive.DynamoDBTable, Region: rp.PrimaryRegion,
			Properties: map[string]any{
				"table_name":       kv.Name,
				"hash_key":         kv.HashKey,
				"stream_view_type": "NEW_AND_OLD_IMAGES",
			},
		}, "primary")
		c.add(primitive.Primitive{
			Name: primitive.DynamoDBReplica + ".kv", Type: primitive.DynamoDBReplica, Region: rp.SecondaryRegion,
			Properties: map[string]any{
				"table_name":   primitive.Ref(table, "table_name"),
				"table_region": rp.PrimaryRegion,
			},
		}, "secondary")
	}

	if d := rp.DNS; d != nil {
		zoneID := d.ZoneID
		if zoneID == "" {
			zone := primitive.Route53Zone + ".dns"
			c.add(primitive.Primitive{
				Name: zone, Type: primitive.Route53Zone, Region: primitive.Global,
				Properties: map[string]any{"name": d.ZoneName},
			}, "")
			zoneID = primitive.Ref(zone, "zone_id")
		}
		hc := d.HealthCheck
		check := primitive.Route53HealthCheck + ".primary"
		c.add(primitive.Primitive{
			Name: check, Type: primitive.Route53HealthCheck, Region: primitive.Global,
			Properties: map[string]any{
				"type":              hc.Protocol,
				"fqdn":              d.PrimaryEndpoint,
				"port":              hc.Port,
				"resource_path":     hc.Path,
				"request_interval":  hc.Interval,
				"failure_threshold": hc.FailureThreshold,
			},
		}, "primary")
		for _, r := range []struct{ role, failover, endpoint string }{
			{"primary", "PRIMARY", d.PrimaryEndpoint},
			{"secondary", "SECONDARY", d.SecondaryEndpoint},
		} {
			props := map[string]any{
				"zone_id":        zoneID,
				"name":           d.FailoverFQDN(),
				"type":           "CNAME",
				"ttl":            d.TTL,
				"set_identifier": r.role,
				"failover":       r.failover,
				"records":        []any{r.endpoint},
			}
			if r.role == "primary" {
				props["health_check_id"] = primitive.Ref(check, "id")
			}
			c.add(primitive.Primitive{
				Name: primitive.Route53Record + "." + r.role, Type: primitive.Route53Record, Region: primitive.Global,
				Properties: props,
			}, r.role)
		}
	}

	if w := rp.Workload; w != nil {
		c.workload(rp, *w)
	}

	ids := map[string]any{}
	for _, p := range c.prims {
		ids[p.Name] = primitive.Ref(p.Name, "id")
	}
	c.add(primitive.Primitive{
		Name: Manifest, Type: primitive.SSMParameter, Region: rp.PrimaryRegion,
		Properties: map[string]any{
			"name":  ManifestName(rp.Name),
			"value": map[string]any{"kind": "meridian_region_pair", "blueprint": withoutSecrets(written.Stated()), "ids": ids},
		},
	}, "primary")

	g := c.graph()
	if err := g.Check(); err != nil {
		return primitive.Graph{}, fmt.Errorf("compile %s: %w", c.resource, err)
	}
	if err := checkManifests(c.resource, g); err != nil {
		return primitive.Graph{}, err
	}
	if rp.CostTagPolicy != nil {
		if vs := Enforce(*rp.CostTagPolicy, c.resource, g); len(vs) > 0 {
			return primitive.Graph{}, vs
		}
	}
	return g, nil
}

func policy(statements ...any) map[string]any {
	return map[string]any{"Version": "2012-10-17", "Statement": statements}
}

type graphBuilder struct {
	resource string
	tags     map[string]string
	prims    []primitive.Primitive
}

// add appends p, tagged with the merged tags and the derived tags.
func (b *graphBuilder) add(p primitive.Primitive, regionRole string) {
	p.Properties = primitive.Normalize(p.Properties)
	if Taggable(p.Type) {
		p.Tags = mergeTags(b.tags, map[string]string{TagResource: b.resource})
		if regionRole != "" {
			p.Tags[TagRegionRole] = regionRole
		}
	}
	b.prims = append(b.prims, p)
}

func (b *graphBuilder) get(name string) primitive.Primitive {
	for _, p := range b.prims {
		if p.Name == name {
			return p
		}
	}
	panic("compile: no primitive " + name)
}

func (b *graphBuilder) graph() primitive.Graph {
	prims := append([]primitive.Primitive(nil), b.prims...)
	sort.Slice(prims, func(i, j int) bool { return prims[i].Name < prims[j].Name })
	return primitive.Graph{Primitives: prims}
}

// mergeTags returns the union of layers; a later layer wins on the same key.
func mergeTags(layers ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, l := range layers {
		for k, v := range l {
			out[k] = v
		}
	}
	return out
}
