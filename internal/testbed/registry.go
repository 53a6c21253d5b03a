package testbed

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Release is a signed provider release as scripts/release-snapshot.sh (and a
// real goreleaser run) leaves it in dist/: zip archives, the SHA256SUMS file,
// its detached signature, and the public key that made it.
type Release struct {
	Dir     string
	Version string
	// Archives maps a terraform platform ("linux_amd64") to its zip's name
	// and SHA-256 (hex), as listed in SHA256SUMS.
	Archives map[string]Archive
	// KeyID and PublicKey (ASCII-armored) are the signing key's.
	KeyID     string
	PublicKey string
}

// Archive is one platform's zip in a Release.
type Archive struct {
	File   string
	SHA256 string
}

func (r Release) sumsFile() string {
	return "terraform-provider-" + ProviderType + "_" + r.Version + "_SHA256SUMS"
}

// LoadRelease reads the release of version in dist: the platforms are the
// zips SHA256SUMS lists, so an archive the signature does not cover is never
// served.
func LoadRelease(dist, version string) (Release, error) {
	r := Release{Dir: dist, Version: version, Archives: map[string]Archive{}}
	f, err := os.Open(filepath.Join(dist, r.sumsFile()))
	if err != nil {
		return r, fmt.Errorf("load release: %w", err)
	}
	defer f.Close()
	prefix := "terraform-provider-" + ProviderType + "_" + version + "_"
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(strings.TrimSpace(sc.Text()), "  ")
		if !ok || !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, ".zip") {
			continue
		}
		r.Archives[strings.TrimSuffix(strings.TrimPrefix(name, prefix), ".zip")] = Archive{File: name, SHA256: sum}
	}
	if err := sc.Err(); err != nil {
		return r, fmt.Errorf("load release: %w", err)
	}
	if len(r.Archives) == 0 {
		return r, fmt.Errorf("load release: %s lists no %s*.zip", r.sumsFile(), prefix)
	}
	for _, name := range []string{r.sumsFile() + ".sig", "signing-key.asc", "signing-key.id"} {
		if _, err := os.Stat(filepath.Join(dist, name)); err != nil {
			return r, fmt.Errorf("load release: %w", err)
		}
	}
	key, err := os.ReadFile(filepath.Join(dist, "signing-key.asc"))
	if err != nil {
		return r, err
	}
	id, err := os.ReadFile(filepath.Join(dist, "signing-key.id"))
	if err != nil {
		return r, err
	}
	r.PublicKey, r.KeyID = string(key), strings.TrimSpace(string(id))
	return r, nil
}

// MirrorHosts are the registry hostnames the network mirror serves meridian
// under: terraform resolves `meridianhq/meridian` at the first, OpenTofu at
// the second.
var MirrorHosts = []string{"registry.terraform.io", "registry.opentofu.org"}

// Registry serves a Release over HTTPS on 127.0.0.1 in two ways a user's
// terraform or tofu installs providers:
//
//   - the provider registry protocol (/.well-known/terraform.json,
//     /v1/providers/...): the client checks the zip against SHA256SUMS and
//     SHA256SUMS against its signature and the key the registry names, as
//     with the public registries. A CLI config `host` block points a
//     registry hostname at it (RegistryCLIConfig).
//   - the provider network mirror protocol (/mirror/HOST/...), for the
//     default source addresses of MirrorHosts (MirrorCLIConfig).
//
// Its certificate comes from a CA made for this registry; clients trust it
// through SSL_CERT_FILE (Env), which Go programs read on Linux.
type Registry struct {
	URL     string // https://127.0.0.1:PORT
	CAFile  string
	release Release
	server  *http.Server
}

