package stack

import (
	"fmt"
	"strings"
	"testing"
)

// TestCheckNamesAtBothDeclarations: two region pairs that claim the same
// buckets, table and hosted zone parse (each is valid alone), and
// CheckNames reports every clash at the attribute of each declaration.
func TestCheckNamesAtBothDeclarations(t *testing.T) {
	pair := func(label, name string) string {
		return fmt.Sprintf(`
resource "meridian_region_pair" %q {
  name             = %q
  primary_region   = "us-east-1"
  secondary_region = "us-west-2"
  object_store {
    bucket_prefix = "shared"
  }
  kv_table {
    name     = "orders"
    hash_key = "id"
  }
  dns {
    zone_name          = "shop.example.com"
    record_name        = %q
    primary_endpoint   = "a.example.com"
    secondary_endpoint = "b.example.com"
  }
}
`, label, name, name)
	}
	src := "provider \"meridian\" {}\n" + pair("a", "pair-a") + pair("b", "pair-b")
	st, diags := Parse(map[string][]byte{"main.tf": []byte(src)}, nil)
	if diags.HasErrors() {
		t.Fatal(FormatDiagnostics(diags))
	}
	got := FormatDiagnostics(st.CheckNames())
	t.Log("\n" + got)
	// Block a starts on line 3, b on line 22; bucket_prefix is 5 lines in,
	// kv_table.name 8, dns.zone_name 12.
	for _, want := range []string{
		`main.tf:8,21: error: Name claimed twice: meridian_region_pair.a: its aws_s3_bucket.primary claims S3 bucket "shared-us-east-1" (unique in every account), and so does aws_s3_bucket.primary of meridian_region_pair.b at main.tf:27`,
		`main.tf:27,21: error: Name claimed twice: meridian_region_pair.b: its aws_s3_bucket.primary claims S3 bucket "shared-us-east-1"`,
		`main.tf:8,21: error: Name claimed twice: meridian_region_pair.a: its aws_s3_bucket.secondary claims S3 bucket "shared-us-west-2"`,
		`main.tf:11,16: error: Name claimed twice: meridian_region_pair.a: its aws_dynamodb_table.kv claims DynamoDB table "orders" (unique in us-east-1), and so does aws_dynamodb_table.kv of meridian_region_pair.b at main.tf:30`,
		`main.tf:30,16: error: Name claimed twice: meridian_region_pair.b: its aws_dynamodb_table_replica.kv claims DynamoDB table "orders" (unique in us-west-2)`,
		`main.tf:15,26: error: Name claimed twice: meridian_region_pair.a: its aws_route53_zone.dns claims Route 53 hosted zone "shop.example.com" (unique in the account), and so does aws_route53_zone.dns of meridian_region_pair.b at main.tf:34`,
		`main.tf:34,26: error: Name claimed twice: meridian_region_pair.b: its aws_route53_zone.dns claims Route 53 hosted zone "shop.example.com"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing diagnostic:\n%s", want)
		}
	}
	// 5 clashes (2 buckets, table, replica, zone), each at both blocks.
	if n := len(st.CheckNames()); n != 10 {
		t.Errorf("%d diagnostics, want 10", n)
	}

	// Other names: no clash.
	other := strings.NewReplacer(`"shared"`, `"other"`, `"orders"`, `"orders-b"`, `"shop.example.com"`, `"b.shop.example.com"`).Replace(pair("b", "pair-b"))
	st, diags = Parse(map[string][]byte{"main.tf": []byte("provider \"meridian\" {}\n" + pair("a", "pair-a") + other)}, nil)
	if diags.HasErrors() {
		t.Fatal(FormatDiagnostics(diags))
	}
	if d := st.CheckNames(); len(d) != 0 {
		t.Errorf("distinct names reported:\n%s", FormatDiagnostics(d))
	}
}
