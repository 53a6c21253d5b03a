package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
)

// The formats this provider persists in terraform's state, each with a
// version and a way up from older ones: the records a resource keeps in
// its private state (privateVersion), and the resources' own state (the
// schema version, upgraded by terraform's UpgradeResourceState).

// privateVersion is the format of the records in a resource's private
// state. Every write carries it. A reader takes records without a version
// as version 1 (they had none before), upgrades an older version with the
// steps in privateUpgrades (the next write is at privateVersion), and
// refuses a newer one: this provider would misread the records, and the
// deletes and updates it plans from them would be wrong.
const privateVersion = 1

// privateUpgrades[v] turns the JSON of records of format version v into
// version v+1. A change of format bumps privateVersion and adds a step
// here; testdata/private_records_v1.json must go on loading. Version 1 is
// the first: no steps.
var privateUpgrades = map[int]func(raw []byte) ([]byte, error){}

// privateRecords is the stored form of a resource's records.
type privateRecords struct {
	Version int `json:"version"`
	engine.State
}

func encodeRecords(st engine.State) ([]byte, error) {
	return json.Marshal(privateRecords{Version: privateVersion, State: st})
}

// decodeRecords reads records of any known format version. The version
// is checked before a decoding error is reported: a newer format may not
// fit today's types, and must be refused as newer, not as corrupt.
func decodeRecords(raw []byte) (engine.State, error) {
	var p privateRecords
	err := json.Unmarshal(raw, &p)
	if syntax := (*json.SyntaxError)(nil); errors.As(err, &syntax) {
		return engine.State{}, fmt.Errorf("the records of this resource's primitives in its private state are corrupt: %w", err)
	}
	v := max(p.Version, 1) // none is version 1
	if v > privateVersion {
		return engine.State{}, fmt.Errorf("the records of this resource's primitives in its private state have format version %d, newer than this provider's %d: they were written by a newer meridian provider, which this one would misread; use that provider version or newer (nothing was changed)", v, privateVersion)
	}
	if err != nil {
		return engine.State{}, fmt.Errorf("the records of this resource's primitives in its private state are corrupt: %w", err)
	}
	for ; v < privateVersion; v++ {
		step, ok := privateUpgrades[v]
		if !ok {
			return engine.State{}, fmt.Errorf("the records in this resource's private state have format version %d, which this provider (format %d) cannot upgrade", v, privateVersion)
		}
		if raw, err = step(raw); err != nil {
			return engine.State{}, fmt.Errorf("upgrade the records in this resource's private state from format version %d: %w", v, err)
		}
		p = privateRecords{}
		if err := json.Unmarshal(raw, &p); err != nil {
			return engine.State{}, fmt.Errorf("the records in this resource's private state, upgraded from format version %d, are corrupt: %w", v, err)
		}
	}
	return p.State, nil
}

// schemaVersion is the version of every meridian resource's schema. A
// change that terraform's state of an older version does not fit bumps it
// and adds an upgrader from the older version to stateUpgraders; terraform
// then calls it (UpgradeResourceState) before anything else reads the
// state, and writes the state back at schemaVersion.
const schemaVersion = 1

// stateUpgraders is every resource's UpgradeState. Version 0 is the schema
// of before versions, the same as version 1.
func stateUpgraders() map[int64]resource.StateUpgrader {
	return map[int64]resource.StateUpgrader{
		0: {StateUpgrader: sameSchema},
	}
}

// sameSchema upgrades a state whose schema is the current one under an
// older version number: it reads it with the current schema, as the
// framework reads a state of the current version (ignoring attributes the
// schema no longer has).
func sameSchema(ctx context.Context, req resource.UpgradeStateRequest, resp *resource.UpgradeStateResponse) {
	if req.RawState == nil {
		resp.Diagnostics.AddError("Unable to upgrade resource state", "terraform sent no prior state to upgrade")
		return
	}
	raw, err := req.RawState.UnmarshalWithOpts(resp.State.Schema.Type().TerraformType(ctx), tfprotov6.UnmarshalOpts{
		ValueFromJSONOpts: tftypes.ValueFromJSONOpts{IgnoreUndefinedAttributes: true},
	})
	if err != nil {
		resp.Diagnostics.AddError("Unable to upgrade resource state", "The state of schema version 0 does not fit the current schema: "+err.Error())
		return
	}
	resp.State.Raw = raw
}

var (
	_ resource.ResourceWithUpgradeState = (*regionPair)(nil)
	_ resource.ResourceWithUpgradeState = (*costTagPolicy)(nil)
	_ resource.ResourceWithUpgradeState = (*drPolicy)(nil)
	_ resource.ResourceWithUpgradeState = (*drDrill)(nil)
	_ resource.ResourceWithUpgradeState = (*capacityReservation)(nil)
)

func (r *regionPair) UpgradeState(context.Context) map[int64]resource.StateUpgrader {
	return stateUpgraders()
}

func (r *costTagPolicy) UpgradeState(context.Context) map[int64]resource.StateUpgrader {
	return stateUpgraders()
}

func (r *drPolicy) UpgradeState(context.Context) map[int64]resource.StateUpgrader {
	return stateUpgraders()
}

func (r *drDrill) UpgradeState(context.Context) map[int64]resource.StateUpgrader {
	return stateUpgraders()
}

func (r *capacityReservation) UpgradeState(context.Context) map[int64]resource.StateUpgrader {
	return stateUpgraders()
}