// StartRegistry serves rel on a free 127.0.0.1 port, with its CA and
// certificate written into dir. Close stops it.
func StartRegistry(rel Release, dir string) (*Registry, error) {
	cert, caPEM, err := registryCertificate()
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	r := &Registry{CAFile: filepath.Join(dir, "registry-ca.pem"), release: rel}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(r.CAFile, caPEM, 0o644); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	r.URL = "https://" + ln.Addr().String()
	r.server = &http.Server{
		Handler:           r.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		// A client that does not trust the CA is the client's failure to
		// report, not the server's log line.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	tlsLn := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	go func() { _ = r.server.Serve(tlsLn) }()
	return r, nil
}

// Close stops the server.
func (r *Registry) Close() error { return r.server.Close() }

// Env is what a terraform or tofu process needs to trust the registry.
func (r *Registry) Env() []string { return []string{"SSL_CERT_FILE=" + r.CAFile} }

// RegistryCLIConfig is a CLI config that sends provider installs for
// hostname (registry.terraform.io, registry.opentofu.org) to this registry
// through the registry protocol, signatures checked.
func (r *Registry) RegistryCLIConfig(hostname string) string {
	return fmt.Sprintf(`# Written by internal/testbed: %s's provider registry is the testbed's.
disable_checkpoint = true

host %s {
  services = {
    "providers.v1" = %s
  }
}
`, hostname, quote(hostname), quote(r.URL+"/v1/providers/"))
}

// MirrorCLIConfig is a CLI config that installs meridianhq/* of every
// MirrorHosts host from this registry's network mirror, and nothing else.
func (r *Registry) MirrorCLIConfig() string {
	var include []string
	for _, h := range MirrorHosts {
		include = append(include, quote(h+"/"+ProviderNamespace+"/*"))
	}
	return fmt.Sprintf(`# Written by internal/testbed: meridian from the testbed's network mirror.
disable_checkpoint = true

provider_installation {
  network_mirror {
    url     = %s
    include = [%s]
  }
}
`, quote(r.URL+"/mirror/"), strings.Join(include, ", "))
}

func (r *Registry) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/terraform.json", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]string{"providers.v1": "/v1/providers/"})
	})
	mux.HandleFunc("GET /v1/providers/{ns}/{type}/versions", func(w http.ResponseWriter, req *http.Request) {
		if !r.serves(req) {
			http.NotFound(w, req)
			return
		}
		var platforms []map[string]string
		for platform := range r.release.Archives {
			goos, arch, _ := strings.Cut(platform, "_")
			platforms = append(platforms, map[string]string{"os": goos, "arch": arch})
		}
		writeJSON(w, map[string]any{"versions": []any{map[string]any{
			"version": r.release.Version, "protocols": []string{"6.0"}, "platforms": platforms,
		}}})
	})
	mux.HandleFunc("GET /v1/providers/{ns}/{type}/{version}/download/{os}/{arch}", func(w http.ResponseWriter, req *http.Request) {
		a, ok := r.release.Archives[req.PathValue("os")+"_"+req.PathValue("arch")]
		if !r.serves(req) || !ok || req.PathValue("version") != r.release.Version {
			http.NotFound(w, req)
			return
		}
		files := r.URL + "/files/"
		writeJSON(w, map[string]any{
			"protocols":             []string{"6.0"},
			"os":                    req.PathValue("os"),
			"arch":                  req.PathValue("arch"),
			"filename":              a.File,
			"download_url":          files + a.File,
			"shasums_url":           files + r.release.sumsFile(),
			"shasums_signature_url": files + r.release.sumsFile() + ".sig",
			"shasum":                a.SHA256,
			"signing_keys": map[string]any{"gpg_public_keys": []any{map[string]string{
				"key_id": r.release.KeyID, "ascii_armor": r.release.PublicKey,
			}}},
		})
	})
	mux.HandleFunc("GET /mirror/{host}/{ns}/{type}/index.json", func(w http.ResponseWriter, req *http.Request) {
		if !r.mirrors(req) {
			http.NotFound(w, req)
			return
		}
		writeJSON(w, map[string]any{"versions": map[string]any{r.release.Version: map[string]any{}}})
	})
	mux.HandleFunc("GET /mirror/{host}/{ns}/{type}/{versionjson}", func(w http.ResponseWriter, req *http.Request) {
		if !r.mirrors(req) || req.PathValue("versionjson") != r.release.Version+".json" {
			http.NotFound(w, req)
			return
		}
		archives := map[string]any{}
		for platform, a := range r.release.Archives {
			// zh: is the hash of the zip as a whole, what terraform
			// records in .terraform.lock.hcl for a mirrored package.
			archives[platform] = map[string]any{"url": r.URL + "/files/" + a.File, "hashes": []string{"zh:" + a.SHA256}}
		}
		writeJSON(w, map[string]any{"archives": archives})
	})
	// Only the release's own files, never anything else in its folder.
	mux.HandleFunc("GET /files/{name}", func(w http.ResponseWriter, req *http.Request) {
		name := req.PathValue("name")
		allowed := name == r.release.sumsFile() || name == r.release.sumsFile()+".sig"
		for _, a := range r.release.Archives {
			allowed = allowed || name == a.File
		}
		if !allowed {
			http.NotFound(w, req)
			return
		}
		http.ServeFile(w, req, filepath.Join(r.release.Dir, name))
	})
	return mux
}

// serves: only meridianhq/meridian is in this registry.
func (r *Registry) serves(req *http.Request) bool {
	return req.PathValue("ns") == ProviderNamespace && req.PathValue("type") == ProviderType
}

func (r *Registry) mirrors(req *http.Request) bool {
	for _, h := range MirrorHosts {
		if req.PathValue("host") == h {
			return r.serves(req)
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// registryCertificate makes a CA and a certificate it signs for 127.0.0.1
// and localhost, valid for a day: the registry's trust lives and dies with
// the run.
func registryCertificate() (tls.Certificate, []byte, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "meridian testbed registry CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	return tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: key}, caPEM, nil
}
