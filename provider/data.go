package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// Data protection. A resource is one object to terraform, so when the
// engine would replace one of its buckets or tables, terraform showed an
// update in place, and lifecycle.prevent_destroy could not stop it. Now a
// plan that would delete or replace a primitive that holds data:
//   - marks the attributes that cause it as requiring replacement, so that
//     terraform shows the resource as replaced and prevent_destroy applies;
//   - is an error naming every such primitive that holds data (as its
//     driver's HoldsData says), unless the resource sets allowDataLoss.

const allowDataLoss = "allow_data_loss"

const allowDataLossDescription = "Allow plans that delete or replace primitives holding data: a bucket with objects, a table with items, a backup vault with recovery points. Default false: such a plan is an error that names each of them, and the change that causes it shows as a replacement of the whole resource, which `lifecycle { prevent_destroy = true }` also stops. Destroying the resource is not affected (use prevent_destroy to stop that); its plan names the data it deletes."

// dataTypes are the primitive types whose objects hold data. A driver that
// implements engine.DataHolder makes its type one too.
var dataTypes = map[string]bool{primitive.S3Bucket: true, primitive.DynamoDBTable: true, primitive.BackupVault: true}

func holdsData(drivers engine.Drivers, typ string) bool {
	if dataTypes[typ] {
		return true
	}
	_, ok := drivers[typ].(engine.DataHolder)
	return ok
}

// dataSteps returns the steps of p that delete or replace a primitive that
// holds data.
func dataSteps(drivers engine.Drivers, p engine.Plan) []engine.Step {
	var out []engine.Step
	for _, s := range p.Changes() {
		if (s.Op == engine.OpReplace || s.Op == engine.OpDelete) && holdsData(drivers, s.Type) {
			out = append(out, s)
		}
	}
	return out
}

// protectData reads, through the engine's Preflight, which primitives
// that hold data the plan p of the resource name would delete or replace,
// or every one it has recorded when terraform replaces the whole resource.
// It fails the plan when some hold data, unless allow is true; then it only
// names them in a warning.
func protectData(ctx context.Context, data *providerData, name string, p engine.Plan, records engine.State, replaced bool, allow types.Bool, diags *diag.Diagnostics) {
	drivers := data.drivers()
	if replaced {
		p, _ = engine.Diff(primitive.Graph{}, records, drivers) // every record goes
	}
	lines := dataHeld(ctx, data, name, engine.Plan{Steps: dataSteps(drivers, p)}, records, diags)
	if len(lines) == 0 {
		return
	}
	detail := fmt.Sprintf("%s: this plan deletes or replaces primitives that hold data, and their data goes with them:\n  %s\n",
		name, strings.Join(lines, "\n  "))
	if allow.ValueBool() {
		diags.AddAttributeWarning(path.Root(allowDataLoss), "Data will be deleted", detail+allowDataLoss+" = true allows it.")
		return
	}
	diags.AddAttributeError(path.Root(allowDataLoss), "Plan would delete data",
		detail+"Change the configuration back, or move the data elsewhere first and set "+allowDataLoss+" = true on this resource to allow it.")
}

// dataHeld returns one line for each step of p whose object holds data.
func dataHeld(ctx context.Context, data *providerData, name string, p engine.Plan, records engine.State, diags *diag.Diagnostics) []string {
	if len(p.Steps) == 0 {
		return nil
	}
	pf, err := data.engine(name, nil).Preflight(ctx, p, records)
	if err != nil {
		// Not knowing whether data would go is no reason to let it go.
		diags.AddError("Cannot tell whether data would be deleted", name+": "+err.Error())
		return nil
	}
	var lines []string
	for _, d := range pf.Data {
		lines = append(lines, d.String())
	}
	// A type that holds data but whose driver cannot say whether this
	// object does counts as holding some: the data is what is at stake.
	drivers := data.drivers()
	for _, s := range p.Steps {
		if _, ok := drivers[s.Type].(engine.DataHolder); ok {
			continue
		}
		if rec, ok := records.Get(s.Name); ok && rec.ID != "" {
			lines = append(lines, fmt.Sprintf("%s %s (%s %s in %s) may hold data: its driver cannot tell", s.Op, s.Name, s.Type, rec.ID, s.Region))
		}
	}
	return lines
}

// warnDataDestroyed names, in the plan of a destroy, the data it deletes.
func warnDataDestroyed(ctx context.Context, data *providerData, name string, records engine.State, diags *diag.Diagnostics) {
	p, _ := engine.Diff(primitive.Graph{}, records, data.drivers())
	lines := dataHeld(ctx, data, name, engine.Plan{Steps: dataSteps(data.drivers(), p)}, records, diags)
	if len(lines) > 0 {
		diags.AddWarning("Data will be deleted", fmt.Sprintf("%s: destroying it deletes primitives that hold data:\n  %s", name, strings.Join(lines, "\n  ")))
	}
}

// refuseTaken fails the plan of the resource name when a create of p would
// meet a name that an object not created by this resource already holds
// (the engine's Preflight asks the drivers' Finders): the apply would stop
// there half way, so the plan stops before anything changes. Objects that
// carry this resource's owner mark, left by a create cut short, are not
// taken: the apply adopts them.
func refuseTaken(ctx context.Context, data *providerData, name string, p engine.Plan, records engine.State, diags *diag.Diagnostics) {
	var creates []engine.Step
	for _, s := range p.Changes() {
		if s.Op == engine.OpCreate {
			creates = append(creates, s)
		}
	}
	if len(creates) == 0 {
		return
	}
	pf, err := data.engine(name, nil).Preflight(ctx, engine.Plan{Steps: creates}, records)
	if err != nil {
		diags.AddError("Cannot tell whether names are taken", name+": "+err.Error())
		return
	}
	for _, taken := range pf.Taken {
		diags.AddError("Name already taken", name+": "+taken.Error())
	}
}
