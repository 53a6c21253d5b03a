package main

import (
	"strings"
	"testing"

	"github.com/meridianhq/terraform-provider-meridian/internal/drill"
	"github.com/meridianhq/terraform-provider-meridian/sdk"
)

func TestWriteDrillReport(t *testing.T) {
	rep := sdk.DrillReport{
		ID: "20261129T100000Z", Pair: "orders", Region: "us-east-1",
		MeasuredRTO: "6.712s", TargetRTO: "1h0m0s", MeasuredRPO: "59m31.2s", MeasuredRPOWall: "4.96s", TargetRPO: "15m0s",
		Scope: "namespace", OutageAt: "worst", BackupSchedule: "1h0m0s", TimeCompression: 720,
		RecoveryPoint: &drill.RecoveryPoint{ARN: "arn:aws:backup:us-west-2:123456789012:recovery-point:rp-1", Vault: "meridian-orders-us-west-2", Region: "us-west-2", Age: "59m30s"},
		Writes:        &drill.Writes{Rate: 10, Written: 100, Restored: 51, Lost: 49, FirstLostKey: "drill-x-0000052", LastLostKey: "drill-x-0000100"},
		Failover:      &drill.Failover{Observed: true, Outage: []string{"api-usw2"}, Restored: []string{"api-use1"}},
		Failed:        []string{"RPO 59m31.2s is over the target 15m0s (+20%)"},
		Slowest:       []sdk.DrillStep{{Name: "wait until the service is ready", Duration: "5m0s"}},
		Restored:      5, Identical: false, Mismatch: []string{"config map orders"},
		Steps: []sdk.DrillStep{
			{Name: "snapshot", Duration: "12ms"},
			{Name: "restore k8s_namespace.primary", Group: 1, Duration: "3ms"},
			{Name: "wait until the service is ready", Duration: "5m0s", Error: "deployment orders/orders not available"},
		},
		NotExercised: []string{"AWS data stores"},
		Error:        "wait until the service is ready: deployment orders/orders not available",
	}
	var b strings.Builder
	writeDrillReport(&b, rep, "35m20s")
	want := `
drill 20261129T100000Z of region pair orders (us-east-1): FAILED
      measured    target
RTO     6.712s    1h0m0s
RPO   59m31.2s     15m0s
design estimate of the RTO: 35m20s
scope: namespace, outage at: worst, backup schedule 1h0m0s run 720 times faster (RPO scaled back; 4.96s as measured)
recovery point used: arn:aws:backup:us-west-2:123456789012:recovery-point:rp-1 (vault meridian-orders-us-west-2, us-west-2), 59m30s old at the outage
writes: 100 at 10/s, 51 restored, 49 lost (drill-x-0000052 .. drill-x-0000100)
DNS failover observed: true (answered api-usw2 during the outage, api-use1 after)
FAILED: RPO 59m31.2s is over the target 15m0s (+20%)
restored objects: 5, identical to the snapshot: false
  differs: config map orders

STEP                             GROUP  DURATION  ERROR
snapshot                                12ms
restore k8s_namespace.primary    1      3ms
wait until the service is ready         5m0s      deployment orders/orders not available

slowest steps:
  5m0s  wait until the service is ready

not exercised:
  - AWS data stores

error: wait until the service is ready: deployment orders/orders not available
`
	if b.String() != want {
		t.Errorf("report:\n%s\nwant:\n%s", b.String(), want)
	}
}
