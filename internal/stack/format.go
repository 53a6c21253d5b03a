package stack

import (
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
)

// Format writes a region pair as the resource block that declares it, for
// import to show what to add to the stack.
func Format(rp blueprint.RegionPair) string {
	f := hclwrite.NewEmptyFile()
	b := f.Body().AppendNewBlock("resource", []string{ResourceType, rp.Name}).Body()
	str := func(body *hclwrite.Body, name, v string) {
		if v != "" {
			body.SetAttributeValue(name, cty.StringVal(v))
		}
	}
	num := func(body *hclwrite.Body, name string, v int) {
		if v != 0 {
			body.SetAttributeValue(name, cty.NumberIntVal(int64(v)))
		}
	}
	str(b, "name", rp.Name)
	str(b, "primary_region", rp.PrimaryRegion)
	str(b, "secondary_region", rp.SecondaryRegion)
	str(b, "mode", string(rp.Mode))
	str(b, "write_profile", string(rp.WriteProfile))
	if rp.GloballyConsistentStore {
		b.SetAttributeValue("globally_consistent_store", cty.True)
	}
	if os := rp.ObjectStore; os != nil {
		ob := b.AppendNewBlock("object_store", nil).Body()
		str(ob, "bucket_prefix", os.BucketPrefix)
		if os.ForceDestroy {
			ob.SetAttributeValue("force_destroy", cty.True)
		}
	}
	if kv := rp.KVTable; kv != nil {
		kb := b.AppendNewBlock("kv_table", nil).Body()
		str(kb, "name", kv.Name)
		str(kb, "hash_key", kv.HashKey)
	}
	if d := rp.DNS; d != nil {
		db := b.AppendNewBlock("dns", nil).Body()
		str(db, "zone_name", d.ZoneName)
		str(db, "zone_id", d.ZoneID)
		str(db, "record_name", d.RecordName)
		str(db, "primary_endpoint", d.PrimaryEndpoint)
		str(db, "secondary_endpoint", d.SecondaryEndpoint)
		num(db, "ttl", d.TTL)
		if hc := d.HealthCheck; hc != (blueprint.HealthCheck{}) {
			hb := db.AppendNewBlock("health_check", nil).Body()
			str(hb, "protocol", hc.Protocol)
			num(hb, "port", hc.Port)
			str(hb, "path", hc.Path)
			num(hb, "interval", hc.Interval)
			num(hb, "failure_threshold", hc.FailureThreshold)
		}
	}
	if w := rp.Workload; w != nil {
		wb := b.AppendNewBlock("workload", nil).Body()
		str(wb, "image", w.Image)
		num(wb, "replicas", w.Replicas)
		num(wb, "standby_replicas", w.StandbyReplicas)
		if len(w.Ports) > 0 {
			ports := make([]cty.Value, len(w.Ports))
			for i, p := range w.Ports {
				ports[i] = cty.NumberIntVal(int64(p))
			}
			wb.SetAttributeValue("ports", cty.ListVal(ports))
		}
		if len(w.Env) > 0 {
			wb.SetAttributeValue("env", stringMap(w.Env))
		}
		if v := w.Volume; v != nil {
			vb := wb.AppendNewBlock("volume", nil).Body()
			str(vb, "size", v.Size)
			str(vb, "mount_path", v.MountPath)
		}
	}
	if len(rp.Tags) > 0 {
		b.SetAttributeValue("tags", stringMap(rp.Tags))
	}
	return string(f.Bytes())
}

func stringMap(m map[string]string) cty.Value {
	vals := make(map[string]cty.Value, len(m))
	for k, v := range m {
		vals[k] = cty.StringVal(v)
	}
	return cty.MapVal(vals)
}
