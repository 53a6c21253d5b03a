package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// Every meridian resource is a graph of primitives deployed by the engine.
// Its records live in Terraform's private state under recordsKey, so
// Terraform state stays the one source of truth; the functions here are the
// plumbing every resource shares.

const recordsKey = "records"

// privateState is the part of Terraform's private state that resources read and write.
type privateState interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

type privateReader interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
}

func loadRecords(ctx context.Context, p privateReader) (engine.State, diag.Diagnostics) {
	var st engine.State
	b, diags := p.GetKey(ctx, recordsKey)
	if diags.HasError() || len(b) == 0 {
		return st, diags
	}
	st, err := decodeRecords(b)
	if err != nil {
		diags.AddError("Unreadable private state", err.Error())
	}
	return st, diags
}

func saveRecords(ctx context.Context, p privateState, st engine.State) diag.Diagnostics {
	b, err := encodeRecords(st)
	if err != nil {
		var diags diag.Diagnostics
		diags.AddError("Cannot record primitives", err.Error())
		return diags
	}
	return p.SetKey(ctx, recordsKey, b)
}

// planChanges diffs g against the records and, since Terraform shows the
// resource as one update, adds a warning that says what happens to each
// primitive. It returns the plan and whether anything changes.
func planChanges(data *providerData, name string, g primitive.Graph, records engine.State, diags *diag.Diagnostics) (engine.Plan, bool) {
	p, err := engine.Diff(g, records, data.drivers())
	if err != nil {
		diags.AddError("Cannot plan "+name, err.Error())
		return p, false
	}
	changes := p.Changes()
	if len(changes) == 0 {
		return p, false
	}
	var lines []string
	for _, s := range changes {
		lines = append(lines, "  "+s.String())
	}
	diags.AddAttributeWarning(path.Root("primitives"), "Planned primitive changes",
		fmt.Sprintf("%s: %d of %d primitives change (a replace deletes the old object before creating the new one):\n%s",
			name, len(changes), len(p.Steps), strings.Join(lines, "\n")))
	return p, true
}

// applyGraph applies g over the records and returns the records of what exists
// afterwards, whatever happened, so that the caller saves them and nothing
// is orphaned.
func applyGraph(ctx context.Context, data *providerData, name string, g primitive.Graph, records engine.State, diags *diag.Diagnostics) engine.State {
	var mu sync.Mutex
	e := data.engine(name, func(ev engine.Event) {
		mu.Lock()
		defer mu.Unlock()
		fields := map[string]any{"resource": name, "primitive": ev.Step.Name, "op": string(ev.Step.Op), "status": ev.Status}
		if ev.Err != nil {
			fields["error"] = ev.Err.Error()
		}
		tflog.Info(ctx, "meridian step", fields)
		for _, w := range ev.Warnings {
			diags.AddWarning("Primitive not confirmed by the endpoint", name+": "+w)
		}
	})
	p, err := engine.Diff(g, records, e.Drivers)
	if err == nil {
		err = e.Apply(ctx, p, &records)
	}
	if err != nil {
		diags.AddError("Cannot apply "+name, err.Error())
	}
	return records
}

// refresh reads every recorded primitive, reports drift as warnings, and
// returns the records as the cloud holds them.
func refresh(ctx context.Context, data *providerData, name string, records engine.State, diags *diag.Diagnostics) engine.State {
	drifts, _, err := data.engine(name, nil).Refresh(ctx, &records)
	if err != nil {
		diags.AddError("Cannot refresh "+name, err.Error())
	}
	for _, d := range drifts {
		diags.AddWarning("Drift", name+": "+d.String()+"; the next apply puts it back.")
	}
	return records
}

// destroy deletes every recorded primitive and returns the records of what is left.
func destroy(ctx context.Context, data *providerData, name string, records engine.State, diags *diag.Diagnostics) engine.State {
	if err := data.engine(name, nil).Destroy(ctx, &records); err != nil {
		diags.AddError("Cannot destroy "+name, err.Error())
	}
	return records
}

