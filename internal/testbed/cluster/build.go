package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// The versions the testbed builds. They are pinned: a new version is a new
// cache folder, so a bump never mixes binaries.
const (
	KubernetesVersion = "v1.35.4"
	// StagingVersion is the version of every k8s.io staging module that
	// matches KubernetesVersion.
	StagingVersion = "v0.35.4"
	EtcdVersion    = "v3.6.5"
	KwokVersion    = "v0.8.0"
)

// stagingModules are replaced in the wrapper module: k8s.io/kubernetes
// requires them at v0.0.0 and relies on replaces to its staging folder,
// which a module consumer does not have.
var stagingModules = []string{
	"api", "apiextensions-apiserver", "apimachinery", "apiserver", "cli-runtime",
	"client-go", "cloud-provider", "cluster-bootstrap", "code-generator",
	"component-base", "component-helpers", "controller-manager", "cri-api",
	"cri-client", "csi-translation-lib", "dynamic-resource-allocation",
	"endpointslice", "externaljwt", "kms", "kube-aggregator",
	"kube-controller-manager", "kube-proxy", "kube-scheduler", "kubectl",
	"kubelet", "metrics", "mount-utils", "pod-security-admission",
	"sample-apiserver", "sample-cli-plugin", "sample-controller",
}

// kubeCommands are the Kubernetes programs a cluster runs.
var kubeCommands = []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler"}

// Binaries are the programs a cluster runs and the kwok Stage configs.
type Binaries struct {
	APIServer         string `json:"kube_apiserver"`
	ControllerManager string `json:"kube_controller_manager"`
	Scheduler         string `json:"kube_scheduler"`
	Etcd              string `json:"etcd"`
	Kwok              string `json:"kwok"`
	// StageDir is kustomize/stage of the kwok module in the module cache.
	StageDir string `json:"stage_dir"`
}

// CacheDir is where the binaries are built: $MERIDIAN_CACHE, or meridian
// under the user's cache folder (~/.cache/meridian). It is outside the
// repository, so every clone and every CI run on the machine shares one build.
func CacheDir() (string, error) {
	if d := os.Getenv("MERIDIAN_CACHE"); d != "" {
		return filepath.Abs(d)
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache folder for the cluster binaries (set MERIDIAN_CACHE): %w", err)
	}
	return filepath.Join(d, "meridian"), nil
}

func kubeDir(cache string) string { return filepath.Join(cache, "k8s-"+KubernetesVersion) }
func etcdDir(cache string) string { return filepath.Join(cache, "etcd-"+EtcdVersion) }
func kwokDir(cache string) string { return filepath.Join(cache, "kwok-"+KwokVersion) }

func binariesIn(cache string) Binaries {
	return Binaries{
		APIServer:         filepath.Join(kubeDir(cache), "bin", "kube-apiserver"),
		ControllerManager: filepath.Join(kubeDir(cache), "bin", "kube-controller-manager"),
		Scheduler:         filepath.Join(kubeDir(cache), "bin", "kube-scheduler"),
		Etcd:              filepath.Join(etcdDir(cache), "bin", "etcd"),
		Kwok:              filepath.Join(kwokDir(cache), "bin", "kwok"),
	}
}

func (b Binaries) programs() map[string]string {
	return map[string]string{
		"kube-apiserver": b.APIServer, "kube-controller-manager": b.ControllerManager,
		"kube-scheduler": b.Scheduler, "etcd": b.Etcd, "kwok": b.Kwok,
	}
}

// missing lists the programs that are not built yet.
func (b Binaries) missing() []string {
	var out []string
	for _, name := range []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"} {
		if !executable(b.programs()[name]) {
			out = append(out, name)
		}
	}
	return out
}

func executable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// Find returns the binaries already in the cache without building anything;
// the error names what is missing and how to build it.
func Find(ctx context.Context) (Binaries, error) {
	cache, err := CacheDir()
	if err != nil {
		return Binaries{}, err
	}
	b := binariesIn(cache)
	if m := b.missing(); len(m) > 0 {
		return Binaries{}, fmt.Errorf("cluster binaries not built in %s: missing %s (run `make k8s-bins`, ~25 min cold)", cache, strings.Join(m, ", "))
	}
	b.StageDir, err = kwokStageDir(ctx, cache)
	return b, err
}

