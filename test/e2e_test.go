// Package test is meridian's end-to-end suite: real terraform applies the
// modules in modules/ against moto (for AWS) and real local Kubernetes
// clusters (for the regions' workloads), and terratest checks the result.
// `make e2e` runs it; it needs the cluster binaries (built on first use).
package test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/gruntwork-io/terratest/modules/k8s"
	"github.com/gruntwork-io/terratest/modules/terraform"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meridianhq/terraform-provider-meridian/internal/testbed"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed/cluster"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed/cluster/clustertest"
)

// bed is what one end-to-end test runs against.
type bed struct {
	moto     *testbed.AWS // Endpoint() for terraform and the CLI, Moto for checks
	clusters *cluster.Set
	dir      string // the fixture's copy
	opts     *terraform.Options
}

// start brings up moto, two clusters (region-a, region-b), the provider in
// a local mirror, and a copy of the repository's folder dir (such as
// test/fixtures/service or examples/drill) with the modules beside it.
func start(t *testing.T, dir string) *bed {
	t.Helper()
	tf := testbed.RequireTool(t, "terraform")
	moto, clusters := startCloud(t)
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	mirror := filepath.Join(work, "mirror")
	if err := testbed.InstallProvider(root, mirror); err != nil {
		t.Fatalf("install provider: %v", err)
	}
	cliConfig := filepath.Join(work, "terraformrc")
	if err := testbed.WriteCLIConfig(cliConfig, mirror); err != nil {
		t.Fatal(err)
	}
	// Fixtures refer to ../../../modules: keep that layout in the copy.
	for _, d := range []string{"modules", dir} {
		if err := os.CopyFS(filepath.Join(work, d), os.DirFS(filepath.Join(root, d))); err != nil {
			t.Fatalf("copy %s: %v", d, err)
		}
	}
	dir = filepath.Join(work, dir)
	return &bed{moto: moto, clusters: clusters, dir: dir, opts: &terraform.Options{
		TerraformBinary: tf,
		TerraformDir:    dir,
		Vars:            map[string]any{"aws_endpoint": moto.Endpoint(), "kubeconfig": clusters.Kubeconfig()},
		EnvVars:         map[string]string{"TF_CLI_CONFIG_FILE": cliConfig, "CHECKPOINT_DISABLE": "1"},
		NoColor:         true,
	}}
}

// startCloud starts moto and two clusters (region-a, region-b), stopped
// when the test ends.
func startCloud(t *testing.T) (*testbed.AWS, *cluster.Set) {
	t.Helper()
	testbed.RequireTool(t, "moto_server")
	clusters := clustertest.ForTest(t, "region-a", "region-b")
	moto := testbed.StartAWSForTest(t) // the strict layer in front with MERIDIAN_STRICT
	return moto, clusters
}

func (b *bed) kube(region, namespace string) *k8s.KubectlOptions {
	return k8s.NewKubectlOptions(region, b.clusters.Kubeconfig(), namespace)
}

func (b *bed) aws(region string) aws.Config { return awsConfig(b.moto, region) }

