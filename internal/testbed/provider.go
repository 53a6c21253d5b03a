package testbed

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// The provider's address and the version the mirror serves.
const (
	ProviderHostname  = "registry.terraform.io"
	ProviderNamespace = "meridianhq"
	ProviderType      = "meridian"
	ProviderVersion   = "0.1.0"
)

// ProviderPlatform is the terraform platform the provider is built for: the
// platform this code runs on.
func ProviderPlatform() string { return runtime.GOOS + "_" + runtime.GOARCH }

// ProviderBinaryPath is where InstallProvider puts the provider inside
// mirrorDir, in terraform's filesystem-mirror layout:
// registry.terraform.io/meridianhq/meridian/0.1.0/linux_amd64/terraform-provider-meridian_v0.1.0
func ProviderBinaryPath(mirrorDir string) string {
	return filepath.Join(mirrorDir, ProviderHostname, ProviderNamespace, ProviderType, ProviderVersion,
		ProviderPlatform(), "terraform-provider-"+ProviderType+"_v"+ProviderVersion)
}

// InstallProvider builds the provider from repoRoot (`go build .`) into the
// filesystem mirror mirrorDir. Delete any .terraform.lock.hcl made against an
// earlier build of the same version before `terraform init`.
func InstallProvider(repoRoot, mirrorDir string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("install provider: go not found on PATH: %w", err)
	}
	dest, err := filepath.Abs(ProviderBinaryPath(mirrorDir))
	if err != nil {
		return fmt.Errorf("install provider: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return fmt.Errorf("install provider: %w", err)
	}
	cmd := exec.Command(goBin, "build", "-o", dest, ".")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("install provider: go build -o %s . (in %s): %w\n%s", dest, repoRoot, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// WriteCLIConfig writes a terraform CLI config (for TF_CLI_CONFIG_FILE) that
// installs registry.terraform.io/meridianhq/* from the filesystem mirror
// mirrorDir and every other provider directly. It also turns off
// terraform's checkpoint call, so terraform talks to nothing but loopback.
func WriteCLIConfig(path, mirrorDir string) error {
	abs, err := filepath.Abs(mirrorDir)
	if err != nil {
		return fmt.Errorf("write CLI config: %w", err)
	}
	include := quote(ProviderHostname + "/" + ProviderNamespace + "/*")
	config := fmt.Sprintf(`# Written by internal/testbed: install meridian from a local filesystem mirror.
disable_checkpoint = true

provider_installation {
  filesystem_mirror {
    path    = %s
    include = [%s]
  }
  direct {
    exclude = [%s]
  }
}
`, quote(abs), include, include)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write CLI config: %w", err)
	}
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		return fmt.Errorf("write CLI config: %w", err)
	}
	return nil
}

// quote renders s as a double-quoted HCL string.
func quote(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSpace(b.String())
}