// BuildError says which build step failed, with the end of its output.
type BuildError struct {
	Step   string
	Dir    string
	Output string
	Err    error
}

func (e *BuildError) Error() string {
	return fmt.Sprintf("build of the cluster binaries failed at step %q (in %s): %v\n--- output (tail) ---\n%s",
		e.Step, e.Dir, e.Err, lastLines(e.Output, 30))
}

func (e *BuildError) Unwrap() error { return e.Err }

// Build builds what is missing from the cache from the Go module proxy and
// returns every binary. Programs already built are not rebuilt, so a warm
// call costs a few stat calls. Progress goes to log (may be nil). A file
// lock keeps concurrent builds (parallel test packages, two shells) from
// stepping on each other.
func Build(ctx context.Context, log io.Writer) (Binaries, error) {
	if log == nil {
		log = io.Discard
	}
	cache, err := CacheDir()
	if err != nil {
		return Binaries{}, err
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return Binaries{}, err
	}
	unlock, err := lockFile(filepath.Join(cache, ".build.lock"))
	if err != nil {
		return Binaries{}, err
	}
	defer unlock()

	goBin, err := exec.LookPath("go")
	if err != nil {
		return Binaries{}, &BuildError{Step: "find go", Err: err}
	}
	b := binariesIn(cache)
	if !executable(b.Etcd) {
		if err := buildEtcd(ctx, log, goBin, cache); err != nil {
			return Binaries{}, err
		}
	}
	if !executable(b.APIServer) || !executable(b.ControllerManager) || !executable(b.Scheduler) {
		if err := buildKube(ctx, log, goBin, cache); err != nil {
			return Binaries{}, err
		}
	}
	if !executable(b.Kwok) {
		start := time.Now()
		fmt.Fprintf(log, "building kwok %s\n", KwokVersion)
		dir := kwokDir(cache)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return Binaries{}, err
		}
		if _, err := run(ctx, dir, []string{"GOBIN=" + filepath.Join(dir, "bin")}, "kwok: go install",
			goBin, "install", "-trimpath", "-ldflags=-s -w", "sigs.k8s.io/kwok/cmd/kwok@"+KwokVersion); err != nil {
			return Binaries{}, err
		}
		fmt.Fprintf(log, "built kwok in %s\n", time.Since(start).Round(time.Second))
	}
	if m := b.missing(); len(m) > 0 {
		return Binaries{}, &BuildError{Step: "check", Dir: cache, Err: fmt.Errorf("still missing after the build: %s", strings.Join(m, ", "))}
	}
	b.StageDir, err = kwokStageDir(ctx, cache)
	return b, err
}

func buildEtcd(ctx context.Context, log io.Writer, goBin, cache string) error {
	start := time.Now()
	fmt.Fprintf(log, "building etcd %s\n", EtcdVersion)
	dir := etcdDir(cache)
	src := filepath.Join(dir, "src")
	gomod := "module meridian.local/etcd-build\n\ngo 1.26\n\nrequire go.etcd.io/etcd/server/v3 " + EtcdVersion + "\n"
	if err := writeWrapper(src, gomod, []string{"go.etcd.io/etcd/server/v3"}); err != nil {
		return err
	}
	if _, err := run(ctx, src, nil, "etcd: go mod tidy", goBin, "mod", "tidy"); err != nil {
		return err
	}
	if err := buildTo(ctx, src, goBin, "etcd", filepath.Join(dir, "bin", "etcd"), "-s -w", "go.etcd.io/etcd/server/v3"); err != nil {
		return err
	}
	fmt.Fprintf(log, "built etcd in %s\n", time.Since(start).Round(time.Second))
	return nil
}

