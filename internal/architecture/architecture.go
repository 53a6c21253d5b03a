// Package architecture writes the architecture document of a stack: its
// requirements, topology, data, routing, disaster recovery, capacity, cost,
// security, observability and risks, with every decision defended by an
// alternative and the trade-off in numbers computed from this stack, each
// number naming where it comes from (the plan, the price table and its
// date, the last drill and its date, the forecast). Diagrams are drawn as
// SVG beside it. Review lists what the document cannot defend.
//
// It is a pure function of what the caller already compiled and measured:
// it does no I/O, and Now is given, so the same evidence always gives the
// same document.
package architecture

import (
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
	"github.com/meridianhq/terraform-provider-meridian/internal/drill"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// Stack is the evidence the document is written from.
type Stack struct {
	// Name titles the document (the stack's or the configuration's name).
	Name     string
	Pairs    []Pair
	Policies []Policy
	Capacity []Capacity
	// TagPolicies are checked against Governed, the primitives of every
	// resource tagged as they deploy (stack.TagGraphs).
	TagPolicies []blueprint.TagPolicy
	Governed    []Governed
	// Prices dates the document's prices and gives the hours in a month;
	// the shipped table when empty.
	Prices blueprint.PriceTable
	// Now dates the review: a drill older than MaxDrillAge at Now is stale.
	Now time.Time
}

// Pair is a region pair and the primitives it compiles into.
type Pair struct {
	Address   string
	Blueprint blueprint.RegionPair
	Graph     primitive.Graph
}

// Policy is a DR policy, its compiled primitives and runbook, and the
// report of the pair's latest drill (nil when it was never drilled).
type Policy struct {
	Address   string
	Blueprint blueprint.DRPolicy
	Graph     primitive.Graph
	Runbook   compile.Runbook
	Drill     *drill.Report
}

// Capacity is a capacity reservation with its demand resolved (so that it
// can be planned again with other knobs) and its plan.
type Capacity struct {
	Address   string
	Blueprint blueprint.Capacity
	Plan      blueprint.CapacityPlan
	// Prices is the table the plan was priced with.
	Prices blueprint.PriceTable
}

// Governed is one resource's primitives with the tags they deploy with.
type Governed struct {
	Resource string
	Graph    primitive.Graph
}

// MaxDrillAge is how old the last drill may be before the DR policy counts
// as unproven again: a quarter, the longest drill schedule meridian offers.
const MaxDrillAge = 90 * 24 * time.Hour

// drillPeriods are the drill schedules a policy may name, and how old its
// last drill may then be: a monthly drill 40 days ago has missed one.
var drillPeriods = map[string]time.Duration{
	"daily": 24 * time.Hour, "weekly": 7 * 24 * time.Hour, "monthly": 31 * 24 * time.Hour, "quarterly": MaxDrillAge,
}

// allowedAge is how old a policy's last drill may be: its schedule's
// period, and never more than MaxDrillAge.
func allowedAge(schedule string) time.Duration {
	if d, ok := drillPeriods[schedule]; ok && d < MaxDrillAge {
		return d
	}
	return MaxDrillAge
}

// Document is the generated document.
type Document struct {
	Markdown  string
	Diagrams  []Diagram
	Decisions []Decision
	// Findings are what cannot be defended (see Review).
	Findings []Finding
}

// Diagram is one SVG image, referred to from the Markdown by its file name.
type Diagram struct {
	File  string
	Title string
	SVG   string
}

// Decision is a choice the stack makes, defended by an alternative and
// the numbers that separate them.
type Decision struct {
	// Section is the number of the document's section it appears in.
	Section     int
	Topic       string
	Choice      string
	Alternative string
	// Why says what the numbers mean for the choice.
	Why       string
	TradeOffs []TradeOff
}

// TradeOff is one quantity under the choice and under the alternative.
type TradeOff struct {
	Quantity    string
	Chosen      string
	Alternative string
	// Source names where the numbers come from.
	Source string
}

// Finding is one thing the document cannot defend.
type Finding struct {
	Kind     string `json:"kind"`
	Resource string `json:"resource"`
	Detail   string `json:"detail"`
}

// Kinds of finding.
const (
	NoDRPolicy    = "no_dr_policy"
	NeverDrilled  = "never_drilled"
	StaleDrill    = "stale_drill"
	FailedDrill   = "failed_drill"
	RPONotBacked  = "rpo_not_backed"
	UntaggedCost  = "untagged_cost"
	NoAlternative = "no_alternative"
)
