package compile

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

func TestIdentity(t *testing.T) {
	known := func(s string) (string, bool) {
		if s == "${aws_dynamodb_table.kv.table_name}" {
			return "orders", true
		}
		return "", false
	}
	prim := func(typ, region string, props map[string]any) primitive.Primitive {
		return primitive.Primitive{Name: typ + ".x", Type: typ, Region: region, Properties: props}
	}
	tests := []struct {
		p    primitive.Primitive
		want string // "" for no claim
	}{
		{prim(primitive.S3Bucket, "us-west-2", map[string]any{"bucket": "acme-us-west-2"}), `S3 bucket "acme-us-west-2" (unique in every account)`},
		{prim(primitive.DynamoDBTable, "us-east-1", map[string]any{"table_name": "orders"}), `DynamoDB table "orders" (unique in us-east-1)`},
		{prim(primitive.DynamoDBReplica, "us-west-2", map[string]any{"table_name": "${aws_dynamodb_table.kv.table_name}"}), `DynamoDB table "orders" (unique in us-west-2)`},
		{prim(primitive.Route53Zone, primitive.Global, map[string]any{"name": "Example.COM."}), `Route 53 hosted zone "example.com" (unique in the account)`},
		{prim(primitive.IAMRole, primitive.Global, map[string]any{"name": "meridian-a-replication"}), `IAM role "meridian-a-replication" (unique in the account)`},
		{prim(primitive.SSMParameter, "eu-west-1", map[string]any{"name": "/meridian/region_pair/a"}), `SSM parameter "/meridian/region_pair/a" (unique in eu-west-1)`},
		{prim(primitive.BackupVault, "us-east-1", map[string]any{"name": "v"}), `AWS Backup vault "v" (unique in us-east-1)`},
		{prim(primitive.BackupPlan, "us-east-1", map[string]any{"name": "p"}), `AWS Backup plan "p" (unique in us-east-1)`},
		{prim(primitive.LaunchTemplate, "us-east-1", map[string]any{"name": "web"}), `EC2 launch template "web" (unique in us-east-1)`},
		{prim(primitive.AutoScalingGroup, "us-east-1", map[string]any{"name": "web"}), `Auto Scaling group "web" (unique in us-east-1)`},
		{prim(primitive.OrganizationsPolicy, primitive.Global, map[string]any{"name": "meridian-costs"}), `Organizations policy "meridian-costs" (unique in the account)`},
		{prim(primitive.K8sNamespace, "us-east-1", map[string]any{"name": "shop"}), `Kubernetes namespace "shop" (unique in the cluster of us-east-1)`},
		{prim(primitive.K8sConfigMap, "us-east-1", map[string]any{"namespace": "shop", "name": "cfg"}), `Kubernetes config map "shop/cfg" (unique in the cluster of us-east-1)`},
		{prim(primitive.Route53Record, primitive.Global, map[string]any{"zone_id": "Z1", "name": "api.example.com", "type": "CNAME", "set_identifier": "primary"}), `Route 53 record set "api.example.com CNAME primary" (unique in hosted zone Z1)`},
		// Only known after apply, or no name of its own.
		{prim(primitive.IAMRole, primitive.Global, map[string]any{"name": "${aws_iam_role.other.id}"}), ""},
		{prim(primitive.Route53Record, primitive.Global, map[string]any{"zone_id": "${aws_route53_zone.dns.zone_id}", "name": "api.example.com"}), ""},
		{prim(primitive.Route53HealthCheck, primitive.Global, map[string]any{"fqdn": "a.example.com"}), ""},
		{prim(primitive.S3BucketReplication, "us-east-1", map[string]any{"bucket": "acme-us-east-1"}), ""},
		{prim(primitive.IAMRolePolicy, primitive.Global, map[string]any{"role": "r", "name": "replication"}), ""},
		{prim(primitive.EC2CapacityReservation, "us-east-1", map[string]any{"instance_type": "m5.large"}), ""},
	}
	for _, tt := range tests {
		c, ok := Identity(tt.p, known)
		got := ""
		if ok {
			got = c.String()
		}
		if got != tt.want {
			t.Errorf("Identity(%s %v) = %q, want %q", tt.p.Type, tt.p.Properties, got, tt.want)
		}
	}
}