func buildKube(ctx context.Context, log io.Writer, goBin, cache string) error {
	start := time.Now()
	fmt.Fprintf(log, "building kubernetes %s (kube-apiserver, kube-controller-manager, kube-scheduler; ~25 min cold on 2 cores)\n", KubernetesVersion)
	dir := kubeDir(cache)
	src := filepath.Join(dir, "src")
	var gomod strings.Builder
	fmt.Fprintf(&gomod, "module meridian.local/k8s-build\n\ngo 1.26\n\nrequire k8s.io/kubernetes %s\n\n", KubernetesVersion)
	for _, m := range stagingModules {
		fmt.Fprintf(&gomod, "replace k8s.io/%s => k8s.io/%s %s\n", m, m, StagingVersion)
	}
	var imports []string
	for _, c := range kubeCommands {
		imports = append(imports, "k8s.io/kubernetes/cmd/"+c)
	}
	if err := writeWrapper(src, gomod.String(), imports); err != nil {
		return err
	}
	if _, err := run(ctx, src, nil, "kubernetes: go mod tidy", goBin, "mod", "tidy"); err != nil {
		return err
	}
	for _, c := range kubeCommands {
		t := time.Now()
		if err := buildTo(ctx, src, goBin, c, filepath.Join(dir, "bin", c), versionLDFlags(), "k8s.io/kubernetes/cmd/"+c); err != nil {
			return err
		}
		fmt.Fprintf(log, "built %s in %s\n", c, time.Since(t).Round(time.Second))
	}
	fmt.Fprintf(log, "built kubernetes in %s\n", time.Since(start).Round(time.Second))
	return nil
}

// versionLDFlags stamp the version a release build would carry: without
// them the server reports v0.0.0 and kubectl refuses it.
func versionLDFlags() string {
	major, minor := "1", strings.Split(KubernetesVersion, ".")[1]
	flags := []string{"-s", "-w"}
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		flags = append(flags,
			"-X", pkg+".gitVersion="+KubernetesVersion,
			"-X", pkg+".gitMajor="+major,
			"-X", pkg+".gitMinor="+minor,
			"-X", pkg+".gitTreeState=clean")
	}
	return strings.Join(flags, " ")
}

// writeWrapper writes a module that requires the program's module and a
// tools.go importing the programs, so that `go mod tidy` records every
// dependency they need.
func writeWrapper(dir, gomod string, imports []string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var tools strings.Builder
	tools.WriteString("//go:build tools\n\npackage tools\n\nimport (\n")
	for _, imp := range imports {
		fmt.Fprintf(&tools, "\t_ %q\n", imp)
	}
	tools.WriteString(")\n")
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "tools.go"), []byte(tools.String()), 0o644)
}

// buildTo builds pkg into a temporary name and renames it, so an
// interrupted build never leaves a truncated program that looks built.
func buildTo(ctx context.Context, dir, goBin, name, out, ldflags, pkg string) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	tmp := out + ".tmp"
	if _, err := run(ctx, dir, nil, name+": go build", goBin, "build", "-trimpath", "-ldflags="+ldflags, "-o", tmp, pkg); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, out)
}

// kwokStageDir finds kwok's Stage configs in the module cache (downloading
// the module if needed): they belong to kwok's version, not to this repo.
func kwokStageDir(ctx context.Context, cache string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", &BuildError{Step: "find go", Err: err}
	}
	out, err := run(ctx, cache, nil, "kwok: go mod download", goBin, "mod", "download", "-json", "sigs.k8s.io/kwok@"+KwokVersion)
	if err != nil {
		return "", err
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal([]byte(out), &mod); err != nil || mod.Dir == "" {
		return "", &BuildError{Step: "kwok: go mod download", Dir: cache, Output: out, Err: fmt.Errorf("no module folder in the answer: %v", err)}
	}
	dir := filepath.Join(mod.Dir, "kustomize", "stage")
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("kwok %s has no Stage configs: %w", KwokVersion, err)
	}
	return dir, nil
}

// run runs a build command; its failure is a BuildError naming step.
func run(ctx context.Context, dir string, env []string, step, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	// The wrapper modules stand alone: no workspace, no vendor folder of
	// whatever repository the caller runs in.
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod -buildvcs=false")
	cmd.Env = append(cmd.Env, env...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return out.String(), &BuildError{Step: step, Dir: dir, Output: out.String(), Err: err}
	}
	return out.String(), nil
}

func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
