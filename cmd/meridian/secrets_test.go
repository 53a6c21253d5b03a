package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/meridianhq/terraform-provider-meridian/internal/testbed/cluster/clustertest"
)

// secretValue is a workload env value that must never show in clear.
const secretValue = "s3cr3t-DB-pa55word"

// writeWorkloadStack writes a stack of one region pair with a workload
// whose env holds secretValue (or value), in the clusters of kubernetes.
func writeWorkloadStack(t *testing.T, dir, kubernetes, value string) {
	t.Helper()
	stack := fmt.Sprintf(`variable "aws_endpoint" {
  default = ""
}

provider "meridian" {
  aws {
    endpoint                    = var.aws_endpoint
    access_key                  = "test"
    secret_key                  = "test"
    s3_use_path_style           = true
    skip_credentials_validation = true
  }
  kubernetes {
%s
  }
}

resource "meridian_region_pair" "app" {
  name             = "secretive"
  primary_region   = "us-east-1"
  secondary_region = "us-west-2"
  workload {
    image    = "registry.example/app:1"
    replicas = 1
    env      = { DB_PASSWORD = %q, LOG_LEVEL = "debug" }
  }
}
`, kubernetes, value)
	if err := os.WriteFile(filepath.Join(dir, "stack.tf"), []byte(stack), 0o644); err != nil {
		t.Fatal(err)
	}
}