// recordedModel is the model of a resource whose primitives are recorded.
type recordedModel interface {
	address() string
	setPrimitives(types.List)
	partial() types.String
	setPartial(types.String)
}

// A create that fails half way returns its records, the partial state, and
// terraform keeps them with the resource, which it marks tainted. But when
// terraform then replaces the tainted resource, it plans the replacement as
// a create (with no private state) and hands the delete half of it the
// private state of that plan: empty. The records reach that delete only in
// the public state, so a failed apply also keeps them in the computed
// attribute partialRecordsAttribute; it is null at every other time.
const partialRecordsAttribute = "partial_records"

const partialRecordsDescription = "Null, except after an apply that failed half way: the records of the primitives that exist, as JSON. After a failed create, terraform marks the resource tainted and replaces it on the next apply; the delete half of that replacement receives no private state, so it reads these records to delete exactly what the failed create made before the new create runs. Sensitive only so that plans do not print it."

// partialRecords is the value of partialRecordsAttribute after an apply:
// the records when it failed with some, null otherwise. A failed update
// keeps its private state, so only a failed create needs them, but one
// rule for both keeps it simple.
func partialRecords(records engine.State, failed bool) types.String {
	if !failed || len(records.Records) == 0 {
		return types.StringNull()
	}
	b, err := json.Marshal(records)
	if err != nil {
		return types.StringNull() // a State always marshals; saveRecords reports it anyway
	}
	return types.StringValue(string(b))
}

// recordsOf returns the records a resource's private state holds or, when
// it holds none, those its partialRecordsAttribute holds: the delete half
// of the replacement of a tainted resource gets no private state.
func recordsOf(ctx context.Context, p privateReader, m recordedModel) (engine.State, diag.Diagnostics) {
	st, diags := loadRecords(ctx, p)
	if diags.HasError() || len(st.Records) > 0 {
		return st, diags
	}
	if v := m.partial(); !v.IsNull() && !v.IsUnknown() && v.ValueString() != "" {
		if err := json.Unmarshal([]byte(v.ValueString()), &st); err != nil {
			diags.AddAttributeError(path.Root(partialRecordsAttribute), "Corrupt partial records", m.address()+": "+err.Error())
		}
	}
	return st, diags
}

// readRecorded refreshes a resource's primitives and shows them. With
// required, a resource without records is an error (it must have
// primitives) and one whose primitives are all gone is removed from state.
func readRecorded[M any, P interface {
	*M
	recordedModel
}](ctx context.Context, data *providerData, required bool, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m M
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	records, diags := recordsOf(ctx, req.Private, P(&m))
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	name := P(&m).address()
	if len(records.Records) == 0 {
		if required {
			resp.Diagnostics.AddError("No primitives recorded", name+": the private state holds no records of its primitives, so meridian cannot tell what exists. Remove it from state and import it again.")
		}
		return
	}
	records = refresh(ctx, data, name, records, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(saveRecords(ctx, resp.Private, records)...)
	if required && len(records.Records) == 0 {
		resp.State.RemoveResource(ctx) // every primitive is gone: so is the resource
		return
	}
	P(&m).setPrimitives(primitivesValue(records))
	if !P(&m).partial().IsNull() {
		// Tainted after a failed create: keep the refreshed records where
		// the delete half of its replacement will look for them.
		P(&m).setPartial(partialRecords(records, true))
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

// deleteRecorded destroys a resource's primitives; what cannot be deleted
// stays in state, so that nothing is orphaned.
func deleteRecorded[M any, P interface {
	*M
	recordedModel
}](ctx context.Context, data *providerData, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m M
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	records, diags := recordsOf(ctx, req.Private, P(&m))
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	records = destroy(ctx, data, P(&m).address(), records, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		P(&m).setPrimitives(primitivesValue(records))
		if !P(&m).partial().IsNull() {
			P(&m).setPartial(partialRecords(records, true))
		}
		resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
		resp.Diagnostics.Append(saveRecords(ctx, resp.Private, records)...)
	}
}
