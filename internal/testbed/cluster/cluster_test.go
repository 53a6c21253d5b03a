package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestRenderKubeconfig(t *testing.T) {
	got := renderKubeconfig([]kubeEntry{
		{Name: "region-a", Server: "https://127.0.0.1:6443", CA: []byte("A"), Token: "ta"},
		{Name: "region-b", Server: "https://127.0.0.1:7443", CA: []byte("B"), Token: "tb"},
	})
	want := `apiVersion: v1
kind: Config
preferences: {}
clusters:
- name: region-a
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: QQ==
- name: region-b
  cluster:
    server: https://127.0.0.1:7443
    certificate-authority-data: Qg==
users:
- name: region-a-admin
  user:
    token: ta
- name: region-b-admin
  user:
    token: tb
contexts:
- name: region-a
  context:
    cluster: region-a
    user: region-a-admin
- name: region-b
  context:
    cluster: region-b
    user: region-b-admin
current-context: region-a
`
	if got != want {
		t.Errorf("kubeconfig:\n%s\nwant:\n%s", got, want)
	}
}

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"region-a": true, "r1": true, "": false, "Region-A": false, "-a": false, "a-": false,
		"a_b": false, strings.Repeat("a", 64): false,
	} {
		if got := validName(name); got != want {
			t.Errorf("validName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestStartRejectsBadNames(t *testing.T) {
	for _, names := range [][]string{nil, {"a", "a"}, {"Region_A"}, {"region-a", "lifecycle"}, {"kubeconfig"}} {
		if _, err := Start(context.Background(), Options{Dir: t.TempDir(), Names: names}); err == nil {
			t.Errorf("Start(%q) succeeded", names)
		}
	}
}

func TestBuildErrorNamesStepAndTail(t *testing.T) {
	var lines []string
	for i := 1; i <= 100; i++ {
		lines = append(lines, fmt.Sprintf("line %d", i))
	}
	err := error(&BuildError{Step: "kubernetes: go build", Dir: "/x", Output: strings.Join(lines, "\n"), Err: errors.New("exit status 1")})
	msg := err.Error()
	for _, want := range []string{`"kubernetes: go build"`, "/x", "exit status 1", "line 100", "line 71"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "line 70\n") {
		t.Errorf("message has more than the tail:\n%s", msg)
	}
}

// A failing build step reports itself as a BuildError with go's output.
func TestRunFailureIsBuildError(t *testing.T) {
	_, err := run(context.Background(), t.TempDir(), nil, "probe", "sh", "-c", "echo boom >&2; exit 3")
	var be *BuildError
	if !errors.As(err, &be) || be.Step != "probe" || !strings.Contains(be.Output, "boom") {
		t.Fatalf("err = %#v", err)
	}
}

func TestVersionLDFlags(t *testing.T) {
	got := versionLDFlags()
	for _, want := range []string{
		"k8s.io/component-base/version.gitVersion=v1.35.4", "k8s.io/component-base/version.gitMinor=35",
		"k8s.io/client-go/pkg/version.gitVersion=v1.35.4", "k8s.io/client-go/pkg/version.gitMajor=1",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("ldflags lack %q: %s", want, got)
		}
	}
}

func TestCacheDirFollowsEnv(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("MERIDIAN_CACHE", dir)
	got, err := CacheDir()
	if err != nil || got != dir {
		t.Fatalf("CacheDir() = %q, %v; want %q", got, err, dir)
	}
	if _, err := Find(context.Background()); err == nil || !strings.Contains(err.Error(), "make k8s-bins") {
		t.Errorf("Find in an empty cache: %v", err)
	}
}

func TestPKIServesLoopback(t *testing.T) {
	p, err := newPKI(t.TempDir(), "region-a")
	if err != nil {
		t.Fatal(err)
	}
	read := func(path string) *x509.Certificate {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(b)
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	pool := x509.NewCertPool()
	pool.AddCert(read(p.caCert()))
	if _, err := read(p.serverCert()).Verify(x509.VerifyOptions{Roots: pool, DNSName: Host}); err != nil {
		t.Errorf("serving certificate does not verify for %s: %v", Host, err)
	}
	if _, err := tls.LoadX509KeyPair(p.serverCert(), p.serverKey()); err != nil {
		t.Errorf("serving key pair: %v", err)
	}
	tokens, _ := os.ReadFile(p.tokens())
	if !strings.HasPrefix(string(tokens), p.token+",") || !strings.Contains(string(tokens), "system:masters") {
		t.Errorf("token file: %q", tokens)
	}
}
