package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// The release tools are built like the cluster binaries: from the Go module
// proxy, once, into the same cache folder keyed by version, under the same
// lock. They live here to share that code, not because a cluster runs them.
const (
	// GoreleaserVersion is pinned: v2.15.x lists its own signature in the
	// checksum file (goreleaser#6514) and v2.17.0 cannot be fetched here.
	GoreleaserVersion = "v2.14.3"
	// TofuVersion needs go >= 1.26.6.
	TofuVersion = "v1.12.6"
)

func goreleaserPath(cache string) string {
	return filepath.Join(cache, "goreleaser-"+GoreleaserVersion, "bin", "goreleaser")
}

func tofuDir(cache string) string { return filepath.Join(cache, "tofu-"+TofuVersion) }

func tofuPath(cache string) string { return filepath.Join(tofuDir(cache), "bin", "tofu") }

// BuildGoreleaser returns goreleaser GoreleaserVersion, built into the
// cache with `go install` if it is not there (~6 min cold on 2 cores).
func BuildGoreleaser(ctx context.Context, log io.Writer) (string, error) {
	return buildCached(ctx, log, "goreleaser "+GoreleaserVersion, goreleaserPath, func(goBin, cache string) error {
		bin := filepath.Dir(goreleaserPath(cache))
		tmp := bin + ".tmp"
		_ = os.RemoveAll(tmp)
		// goreleaser reports this version in its output; without it, "dev".
		if _, err := run(ctx, cache, []string{"GOBIN=" + tmp}, "goreleaser: go install", goBin, "install", "-trimpath",
			"-ldflags=-s -w -X main.version="+GoreleaserVersion,
			"github.com/goreleaser/goreleaser/v2@"+GoreleaserVersion); err != nil {
			return err
		}
		if err := os.MkdirAll(bin, 0o755); err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		return os.Rename(filepath.Join(tmp, "goreleaser"), goreleaserPath(cache))
	})
}

// BuildTofu returns OpenTofu's tofu TofuVersion, built into the cache if it
// is not there. `go install` refuses the module (it has a replace
// directive), so its source is copied out of the module cache and built in
// place (go build ./cmd/tofu).
func BuildTofu(ctx context.Context, log io.Writer) (string, error) {
	return buildCached(ctx, log, "tofu "+TofuVersion, tofuPath, func(goBin, cache string) error {
		out, err := run(ctx, cache, nil, "tofu: go mod download", goBin, "mod", "download", "-json", "github.com/opentofu/opentofu@"+TofuVersion)
		if err != nil {
			return err
		}
		var mod struct{ Dir string }
		if err := json.Unmarshal([]byte(out), &mod); err != nil || mod.Dir == "" {
			return &BuildError{Step: "tofu: go mod download", Dir: cache, Output: out, Err: fmt.Errorf("no module folder in the answer: %v", err)}
		}
		// A copy, since the module cache is read-only and the build
		// resolves the module's own replace directive from its go.mod.
		src := filepath.Join(tofuDir(cache), "src")
		if err := os.RemoveAll(src); err != nil {
			return err
		}
		if err := os.CopyFS(src, os.DirFS(mod.Dir)); err != nil {
			return &BuildError{Step: "tofu: copy module source", Dir: src, Err: err}
		}
		// dev=no as in OpenTofu's release builds, or tofu says 1.12.6-dev.
		return buildTo(ctx, src, goBin, "tofu", tofuPath(cache), "-s -w -X github.com/opentofu/opentofu/version.dev=no", "./cmd/tofu")
	})
}

// buildCached returns the program at path(cache), running build first if
// it is not there yet, under the cache's build lock.
func buildCached(ctx context.Context, log io.Writer, what string, path func(cache string) string, build func(goBin, cache string) error) (string, error) {
	if log == nil {
		log = io.Discard
	}
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	if executable(path(cache)) {
		return path(cache), nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(filepath.Join(cache, ".build.lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	// Another process may have built it while we waited for the lock.
	if executable(path(cache)) {
		return path(cache), nil
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", &BuildError{Step: "find go", Err: err}
	}
	start := time.Now()
	fmt.Fprintf(log, "building %s from the Go module proxy into %s\n", what, cache)
	if err := build(goBin, cache); err != nil {
		return "", err
	}
	if !executable(path(cache)) {
		return "", &BuildError{Step: "check", Dir: cache, Err: fmt.Errorf("%s missing after the build", path(cache))}
	}
	fmt.Fprintf(log, "built %s in %s\n", what, time.Since(start).Round(time.Second))
	return path(cache), nil
}
