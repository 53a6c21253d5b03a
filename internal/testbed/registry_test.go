package testbed

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeRelease writes a release's files as scripts/release-snapshot.sh
// leaves them (the bytes are stand-ins: the protocol, not gpg, is tested
// here; examples/registry_test.go installs a real signed release).
func fakeRelease(t *testing.T) (Release, []byte) {
	t.Helper()
	dir := t.TempDir()
	zip := []byte("not really a zip")
	sum := sha256.Sum256(zip)
	name := "terraform-provider-meridian_0.1.0_linux_amd64.zip"
	files := map[string]string{
		name: string(zip),
		"terraform-provider-meridian_0.1.0_SHA256SUMS": hex.EncodeToString(sum[:]) + "  " + name + "\n" +
			strings.Repeat("0", 64) + "  terraform-provider-meridian_0.1.0_manifest.json\n",
		"terraform-provider-meridian_0.1.0_SHA256SUMS.sig": "signature",
		"signing-key.asc": "-----BEGIN PGP PUBLIC KEY BLOCK-----\n...",
		"signing-key.id":  "ABCDEF0123456789\n",
		"secret.txt":      "not part of the release",
	}
	for n, data := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rel, err := LoadRelease(dir, "0.1.0")
	if err != nil {
		t.Fatal(err)
	}
	return rel, zip
}

// TestRegistryProtocol checks each answer of the registry and mirror
// protocols, through a client that trusts only the run's CA.
func TestRegistryProtocol(t *testing.T) {
	rel, zip := fakeRelease(t)
	if len(rel.Archives) != 1 || rel.KeyID != "ABCDEF0123456789" {
		t.Fatalf("LoadRelease: archives %v, key id %q: want linux_amd64 only (the manifest is no archive) and the key id", rel.Archives, rel.KeyID)
	}
	reg, err := StartRegistry(rel, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()

	// Without the CA the certificate must not be trusted: the trust is the
	// run's CA, handed over with SSL_CERT_FILE.
	if _, err := http.Get(reg.URL + "/.well-known/terraform.json"); err == nil {
		t.Fatal("the registry's certificate was trusted without its CA")
	}
	pem, err := os.ReadFile(reg.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", reg.CAFile)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	get := func(path string, wantStatus int) []byte {
		t.Helper()
		resp, err := client.Get(reg.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != wantStatus {
			t.Fatalf("GET %s: %d, want %d: %s", path, resp.StatusCode, wantStatus, body)
		}
		return body
	}
	decode := func(body []byte, v any) {
		t.Helper()
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
	}

	var disco map[string]string
	decode(get("/.well-known/terraform.json", 200), &disco)
	if disco["providers.v1"] != "/v1/providers/" {
		t.Fatalf("discovery: %v", disco)
	}
	var versions struct {
		Versions []struct {
			Version   string
			Protocols []string
			Platforms []struct{ OS, Arch string }
		}
	}
	decode(get("/v1/providers/meridianhq/meridian/versions", 200), &versions)
	if len(versions.Versions) != 1 || versions.Versions[0].Version != "0.1.0" || versions.Versions[0].Protocols[0] != "6.0" ||
		len(versions.Versions[0].Platforms) != 1 || versions.Versions[0].Platforms[0].OS != "linux" || versions.Versions[0].Platforms[0].Arch != "amd64" {
		t.Fatalf("versions: %+v", versions)
	}
	body := get("/v1/providers/meridianhq/meridian/0.1.0/download/linux/amd64", 200)
	var raw map[string]any
	decode(body, &raw)
	for _, k := range []string{"download_url", "shasums_url", "shasums_signature_url"} {
		if s, _ := raw[k].(string); !strings.HasPrefix(s, reg.URL+"/files/") {
			t.Fatalf("download: %s = %v", k, raw[k])
		}
	}
	keys, _ := raw["signing_keys"].(map[string]any)["gpg_public_keys"].([]any)
	if len(keys) != 1 || keys[0].(map[string]any)["key_id"] != "ABCDEF0123456789" {
		t.Fatalf("download: signing keys %v", raw["signing_keys"])
	}
	sum := sha256.Sum256(zip)
	if raw["shasum"] != hex.EncodeToString(sum[:]) {
		t.Fatalf("download: shasum %v", raw["shasum"])
	}
	if got := get("/files/"+raw["filename"].(string), 200); string(got) != string(zip) {
		t.Fatalf("the archive served is not the release's")
	}
	get("/files/terraform-provider-meridian_0.1.0_SHA256SUMS.sig", 200)

	// Mirror, for both default hostnames.
	for _, host := range MirrorHosts {
		var index struct{ Versions map[string]any }
		decode(get("/mirror/"+host+"/meridianhq/meridian/index.json", 200), &index)
		if _, ok := index.Versions["0.1.0"]; !ok || len(index.Versions) != 1 {
			t.Fatalf("mirror index for %s: %v", host, index)
		}
		var ver struct {
			Archives map[string]struct {
				URL    string
				Hashes []string
			}
		}
		decode(get("/mirror/"+host+"/meridianhq/meridian/0.1.0.json", 200), &ver)
		a := ver.Archives["linux_amd64"]
		if len(ver.Archives) != 1 || !strings.HasSuffix(a.URL, "/files/terraform-provider-meridian_0.1.0_linux_amd64.zip") ||
			len(a.Hashes) != 1 || a.Hashes[0] != "zh:"+hex.EncodeToString(sum[:]) {
			t.Fatalf("mirror version for %s: %+v", host, ver)
		}
	}

	// Nothing else.
	for _, path := range []string{
		"/v1/providers/hashicorp/meridian/versions",
		"/v1/providers/meridianhq/meridian/0.2.0/download/linux/amd64",
		"/v1/providers/meridianhq/meridian/0.1.0/download/darwin/arm64",
		"/mirror/example.com/meridianhq/meridian/index.json",
		"/mirror/registry.terraform.io/meridianhq/meridian/0.2.0.json",
		"/files/secret.txt",
		"/files/signing-key.id",
	} {
		get(path, 404)
	}
}
