package provider

import (
	"fmt"
	"slices"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// claims are the graphs the resources of one terraform run planned, in one
// provider process (terraform plans every resource of a configuration
// through one instance of its provider), so that two resources that would
// claim the same cloud name fail the plan at both, not the apply half way.
type claims struct {
	mu     sync.Mutex
	graphs []claimed
}

type claimed struct {
	resource string
	g        primitive.Graph
}

// check adds a resource's planned graph and reports, at the attribute that
// makes each name, every name another resource of the run also claims.
func (c *claims) check(resource string, g primitive.Graph, paths map[string]path.Path, diags *diag.Diagnostics) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// terraform plans a resource it replaces twice (the second time as a
	// create): a resource's later plan replaces its earlier one. Two
	// resources with one name attribute are one to this check; they claim
	// every name alike, and their own rules report that.
	c.graphs = slices.DeleteFunc(c.graphs, func(o claimed) bool { return o.resource == resource })
	graphs := []primitive.Graph{g}
	for _, other := range c.graphs {
		graphs = append(graphs, other.g)
	}
	for _, clash := range compile.CheckNames(graphs...) {
		if clash.First.Graph != 0 && clash.Second.Graph != 0 {
			continue // between two others, reported when they were planned
		}
		other := clash.First
		if other.Graph == 0 {
			other = clash.Second
		}
		if other.Graph == 0 {
			continue // within the resource: its own rules report it
		}
		at, ok := paths[clash.Kind]
		if !ok {
			at = path.Root("name")
		}
		diags.AddAttributeError(at, compile.ClashSummary,
			fmt.Sprintf("%s: %s is also claimed by %s in this configuration: only one object can have it, so one of them would fail half way through apply (or, for a Route 53 zone, make two zones of one name). Give each its own.",
				resource, clash.Claim, c.graphs[other.Graph-1].resource))
	}
	c.graphs = append(c.graphs, claimed{resource, g})
}

// pairClaimPaths are the region pair attributes that make each kind of name.
var pairClaimPaths = map[string]path.Path{
	"S3 bucket":            path.Root("object_store").AtName("bucket_prefix"),
	"DynamoDB table":       path.Root("kv_table").AtName("name"),
	"Route 53 hosted zone": path.Root("dns").AtName("zone_name"),
}

// checkLimits makes every AWS tag limit a graph would break at apply an
// error of the plan, counting the ownership marks the resource's engine
// adds (compile.CheckLimits): AWS would refuse the object half way through
// the apply.
func checkLimits(address string, g primitive.Graph, diags *diag.Diagnostics) {
	diags.Append(violationDiagnostics(compile.CheckLimits(address, scope(address), g))...)
}
