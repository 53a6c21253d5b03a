package drill

import (
	"strings"
	"testing"
	"time"
)

// TestAccount: the writes that came back give the RPO (the newest of them),
// the others are lost, and a write acknowledged before the recovery point
// was made that did not come back is a backup that lost data.
func TestAccount(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)
	var written []write
	for i := 1; i <= 10; i++ {
		at := t0.Add(time.Duration(i) * time.Second)
		written = append(written, write{key: "k" + string(rune('0'+i%10)), sent: at, acked: at.Add(10 * time.Millisecond)})
	}
	rp := RecoveryPoint{created: t0.Add(6500 * time.Millisecond)} // after write 6
	restored := map[string]bool{}
	for _, w := range written[:6] {
		restored[w.key] = true
	}
	got, newest := account(written, restored, rp)
	if got.Written != 10 || got.Restored != 6 || got.Lost != 4 || got.FirstLostKey != written[6].key || got.LastLostKey != written[9].key || got.MissingBeforePoint != 0 {
		t.Errorf("writes %+v", got)
	}
	if !newest.Equal(written[5].sent) {
		t.Errorf("newest restored write %v, want %v", newest, written[5].sent)
	}
	// Write 3 went missing although the point was made after it.
	delete(restored, written[2].key)
	if got, _ := account(written, restored, rp); got.MissingBeforePoint != 1 || got.Lost != 5 {
		t.Errorf("with a write missing before the point: %+v", got)
	}
}

// TestMarkdown: the section names the verdict, the recovery point, the
// writes lost, the failover and why the drill failed.
func TestMarkdown(t *testing.T) {
	md := Report{ID: "d1", Pair: "orders", Region: "us-east-1", Scope: ScopeNamespace, OutageAt: OutageWorst, BackupSchedule: "1h0m0s", TimeCompression: 720,
		MeasuredRPO: "59m", TargetRPO: "15m0s", MeasuredRTO: "20s", TargetRTO: "1h0m0s",
		RecoveryPoint: &RecoveryPoint{ARN: "arn:rp", Vault: "v", Region: "us-west-2", Age: "58m"},
		Writes:        &Writes{Rate: 10, Written: 100, Restored: 51, Lost: 49, FirstLostKey: "k52", LastLostKey: "k100"},
		Failover:      &Failover{Observed: true, Outage: []string{"west"}, Restored: []string{"east"}},
		Failed:        []string{"RPO 59m is over the target 15m0s (+20%)"}}.Markdown()
	for _, want := range []string{"### DR drill d1 of orders: FAILED", "720 times faster", "| RPO | 59m | 15m0s |", "`arn:rp`", "49 lost (k52 to k100)", "observed: true", "**Failed:** RPO 59m"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

// TestOutageTime: worst strikes just before the next backup would start,
// now at once, random within the cycle, and none before the first backup
// is done.
func TestOutageTime(t *testing.T) {
	first := time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)
	done := first.Add(300 * time.Millisecond)
	interval := 5 * time.Second
	if got := outageTime(OutageWorst, first, done, interval, nil); got != first.Add(interval-100*time.Millisecond) {
		t.Errorf("worst: %v", got.Sub(first))
	}
	if got := outageTime(OutageNow, first, done, interval, nil); got != done {
		t.Errorf("now: %v", got.Sub(first))
	}
	if got := outageTime(OutageRandom, first, done, interval, func(n int64) int64 { return n / 2 }); got != first.Add(interval/2) {
		t.Errorf("random: %v", got.Sub(first))
	}
	if got := outageTime(OutageRandom, first, done, interval, func(int64) int64 { return 0 }); got != done {
		t.Errorf("random at the cycle's start, before the backup was done: %v, want when it was done", got.Sub(first))
	}
}