// awsConfig is for the tests' own checks: moto directly, never the strict
// layer.
func awsConfig(moto *testbed.AWS, region string) aws.Config {
	return aws.Config{Region: region, BaseEndpoint: aws.String(moto.Moto.Endpoint()),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
}

func TestServiceAcrossTwoClusters(t *testing.T) {
	b := start(t, filepath.Join("test", "fixtures", "service"))
	destroyed := false
	defer func() {
		if !destroyed {
			terraform.Destroy(t, b.opts)
		}
	}()
	terraform.InitAndApply(t, b.opts)

	// The workload runs in both clusters: full replicas in the primary,
	// the standby count in the secondary, each told its role and its peer.
	for _, c := range []struct {
		context, role, peer string
		replicas            int32
	}{
		{"region-a", "primary", "us-west-2", 2},
		{"region-b", "secondary", "us-east-1", 1},
	} {
		kube := b.kube(c.context, "shop")
		k8s.WaitUntilDeploymentAvailable(t, kube, "shop", 30, 2*time.Second)
		d := k8s.GetDeployment(t, kube, "shop")
		if got := *d.Spec.Replicas; got != c.replicas {
			t.Errorf("%s: deployment replicas = %d, want %d", c.context, got, c.replicas)
		}
		labels := d.Labels
		for k, want := range map[string]string{"cost-centre": "cc-2042", "service": "shop", "meridian/region-role": c.role} {
			if labels[k] != want {
				t.Errorf("%s: deployment label %s = %q, want %q (labels %v)", c.context, k, labels[k], want, labels)
			}
		}
		client, err := k8s.GetKubernetesClientFromOptionsE(t, kube)
		if err != nil {
			t.Fatal(err)
		}
		cm, err := client.CoreV1().ConfigMaps("shop").Get(context.Background(), "shop-region", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s: config map: %v", c.context, err)
		}
		if cm.Data["MERIDIAN_REGION_ROLE"] != c.role || cm.Data["MERIDIAN_PEER_REGION"] != c.peer {
			t.Errorf("%s: config map data %v, want role %s and peer %s", c.context, cm.Data, c.role, c.peer)
		}
		svc := k8s.GetService(t, kube, "shop")
		if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 8080 {
			t.Errorf("%s: service ports %v", c.context, svc.Spec.Ports)
		}
		if _, err := client.CoreV1().PersistentVolumeClaims("shop").Get(context.Background(), "shop-data", metav1.GetOptions{}); err != nil {
			t.Errorf("%s: volume claim: %v", c.context, err)
		}
	}
	// And the AWS side, read with the SDK.
	ctx := context.Background()
	for _, region := range []string{"us-east-1", "us-west-2"} {
		bucket := "shop-objects-" + region
		v, err := s3.NewFromConfig(b.aws(region), func(o *s3.Options) { o.UsePathStyle = true }).GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(bucket)})
		if err != nil || v.Status != "Enabled" {
			t.Errorf("bucket %s: versioning %v (%v)", bucket, v, err)
		}
	}
	if _, err := dynamodb.NewFromConfig(b.aws("us-east-1")).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("shop")}); err != nil {
		t.Errorf("table shop: %v", err)
	}

	if code := terraform.PlanExitCode(t, b.opts); code != 0 {
		t.Fatalf("plan after apply exits %d, want 0 (no changes)", code)
	}

	// Delete the Deployment in region-b by hand: plan reports it, apply restores it.
	client, err := k8s.GetKubernetesClientFromOptionsE(t, b.kube("region-b", "shop"))
	if err != nil {
		t.Fatal(err)
	}
	if err := client.AppsV1().Deployments("shop").Delete(ctx, "shop", metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete the deployment by hand: %v", err)
	}
	plan := terraform.InitAndPlan(t, b.opts)
	for _, want := range []string{"k8s_deployment.secondary", "was deleted outside meridian", "create k8s_deployment.secondary in us-west-2"} {
		if !strings.Contains(strings.Join(strings.Fields(plan), " "), want) {
			t.Errorf("plan does not mention %q:\n%s", want, plan)
		}
	}
	if code := terraform.PlanExitCode(t, b.opts); code != 2 {
		t.Errorf("plan with a deleted deployment exits %d, want 2 (changes)", code)
	}
	terraform.Apply(t, b.opts)
	k8s.WaitUntilDeploymentAvailable(t, b.kube("region-b", "shop"), "shop", 30, 2*time.Second)
	if code := terraform.PlanExitCode(t, b.opts); code != 0 {
		t.Errorf("plan after the restore exits %d, want 0", code)
	}

	terraform.Destroy(t, b.opts)
	destroyed = true
	// Nothing is left in either cluster or in moto.
	for _, context := range []string{"region-a", "region-b"} {
		if _, err := k8s.GetNamespaceE(t, b.kube(context, ""), "shop"); err == nil {
			t.Errorf("%s: namespace shop still exists after destroy", context)
		}
	}
	buckets, err := s3.NewFromConfig(b.aws("us-east-1"), func(o *s3.Options) { o.UsePathStyle = true }).ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || len(buckets.Buckets) != 0 {
		t.Errorf("buckets left after destroy: %v (%v)", buckets, err)
	}
	for _, region := range []string{"us-east-1", "us-west-2"} {
		tables, err := dynamodb.NewFromConfig(b.aws(region)).ListTables(ctx, &dynamodb.ListTablesInput{})
		if err != nil || len(tables.TableNames) != 0 {
			t.Errorf("tables left in %s after destroy: %v (%v)", region, tables, err)
		}
	}
	fmt.Println("e2e: service applied, checked, drift restored and destroyed in two clusters + moto")
}
