package stack

import (
	"encoding/json"
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// OutputValues evaluates the output blocks. A resource's attributes are
// those the provider computes from its configuration alone (a region pair's
// id, name, primary_region, secondary_region, failover_fqdn and spec; a DR
// policy's rpo, rto, estimated_rto and runbook_markdown; a cost tag
// policy's policy), so outputs are known from the stack itself, before and
// after a run alike.
func (st *Stack) OutputValues() (map[string]string, hcl.Diagnostics) {
	pairs := map[string]cty.Value{}
	for _, rp := range st.RegionPairs {
		pairs[rp.Label] = pairObject(rp.Blueprint)
	}
	vars := map[string]cty.Value{ResourceType: cty.ObjectVal(pairs)}
	if st.ctx != nil {
		for k, v := range st.ctx.Variables {
			vars[k] = v
		}
	}
	ctx := &hcl.EvalContext{Variables: vars}
	out := map[string]string{}
	var diags hcl.Diagnostics
	for _, o := range st.Outputs {
		v, d := o.Value.Value(ctx)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		switch {
		case v.IsNull():
			out[o.Name] = ""
		case v.Type() == cty.String:
			out[o.Name] = v.AsString()
		default:
			b, err := ctyjson.Marshal(v, v.Type())
			if err != nil {
				diags = append(diags, errAt(o.Value.Range(), "Invalid output value", fmt.Sprintf("output %q: %v", o.Name, err)))
				continue
			}
			var compact json.RawMessage = b
			out[o.Name] = string(compact)
		}
	}
	return out, diags
}
