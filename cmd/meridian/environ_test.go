package main_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// countingEndpoint is an AWS_ENDPOINT_URL on loopback that counts the
// requests it gets and passes them to next (moto), or answers 500 without.
func countingEndpoint(t *testing.T, next string) (string, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no cloud here", http.StatusInternalServerError)
	})
	if next != "" {
		u, err := url.Parse(next)
		if err != nil {
			t.Fatal(err)
		}
		h = httputil.NewSingleHostReverseProxy(u)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &n
}

// noWayOut is the environment of a command that may only reach AWS at
// AWS_ENDPOINT_URL: a call to real AWS meets a proxy that does not exist
// (loopback is never proxied), and the credentials are test ones.
func noWayOut(endpoint string) []string {
	return []string{"AWS_ENDPOINT_URL=" + endpoint, "HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9",
		"https_proxy=http://127.0.0.1:9", "http_proxy=http://127.0.0.1:9", "NO_PROXY=", "no_proxy=",
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true"}
}

// TestNoCloudCommandsMakeNoCall is issue 13 item 9: stack init in an
// empty folder, and every command on an empty stack, called STS on real AWS
// (ignoring AWS_ENDPOINT_URL) although there was nothing to ask the cloud.
// With AWS_ENDPOINT_URL on a counting loopback server and every other way
// out closed, they must succeed without a single request.
func TestNoCloudCommandsMakeNoCall(t *testing.T) {
	endpoint, calls := countingEndpoint(t, "")
	empty := t.TempDir()
	c := newCLI(t, empty, noWayOut(endpoint)...)
	c.must("stack", "init", "dev")
	c.must("stack", "ls")
	c.must("stack", "select", "dev")
	if n := calls.Load(); n != 0 {
		t.Fatalf("stack commands in an empty folder made %d requests", n)
	}

	// A stack with a provider block and no resources: nothing to plan.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "stack.tf"), []byte("provider \"meridian\" {\n  default_tags = { team = \"a\" }\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c = newCLI(t, dir, noWayOut(endpoint)...)
	c.must("stack", "init", "dev")
	for _, args := range [][]string{
		{"preview"}, {"up", "--yes"}, {"refresh"}, {"destroy", "--yes"}, {"stack", "output"}, {"stack", "ls"},
	} {
		c.must(args...)
		if n := calls.Load(); n != 0 {
			t.Fatalf("meridian %s on an empty stack made %d requests", strings.Join(args, " "), n)
		}
	}
}

// TestCloudCommandsUseTheEnvironment: with no endpoint in the stack, up
// and destroy reach AWS at AWS_ENDPOINT_URL (here moto behind a counter),
// credentials checked there too, and nowhere else.
func TestCloudCommandsUseTheEnvironment(t *testing.T) {
	m := startMoto(t)
	endpoint, calls := countingEndpoint(t, m.Endpoint())
	dir := t.TempDir()
	writeStack(t, dir, "env", 1, 4)
	// Check the credentials: the check goes to AWS_ENDPOINT_URL as well.
	edit(t, filepath.Join(dir, "stack.tf"), "    skip_credentials_validation = true\n", "")
	c := newCLI(t, dir, noWayOut(endpoint)...)
	c.must("stack", "init", "dev")
	c.must("up", "--yes", "--progress=plain")
	if calls.Load() == 0 {
		t.Fatal("up made no request to AWS_ENDPOINT_URL")
	}
	cloud := motoClients(t, m.Moto.Endpoint())
	if n := len(inventory(t, cloud)); n == 0 {
		t.Fatal("moto holds nothing after up")
	}
	c.must("destroy", "--yes", "--progress=plain")
}
