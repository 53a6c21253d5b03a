package examples

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/meridianhq/terraform-provider-meridian/internal/testbed"
)

// The signed snapshot is built once per test binary: every test here
// installs the same release.
var (
	snapshotOnce sync.Once
	snapshot     testbed.Release
	snapshotErr  error
)

// signedSnapshot runs scripts/release-snapshot.sh (goreleaser v2.14.3,
// built into ~/.cache/meridian on first use; a throwaway RSA key; gpg
// --verify) and loads dist/.
func signedSnapshot(t *testing.T, repoRoot string) testbed.Release {
	t.Helper()
	testbed.RequireTool(t, "gpg")
	testbed.RequireTool(t, "go")
	snapshotOnce.Do(func() {
		cmd := exec.Command("bash", filepath.Join(repoRoot, "scripts", "release-snapshot.sh"))
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), "SNAPSHOT_VERSION="+testbed.ProviderVersion)
		out, err := cmd.CombinedOutput()
		if err != nil {
			snapshotErr = err
			t.Logf("release-snapshot.sh:\n%s", out)
			return
		}
		snapshot, snapshotErr = testbed.LoadRelease(filepath.Join(repoRoot, "dist"), testbed.ProviderVersion)
	})
	if snapshotErr != nil {
		t.Fatalf("release snapshot: %v", snapshotErr)
	}
	return snapshot
}

// startRegistry serves rel from the testbed's registry for this test.
func startRegistry(t *testing.T, rel testbed.Release) *testbed.Registry {
	t.Helper()
	reg, err := testbed.StartRegistry(rel, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close() })
	return reg
}

// TestAccRegistryQuickstart installs meridian the way a user does, from a
// registry, with terraform: the signed snapshot served by the testbed's
// registry over HTTPS (a host block in the CLI config stands for
// registry.terraform.io), the signature checked by terraform, then the
// quickstart applied on moto, checked with boto3, and destroyed.
func TestAccRegistryQuickstart(t *testing.T) {
	tf := registryTool(t, "terraform")
	registryQuickstart(t, tf, "registry.terraform.io")
}

// TestAccRegistryQuickstartTofu is the same under OpenTofu, which resolves
// meridianhq/meridian at registry.opentofu.org. MERIDIAN_TOFU is the tofu to
// run (make testacc-tofu builds it and sets it).
func TestAccRegistryQuickstartTofu(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 to run it (make testacc-tofu does)")
	}
	tofu := os.Getenv("MERIDIAN_TOFU")
	if tofu == "" {
		// Not Unavailable: make test runs without tofu by design, and
		// make testacc-tofu (a CI step of its own) runs this test.
		t.Skip("skipped: MERIDIAN_TOFU is not set; make testacc-tofu builds tofu and runs this test")
	}
	registryQuickstart(t, tofu, "registry.opentofu.org")
}

// TestAccRegistryRefusesBadSignature proves the install above checks the
// signature: the same release with one byte of its SHA256SUMS signature
// changed must not install.
func TestAccRegistryRefusesBadSignature(t *testing.T) {
	tf := registryTool(t, "terraform")
	repoRoot := repoRoot(t)
	rel := signedSnapshot(t, repoRoot)

	tampered := rel
	tampered.Dir = t.TempDir()
	copyRelease(t, rel, tampered.Dir)
	sig := filepath.Join(tampered.Dir, "terraform-provider-meridian_"+rel.Version+"_SHA256SUMS.sig")
	data, err := os.ReadFile(sig)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-1] ^= 0xff
	if err := os.WriteFile(sig, data, 0o644); err != nil {
		t.Fatal(err)
	}
	reg := startRegistry(t, tampered)
	work, env := registryWork(t, reg, repoRoot, reg.RegistryCLIConfig("registry.terraform.io"))
	out, code := runTerraform(t, tf, work, env, "init", "-input=false", "-no-color")
	if code == 0 {
		t.Fatalf("terraform init installed a release whose signature was tampered with:\n%s", out)
	}
	if !strings.Contains(strings.ToLower(out), "signature") {
		t.Fatalf("terraform init failed, but not on the signature:\n%s", out)
	}
}

