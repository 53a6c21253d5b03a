package main

import (
	"strings"
	"testing"

	"github.com/meridianhq/terraform-provider-meridian/sdk"
)

func TestWriteDrillReport(t *testing.T) {
	rep := sdk.DrillReport{
		ID: "20261129T100000Z", Pair: "orders", Region: "us-east-1",
		MeasuredRTO: "6.712s", TargetRTO: "1h0m0s", MeasuredRPO: "40ms", TargetRPO: "15m0s",
		Restored: 5, Identical: false, Mismatch: []string{"config map orders"},
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
RPO       40ms     15m0s
design estimate of the RTO: 35m20s
restored objects: 5, identical to the snapshot: false
  differs: config map orders

STEP                             GROUP  DURATION  ERROR
snapshot                                12ms
restore k8s_namespace.primary    1      3ms
wait until the service is ready         5m0s      deployment orders/orders not available

not exercised on this testbed:
  - AWS data stores

error: wait until the service is ready: deployment orders/orders not available
`
	if b.String() != want {
		t.Errorf("report:\n%s\nwant:\n%s", b.String(), want)
	}
}