func pairGraph(t *testing.T, rp blueprint.RegionPair) primitive.Graph {
	t.Helper()
	g, err := RegionPair(rp, nil)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestCheckNames(t *testing.T) {
	pair := func(name, primary, secondary string, edit func(*blueprint.RegionPair)) blueprint.RegionPair {
		rp := blueprint.RegionPair{
			Name: name, PrimaryRegion: primary, SecondaryRegion: secondary,
			ObjectStore: &blueprint.ObjectStore{BucketPrefix: "acme-" + name},
			KVTable:     &blueprint.KVTable{Name: name + "-kv", HashKey: "pk"},
			DNS: &blueprint.DNS{ZoneName: name + ".example.com", RecordName: "api",
				PrimaryEndpoint: "a." + name + ".example.com", SecondaryEndpoint: "b." + name + ".example.com"},
		}
		if edit != nil {
			edit(&rp)
		}
		return rp
	}
	vaults := func(name, primary, secondary string) primitive.Graph {
		g, _, err := DRPolicy(blueprint.DRPolicy{
			Name: name, RegionPair: pair(name, "us-east-1", "us-west-2", nil), RPO: "1h", RTO: "4h",
			Backup: blueprint.Backup{PrimaryVault: primary, SecondaryVault: secondary, Schedule: "cron(0 * * * ? *)"},
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	tests := []struct {
		name   string
		graphs []primitive.Graph
		want   []string // "claim: first / second"
	}{
		{
			name:   "distinct names",
			graphs: []primitive.Graph{pairGraph(t, pair("pair-a", "us-east-1", "us-west-2", nil)), pairGraph(t, pair("pair-b", "us-east-1", "us-west-2", nil))},
		},
		{
			name: "same bucket_prefix and regions",
			graphs: []primitive.Graph{
				pairGraph(t, pair("pair-a", "us-east-1", "us-west-2", func(rp *blueprint.RegionPair) { rp.ObjectStore.BucketPrefix = "shared" })),
				pairGraph(t, pair("pair-b", "us-east-1", "us-west-2", func(rp *blueprint.RegionPair) { rp.ObjectStore.BucketPrefix = "shared" })),
			},
			want: []string{
				`S3 bucket "shared-us-east-1" (unique in every account): 0:aws_s3_bucket.primary / 1:aws_s3_bucket.primary`,
				`S3 bucket "shared-us-west-2" (unique in every account): 0:aws_s3_bucket.secondary / 1:aws_s3_bucket.secondary`,
			},
		},
		{
			name: "same bucket_prefix, regions swapped",
			graphs: []primitive.Graph{
				pairGraph(t, pair("pair-a", "us-east-1", "us-west-2", func(rp *blueprint.RegionPair) { rp.ObjectStore.BucketPrefix = "shared" })),
				pairGraph(t, pair("pair-b", "us-west-2", "us-east-1", func(rp *blueprint.RegionPair) { rp.ObjectStore.BucketPrefix = "shared" })),
			},
			want: []string{
				`S3 bucket "shared-us-west-2" (unique in every account): 0:aws_s3_bucket.secondary / 1:aws_s3_bucket.primary`,
				`S3 bucket "shared-us-east-1" (unique in every account): 0:aws_s3_bucket.primary / 1:aws_s3_bucket.secondary`,
			},
		},
		{
			name: "same kv_table name in the same regions: the tables and their replicas",
			graphs: []primitive.Graph{
				pairGraph(t, pair("pair-a", "us-east-1", "us-west-2", func(rp *blueprint.RegionPair) { rp.KVTable.Name = "orders" })),
				pairGraph(t, pair("pair-b", "us-east-1", "us-west-2", func(rp *blueprint.RegionPair) { rp.KVTable.Name = "orders" })),
			},
			want: []string{
				`DynamoDB table "orders" (unique in us-east-1): 0:aws_dynamodb_table.kv / 1:aws_dynamodb_table.kv`,
				`DynamoDB table "orders" (unique in us-west-2): 0:aws_dynamodb_table_replica.kv / 1:aws_dynamodb_table_replica.kv`,
			},
		},
		{
			name: "a table against another pair's replica in the same region",
			graphs: []primitive.Graph{
				pairGraph(t, pair("pair-a", "us-east-1", "eu-west-1", func(rp *blueprint.RegionPair) { rp.KVTable.Name = "orders" })),
				pairGraph(t, pair("pair-b", "us-west-2", "us-east-1", func(rp *blueprint.RegionPair) { rp.KVTable.Name = "orders" })),
			},
			want: []string{
				`DynamoDB table "orders" (unique in us-east-1): 0:aws_dynamodb_table.kv / 1:aws_dynamodb_table_replica.kv`,
			},
		},
		{
			name: "same kv_table name in other regions is no clash",
			graphs: []primitive.Graph{
				pairGraph(t, pair("pair-a", "us-east-1", "us-west-2", func(rp *blueprint.RegionPair) { rp.KVTable.Name = "orders" })),
				pairGraph(t, pair("pair-b", "eu-west-1", "eu-central-1", func(rp *blueprint.RegionPair) { rp.KVTable.Name = "orders" })),
			},
		},
		{
			name: "same zone_name, spelled differently",
			graphs: []primitive.Graph{
				pairGraph(t, pair("pair-a", "us-east-1", "us-west-2", func(rp *blueprint.RegionPair) { rp.DNS.ZoneName = "shop.example.com" })),
				pairGraph(t, pair("pair-b", "eu-west-1", "eu-central-1", func(rp *blueprint.RegionPair) { rp.DNS.ZoneName = "Shop.Example.com." })),
			},
			want: []string{`Route 53 hosted zone "shop.example.com" (unique in the account): 0:aws_route53_zone.dns / 1:aws_route53_zone.dns`},
		},
		{
			name:   "DR policies with the same vault names",
			graphs: []primitive.Graph{vaults("pair-a", "vault-p", "vault-s"), vaults("pair-b", "vault-p", "vault-x")},
			want:   []string{`AWS Backup vault "vault-p" (unique in us-east-1): 0:aws_backup_vault.primary / 1:aws_backup_vault.primary`},
		},
		{
			name: "three claimants give two clashes with the first",
			graphs: []primitive.Graph{
				pairGraph(t, pair("pair-a", "us-east-1", "us-west-2", func(rp *blueprint.RegionPair) { rp.DNS.ZoneName = "z.example.com" })),
				pairGraph(t, pair("pair-b", "us-east-1", "us-west-2", func(rp *blueprint.RegionPair) { rp.DNS.ZoneName = "z.example.com" })),
				pairGraph(t, pair("pair-c", "us-east-1", "us-west-2", func(rp *blueprint.RegionPair) { rp.DNS.ZoneName = "z.example.com" })),
			},
			want: []string{
				`Route 53 hosted zone "z.example.com" (unique in the account): 0:aws_route53_zone.dns / 1:aws_route53_zone.dns`,
				`Route 53 hosted zone "z.example.com" (unique in the account): 0:aws_route53_zone.dns / 2:aws_route53_zone.dns`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, c := range CheckNames(tt.graphs...) {
				got = append(got, fmt.Sprintf("%s: %d:%s / %d:%s", c.Claim, c.First.Graph, c.First.Primitive.Name, c.Second.Graph, c.Second.Primitive.Name))
				if !strings.Contains(c.Error(), c.First.Primitive.Name) || !strings.Contains(c.Error(), c.Second.Primitive.Name) {
					t.Errorf("error does not name both primitives: %s", c.Error())
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("clashes:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}