// TestAccRegistryMirror installs meridian through the registry's network
// mirror for the default source address, with no host block: the provider
// terraform installed must be the very binary in the release's zip.
func TestAccRegistryMirror(t *testing.T) {
	tf := registryTool(t, "terraform")
	repoRoot := repoRoot(t)
	rel := signedSnapshot(t, repoRoot)
	reg := startRegistry(t, rel)
	work, env := registryWork(t, reg, repoRoot, reg.MirrorCLIConfig())
	out, code := runTerraform(t, tf, work, env, "init", "-input=false", "-no-color")
	if code != 0 {
		t.Fatalf("terraform init from the network mirror: exit %d\n%s", code, out)
	}
	binary := "terraform-provider-meridian_v" + rel.Version
	installed, err := os.ReadFile(filepath.Join(work, ".terraform", "providers", "registry.terraform.io",
		testbed.ProviderNamespace, testbed.ProviderType, rel.Version, testbed.ProviderPlatform(), binary))
	if err != nil {
		t.Fatalf("terraform init did not install meridian from the mirror: %v\n%s", err, out)
	}
	zr, err := zip.OpenReader(filepath.Join(rel.Dir, rel.Archives[testbed.ProviderPlatform()].File))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	f, err := zr.Open(binary)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	released, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(installed, released) {
		t.Fatalf("the installed provider (%d bytes) is not the released one (%d bytes)", len(installed), len(released))
	}
}

// registryQuickstart: init from the registry (signature checked), apply,
// verify with boto3, destroy, verify nothing is left.
func registryQuickstart(t *testing.T, tf, hostname string) {
	testbed.RequireTool(t, "moto_server")
	python := testbed.RequireTool(t, "python3")
	testbed.RequirePythonModule(t, python, "boto3")
	repoRoot := repoRoot(t)
	rel := signedSnapshot(t, repoRoot)
	reg := startRegistry(t, rel)

	cloud := testbed.StartAWSForTest(t)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("moto log (tail):\n%s", cloud.Moto.LogTail(40))
		}
	})
	work, env := registryWork(t, reg, repoRoot, reg.RegistryCLIConfig(hostname))
	mustRun := func(args ...string) string {
		t.Helper()
		out, code := runTerraform(t, tf, work, env, args...)
		if code != 0 {
			t.Fatalf("%s %s: exit %d\n%s", filepath.Base(tf), strings.Join(args, " "), code, out)
		}
		return out
	}

	out := mustRun("init", "-input=false", "-no-color")
	// "Installed meridianhq/meridian v0.1.0 (self-signed, key ID ...)": the
	// client checked the signature with the key the registry named.
	installed := regexp.MustCompile(`(?i)installed meridianhq/meridian v` + regexp.QuoteMeta(rel.Version) + ` \(.*key id ` + regexp.QuoteMeta(rel.KeyID) + `\)`)
	if !installed.MatchString(out) {
		t.Fatalf("init did not report meridian %s as signed by key %s:\n%s", rel.Version, rel.KeyID, out)
	}
	t.Logf("init:\n%s", out)

	verify := filepath.Join(repoRoot, "scripts", "verify_quickstart.py")
	vars := []string{"-var", "aws_endpoint=" + cloud.Endpoint()}
	mustRun(append([]string{"apply", "-auto-approve", "-input=false", "-no-color"}, vars...)...)
	verifyQuickstart(t, python, verify, "present", cloud.Moto.Endpoint())
	mustRun(append([]string{"destroy", "-auto-approve", "-input=false", "-no-color"}, vars...)...)
	verifyQuickstart(t, python, verify, "absent", cloud.Moto.Endpoint())
}

// registryWork is a copy of examples/quickstart and the environment of a
// terraform or tofu that installs providers as cliConfig says and trusts
// the registry's CA.
func registryWork(t *testing.T, reg *testbed.Registry, repoRoot, cliConfig string) (string, []string) {
	t.Helper()
	tmp := t.TempDir()
	config := filepath.Join(tmp, "cli.tfrc")
	if err := os.WriteFile(config, []byte(cliConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(tmp, "quickstart")
	if err := copyExample(filepath.Join(repoRoot, "examples", "quickstart"), work); err != nil {
		t.Fatal(err)
	}
	return work, append(terraformEnv(config), reg.Env()...)
}

// registryTool is terraform for an acceptance test (TF_ACC=1).
func registryTool(t *testing.T, name string) string {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 to run it (make test and make testacc do)")
	}
	return testbed.RequireTool(t, name)
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// copyRelease copies the files a registry serves from rel into dir.
func copyRelease(t *testing.T, rel testbed.Release, dir string) {
	t.Helper()
	names := []string{
		"terraform-provider-meridian_" + rel.Version + "_SHA256SUMS",
		"terraform-provider-meridian_" + rel.Version + "_SHA256SUMS.sig",
		"signing-key.asc", "signing-key.id",
	}
	for _, a := range rel.Archives {
		names = append(names, a.File)
	}
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(rel.Dir, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