// clearIn returns the files under dir that hold value.
func clearIn(t *testing.T, dir, value string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.Contains(string(raw), value) {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPreviewRedactsWorkloadEnv: a preview, as text and as JSON, shows
// that the workload's env is set but not its values. It reads no cluster,
// so the clusters here are addresses nothing answers at.
func TestPreviewRedactsWorkloadEnv(t *testing.T) {
	m := startMoto(t)
	dir := t.TempDir()
	writeWorkloadStack(t, dir, `    cluster {
      region = "us-east-1"
      host   = "https://127.0.0.1:9"
      token  = "unused"
    }
    cluster {
      region = "us-west-2"
      host   = "https://127.0.0.1:9"
      token  = "unused"
    }`, secretValue)
	c := newCLI(t, dir, "MERIDIAN_STATE=", "TF_CLI_CONFIG_FILE=/dev/null")
	endpoint := "--var=aws_endpoint=" + m.Endpoint()
	c.must("stack", "init", "dev")

	text := c.must("preview", endpoint)
	js := c.must("preview", "--json", endpoint)
	for what, out := range map[string]string{"preview": text.stdout + text.stderr, "preview --json": js.stdout + js.stderr} {
		if strings.Contains(out, secretValue) {
			t.Errorf("%s shows the env value in clear:\n%s", what, out)
		}
		if !strings.Contains(out, "(sensitive)") {
			t.Errorf("%s does not say that env is sensitive:\n%s", what, out)
		}
	}
	// The JSON diff of env is marked sensitive, with both deployments'.
	sensitive := 0
	for _, line := range strings.Split(strings.TrimSpace(js.stdout), "\n") {
		var ev struct {
			Event string `json:"event"`
			Diffs []struct {
				Key       string `json:"key"`
				New       any    `json:"new"`
				Sensitive bool   `json:"sensitive"`
			} `json:"diffs"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		for _, d := range ev.Diffs {
			if d.Key == "env" && d.Sensitive && d.New == "(sensitive)" {
				sensitive++
			}
		}
	}
	if sensitive != 2 {
		t.Errorf("%d sensitive env diffs in the JSON preview, want 2 (one per region):\n%s", sensitive, js.stdout)
	}
}

// TestUpKeepsWorkloadEnvOutOfState deploys a workload with a secret env
// value to two real clusters: the value reaches the pods' spec, and is in
// clear in none of up's JSON events, the state and journal files, and
// stack export; a changed value is an update shown as "(sensitive)
// changed", and refresh of an unchanged stack finds no drift.
func TestUpKeepsWorkloadEnvOutOfState(t *testing.T) {
	set := clustertest.ForTest(t, "region-a", "region-b")
	m := startMoto(t)
	dir := t.TempDir()
	clusters := fmt.Sprintf(`    cluster {
      region     = "us-east-1"
      kubeconfig = %q
      context    = "region-a"
    }
    cluster {
      region     = "us-west-2"
      kubeconfig = %q
      context    = "region-b"
    }`, set.Kubeconfig(), set.Kubeconfig())
	writeWorkloadStack(t, dir, clusters, secretValue)
	c := newCLI(t, dir, "MERIDIAN_STATE=", "TF_CLI_CONFIG_FILE=/dev/null")
	endpoint := "--var=aws_endpoint=" + m.Endpoint()
	c.must("stack", "init", "dev")
	t.Cleanup(func() { c.run("destroy", "--yes", endpoint) })

	up := c.must("up", "--yes", "--json", endpoint)
	if strings.Contains(up.stdout+up.stderr, secretValue) {
		t.Errorf("up --json shows the env value:\n%s", up.stdout)
	}
	if files := clearIn(t, filepath.Join(dir, ".meridian"), secretValue); len(files) > 0 {
		t.Errorf("the env value is in clear in %v", files)
	}
	if r := c.must("stack", "export"); strings.Contains(r.stdout, secretValue) || !strings.Contains(r.stdout, "sha256:") {
		t.Errorf("stack export shows the env value, or no seal of it:\n%s", r.stdout)
	}
	// The value did reach the workload (read with client-go, not meridian).
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(&clientcmd.ClientConfigLoadingRules{ExplicitPath: set.Kubeconfig()},
		&clientcmd.ConfigOverrides{CurrentContext: "region-a"}).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := deployedEnv(t, cs, "secretive", "secretive"); got["DB_PASSWORD"] != secretValue || got["LOG_LEVEL"] != "debug" {
		t.Fatalf("deployed env %v, want DB_PASSWORD = the secret", got)
	}

	if r := c.must("refresh", endpoint); !strings.Contains(r.stdout, "0 drifted") {
		t.Errorf("refresh of an unchanged workload: %s", r.stdout)
	}
	// A value changed by hand in the Secret is drift of env, by name only.
	ctx := context.Background()
	s, err := cs.CoreV1().Secrets("secretive").Get(ctx, "secretive-env", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Data["DB_PASSWORD"] = []byte("set-by-hand-999")
	if _, err := cs.CoreV1().Secrets("secretive").Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if r := c.must("refresh", endpoint); !strings.Contains(r.stdout, "env") || strings.Contains(r.stdout, "set-by-hand-999") {
		t.Errorf("refresh after a hand edit of the env secret:\n%s", r.stdout)
	}
	if files := clearIn(t, filepath.Join(dir, ".meridian"), "set-by-hand-999"); len(files) > 0 {
		t.Errorf("the value set by hand is in clear in %v", files)
	}
	version := func() string {
		d, err := cs.AppsV1().Deployments("secretive").Get(ctx, "secretive", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return d.Spec.Template.Annotations["meridian/env-version"]
	}
	before := version()
	const rotated = "r0tated-pa55word"
	writeWorkloadStack(t, dir, clusters, rotated)
	pv := c.must("preview", endpoint)
	if !strings.Contains(pv.stdout, "env: (sensitive) changed") || strings.Contains(pv.stdout, rotated) || strings.Contains(pv.stdout, secretValue) {
		t.Errorf("preview of a changed secret:\n%s", pv.stdout)
	}
	up = c.must("up", "--yes", "--json", endpoint)
	if strings.Contains(up.stdout+up.stderr, rotated) {
		t.Errorf("up --json shows the new env value:\n%s", up.stdout)
	}
	if files := clearIn(t, filepath.Join(dir, ".meridian"), rotated); len(files) > 0 {
		t.Errorf("the new env value is in clear in %v", files)
	}
	if got := deployedEnv(t, cs, "secretive", "secretive"); got["DB_PASSWORD"] != rotated {
		t.Errorf("deployed env after the update %v, want the new value", got)
	}
	// The pods roll: their template names the Secret's new version.
	if after := version(); before == "" || after == before {
		t.Errorf("pod template env version %q -> %q, want a change (a rollout)", before, after)
	}
}

// deployedEnv is the env a Deployment's container gets, as the cluster has
// it: from the Secret the container takes whole. The Deployment itself
// must hold no env value.
func deployedEnv(t *testing.T, cs kubernetes.Interface, ns, name string) map[string]string {
	t.Helper()
	ctx := context.Background()
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, c := range d.Spec.Template.Spec.Containers {
		if len(c.Env) > 0 {
			t.Errorf("deployment %s/%s holds env values in its spec: %v", ns, name, c.Env)
		}
		for _, e := range c.EnvFrom {
			if e.SecretRef == nil {
				continue
			}
			s, err := cs.CoreV1().Secrets(ns).Get(ctx, e.SecretRef.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range s.Data {
				out[k] = string(v)
			}
		}
	}
	return out
}

// createKMSKey makes a KMS key on moto with a raw JSON call and returns its ARN.
func createKMSKey(t *testing.T, endpoint string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint+"/", strings.NewReader(`{"Description":"meridian state"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "TrentService.CreateKey")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ KeyMetadata struct{ Arn string } }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.KeyMetadata.Arn == "" {
		t.Fatalf("CreateKey: status %d, %v, %+v", resp.StatusCode, err, out)
	}
	return out.KeyMetadata.Arn
}

// TestStateKMSKey: --state-kms-key makes every object of an S3 state
// SSE-KMS under the key, as a raw S3 client's HeadObject shows; with a
// local state it is an error rather than a false assurance.
func TestStateKMSKey(t *testing.T) {
	m := startMoto(t)
	ctx := context.Background()
	client := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(m.Endpoint()), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("kms-state")}); err != nil {
		t.Fatal(err)
	}
	key := createKMSKey(t, m.Endpoint())
	dir := t.TempDir()
	writeStack(t, dir, "kms", 1, 4)
	c := newCLI(t, dir, "MERIDIAN_STATE=s3://kms-state/team", "MERIDIAN_STATE_KMS_KEY="+key, "TF_CLI_CONFIG_FILE=/dev/null",
		"AWS_ENDPOINT_URL="+m.Endpoint(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1")
	endpoint := "--var=aws_endpoint=" + m.Endpoint()
	c.must("stack", "init", "dev")
	c.must("up", "--yes", endpoint)
	list, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("kms-state"), Prefix: aws.String("team/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Contents) == 0 {
		t.Fatal("no state object in s3://kms-state/team/")
	}
	for _, o := range list.Contents {
		head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("kms-state"), Key: o.Key})
		if err != nil {
			t.Fatal(err)
		}
		if head.ServerSideEncryption != "aws:kms" || aws.ToString(head.SSEKMSKeyId) != key {
			t.Errorf("%s: encryption %q key %q, want aws:kms with %s", aws.ToString(o.Key), head.ServerSideEncryption, aws.ToString(head.SSEKMSKeyId), key)
		}
	}
	c.must("destroy", "--yes", endpoint)

	local := newCLI(t, dir, "MERIDIAN_STATE=", "TF_CLI_CONFIG_FILE=/dev/null")
	if r := local.run("preview", "--state-kms-key", key, endpoint); r.code == 0 || !strings.Contains(r.stderr, "s3://") {
		t.Errorf("a KMS key with a local state: exit %d, %s", r.code, r.stderr)
	}
}
