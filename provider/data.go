package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
)

// Data protection. A resource is one object to terraform, so when the
// engine would replace one of its buckets or tables, terraform showed an
// update in place, and lifecycle.prevent_destroy could not stop it. Now a
// plan that would delete or replace a primitive that holds data:
//   - marks the attributes that cause it as requiring replacement, so that
//     terraform shows the resource as replaced and prevent_destroy applies;
//   - is an error naming every such primitive that holds data, unless the
//     resource sets allowDataLoss.

const allowDataLoss = "allow_data_loss"

const allowDataLossDescription = "Allow plans that delete or replace primitives holding data: a bucket with objects, a table with items, a backup vault with recovery points. Default false: such a plan is an error that names each of them, and the change that causes it shows as a replacement of the whole resource, which `lifecycle { prevent_destroy = true }` also stops. Destroying the resource is not affected (use prevent_destroy to stop that); its plan names the data it deletes."

// dataTypes are the primitive types whose objects hold data. A driver that
// implements engine.DataHolder makes its type one too.
var dataTypes = map[string]bool{compile.S3Bucket: true, compile.DynamoDBTable: true, compile.BackupVault: true}

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

// goingRecords returns the records of data-holding primitives that go:
// every one when the whole resource is replaced, else those of steps.
func goingRecords(drivers engine.Drivers, records engine.State, steps []engine.Step, replaced bool) []engine.Record {
	var out []engine.Record
	for _, rec := range records.Records {
		if !holdsData(drivers, rec.Type) {
			continue
		}
		if replaced {
			out = append(out, rec)
			continue
		}
		for _, s := range steps {
			if s.Name == rec.Name {
				out = append(out, rec)
			}
		}
	}
	return out
}

// dataHeld asks the drivers what each record's object holds and returns one
// line for each that holds data, or may: a driver that cannot tell, or a
// call that fails, counts as holding data, since the data is what is at
// stake. A pending create has no object known to hold anything yet.
func dataHeld(ctx context.Context, drivers engine.Drivers, going []engine.Record) []string {
	var lines []string
	for _, rec := range going {
		if rec.ID == "" {
			continue
		}
		what := "may hold data (its driver cannot tell)"
		if dh, ok := drivers[rec.Type].(engine.DataHolder); ok {
			held, err := dh.HoldsData(ctx, rec)
			switch {
			case err != nil:
				what = "may hold data (cannot tell: " + err.Error() + ")"
			case held == "":
				continue
			default:
				what = "holds " + held
			}
		}
		lines = append(lines, fmt.Sprintf("%s (%s %s in %s) %s", rec.Name, rec.Type, rec.ID, rec.Region, what))
	}
	return lines
}

// protectData fails the plan of the resource name when it deletes or
// replaces going records that hold data, unless allow is true; then it only
// names them in a warning.
func protectData(ctx context.Context, data *providerData, name string, going []engine.Record, allow types.Bool, diags *diag.Diagnostics) {
	lines := dataHeld(ctx, data.drivers(), going)
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

// warnDataDestroyed names, in the plan of a destroy, the data it deletes.
func warnDataDestroyed(ctx context.Context, data *providerData, name string, records engine.State, diags *diag.Diagnostics) {
	lines := dataHeld(ctx, data.drivers(), goingRecords(data.drivers(), records, nil, true))
	if len(lines) > 0 {
		diags.AddWarning("Data will be deleted", fmt.Sprintf("%s: destroying it deletes primitives that hold data:\n  %s", name, strings.Join(lines, "\n  ")))
	}
}
