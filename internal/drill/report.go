package drill

import (
	"fmt"
	"strings"
)

// Markdown writes the report as a section an architecture document can
// include: the verdict, the measurements against the targets, the recovery
// point, the writes lost, the failover, the slowest steps and what was not
// exercised.
func (r Report) Markdown() string {
	var b strings.Builder
	verdict := map[bool]string{true: "passed", false: "FAILED"}[r.Passed]
	fmt.Fprintf(&b, "### DR drill %s of %s: %s\n\n", r.ID, r.Pair, verdict)
	fmt.Fprintf(&b, "Primary region %s lost (scope: %s), outage at %s of the backup cycle, %s.\n", r.Region, r.Scope, r.OutageAt, r.OutageStart)
	if r.TimeCompression > 1 {
		fmt.Fprintf(&b, "The %s backup schedule ran %g times faster; the RPO is scaled back by that factor, the RTO is real time.\n", r.BackupSchedule, r.TimeCompression)
	}
	b.WriteString("\n| | measured | target |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| RTO | %s | %s |\n| RPO | %s | %s |\n\n", orDash(r.MeasuredRTO), r.TargetRTO, orDash(r.MeasuredRPO), r.TargetRPO)
	if rp := r.RecoveryPoint; rp != nil {
		fmt.Fprintf(&b, "- Recovery point used: `%s` in vault %s (%s), created %s, %s old at the outage.\n", rp.ARN, rp.Vault, rp.Region, rp.Created, rp.Age)
	}
	if w := r.Writes; w != nil {
		fmt.Fprintf(&b, "- Writes: %d at %g/s, %d restored, %d lost", w.Written, w.Rate, w.Restored, w.Lost)
		if w.Lost > 0 {
			fmt.Fprintf(&b, " (%s to %s)", w.FirstLostKey, w.LastLostKey)
		}
		b.WriteString(".\n")
	}
	if f := r.Failover; f != nil {
		fmt.Fprintf(&b, "- DNS failover observed: %v (answered %s during the outage, %s after the restore).\n", f.Observed, strings.Join(f.Outage, ","), strings.Join(f.Restored, ","))
	}
	fmt.Fprintf(&b, "- Workload objects restored: %d, identical to the snapshot: %v.\n", r.Restored, r.Identical)
	for _, f := range r.Failed {
		fmt.Fprintf(&b, "- **Failed:** %s\n", f)
	}
	if len(r.Slowest) > 0 {
		b.WriteString("\nSlowest steps (the gaps to fix first):\n\n")
		for _, s := range r.Slowest {
			fmt.Fprintf(&b, "1. %s: %s\n", s.Name, s.Duration)
		}
	}
	if len(r.NotExercised) > 0 {
		b.WriteString("\nNot exercised:\n\n")
		for _, n := range r.NotExercised {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	if r.Error != "" {
		fmt.Fprintf(&b, "\nError: %s\n", r.Error)
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
