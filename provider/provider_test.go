package provider

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/meridianhq/terraform-provider-meridian/internal/testbed"
)

var providerFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"meridian": providerserver.NewProtocol6WithError(New("test")()),
}

// One moto server (behind the strict layer with MERIDIAN_STRICT) serves
// every acceptance test of the package; each test uses its own names, so
// they do not see each other's objects.
var (
	motoOnce sync.Once
	cloudbed *testbed.AWS
	motoErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if cloudbed != nil {
		_ = cloudbed.Stop()
	}
	os.Exit(code)
}

// acceptance checks what an acceptance test needs: TF_ACC, a terraform
// binary (never a download) and a moto server. It returns the endpoint for
// the provider: the strict layer's with MERIDIAN_STRICT, else moto's.
// Independent checks go to moto directly (see cloud.cfg).
func acceptance(t *testing.T) string {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		testbed.Unavailable(t, "acceptance tests need TF_ACC=1 (make test sets it)")
	}
	if p := os.Getenv("TF_ACC_TERRAFORM_PATH"); p == "" {
		path := testbed.RequireTool(t, "terraform")
		t.Setenv("TF_ACC_TERRAFORM_PATH", path)
	} else if _, err := exec.LookPath(p); err != nil {
		testbed.Unavailable(t, "TF_ACC_TERRAFORM_PATH=%s is not a program: %v", p, err)
	}
	testbed.RequireTool(t, "moto_server")
	motoOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		cloudbed, motoErr = testbed.StartAWS(ctx, os.Stderr)
	})
	if motoErr != nil {
		t.Fatalf("moto: %v", motoErr)
	}
	// Each test starts from an empty moto: moto keeps a deleted backup
	// plan's name taken (AWS does not), and grows slower as it fills.
	if err := cloudbed.Reset(); err != nil {
		t.Fatalf("moto reset: %v", err)
	}
	cloudbed.ForTest(t)
	return cloudbed.Endpoint()
}

// direct is the endpoint an independent check uses where the provider was
// given endpoint: moto itself (or the capacity API without the strict
// layer), so that the layer's faults and delays never touch a check.
func direct(endpoint string) string {
	if cloudbed == nil || endpoint != cloudbed.Endpoint() {
		return endpoint
	}
	return cloudbed.Moto.Endpoint()
}

func providerConfig(endpoint, defaultTags string) string {
	return fmt.Sprintf(`
provider "meridian" {
  aws {
    endpoint                    = %q
    access_key                  = "test"
    secret_key                  = "test"
    s3_use_path_style           = true
    skip_credentials_validation = true
    emulator                    = true
  }
  default_tags = %s
}
`, endpoint, defaultTags)
}
