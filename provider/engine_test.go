package provider

import (
	"context"
	"testing"

	awscloud "github.com/meridianhq/terraform-provider-meridian/internal/cloud/aws"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed"
)

// TestOneEnginePerProcess: every resource of a provider process deploys
// through the process's one engine, each with its own owner scope, so the
// limiters and the parallelism places are the run's and not a resource's.
func TestOneEnginePerProcess(t *testing.T) {
	aws := testbed.StartAWSForTest(t)
	cloud, err := awscloud.New(context.Background(), awscloud.Config{Endpoint: aws.Endpoint(), Emulator: true, AccessKey: "test", SecretKey: "test"})
	if err != nil {
		t.Fatal(err)
	}
	d := &providerData{cloud: cloud, parallelism: 3}
	d.newEngine()
	a, b := d.engine("meridian_region_pair.a", nil), d.engine("meridian_dr_policy.b", nil)
	if a.Shared != cloud.Limiters() || b.Shared != cloud.Limiters() {
		t.Error("a resource's engine does not use the process's limiters")
	}
	if a.Scope != "meridian_region_pair/a" || b.Scope != "meridian_dr_policy/b" {
		t.Errorf("scopes %q and %q, want each resource's address", a.Scope, b.Scope)
	}
	if len(a.Drivers) == 0 || len(a.Drivers) != len(d.eng.Drivers) {
		t.Errorf("%d drivers, the process's engine has %d", len(a.Drivers), len(d.eng.Drivers))
	}
	for typ := range d.eng.Drivers {
		if a.Drivers[typ] != d.eng.Drivers[typ] || b.Drivers[typ] != d.eng.Drivers[typ] {
			t.Errorf("%s: a resource has a driver of its own", typ)
		}
	}
}
