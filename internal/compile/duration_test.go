package compile

import (
	"testing"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
)

// A runbook's estimate (estimated_rto) and every step's estimate read back
// as durations: the estimate itself is an RTO the policy accepts.
func TestRunbookEstimateReadsBackAsRTO(t *testing.T) {
	p := checkoutDR()
	p.RTO = "30d"
	_, rb, err := DRPolicy(p, defaultTags)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rb.Steps {
		if _, err := blueprint.ParseDuration(s.Estimate); err != nil {
			t.Errorf("step %s: estimate %q does not read back: %v", s.Primitive, s.Estimate, err)
		}
	}
	p.RTO = rb.Estimate
	if _, _, err := DRPolicy(p, defaultTags); err != nil {
		t.Errorf("rto = estimated_rto %q: %v", rb.Estimate, err)
	}
	if _, rb2, _ := DRPolicy(p, defaultTags); rb2.Estimate != rb.Estimate {
		t.Errorf("estimate changed: %q then %q", rb.Estimate, rb2.Estimate)
	}
}
