package stack

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// declaration is a resource block as CheckNames points at it.
type declaration struct {
	address, typ string
	declRange    hcl.Range
	ranges       map[string]hcl.Range
}

// CheckNames reports every cloud name that two of the stack's primitives
// claim (see compile.CheckNames), as an error at each of the two
// declarations, at the attribute that makes the name where it is written:
// such a stack would fail half way through up, after creating objects, or
// make two Route 53 zones of one name. It makes no cloud call. A stack that
// does not compile gives no diagnostics here; its compile error is reported
// where it is planned.
func (st *Stack) CheckNames() hcl.Diagnostics {
	g, err := st.Graph()
	if err != nil {
		return nil
	}
	return st.nameDiagnostics(compile.CheckNames(g))
}

func (st *Stack) nameDiagnostics(clashes []compile.Clash) hcl.Diagnostics {
	byPrefix := map[string]declaration{}
	for _, rp := range st.RegionPairs {
		byPrefix[Prefix(ResourceType, rp.Blueprint.Name)] = declaration{rp.Address(), ResourceType, rp.DeclRange, rp.ranges}
	}
	for _, p := range st.DRPolicies {
		byPrefix[Prefix(DRPolicyType, p.Blueprint.Name)] = declaration{p.Address(), DRPolicyType, p.DeclRange, p.ranges}
	}
	for _, p := range st.CostTagPolicies {
		byPrefix[Prefix(CostTagPolicyType, p.Blueprint.Name)] = declaration{p.Address(), CostTagPolicyType, p.DeclRange, nil}
	}
	for _, c := range st.CapacityReservations {
		byPrefix[Prefix(CapacityReservationType, c.Blueprint.Name)] = declaration{c.Address(), CapacityReservationType, c.DeclRange, c.ranges}
	}
	// where finds the declaration of a stack primitive and the range of
	// the attribute that names it.
	where := func(p primitive.Primitive) (string, hcl.Range) {
		prefix, short, _ := strings.Cut(p.Name, Separator)
		d, ok := byPrefix[prefix]
		if !ok {
			return p.Name, hcl.Range{}
		}
		r := d.declRange
		for path := claimPath(d.typ, p.Type, short); path != ""; path = parent(path) {
			if at, ok := d.ranges[path]; ok {
				r = at
				break
			}
		}
		return d.address, r
	}
	var diags hcl.Diagnostics
	for _, c := range clashes {
		a, ar := where(c.First.Primitive)
		b, br := where(c.Second.Primitive)
		detail := func(me, my, other, their string, at hcl.Range) string {
			return fmt.Sprintf("%s: its %s claims %s, and so does %s of %s at %s:%d; only one object can have that name, so up would fail half way: give one of them another name.",
				me, my, c.Claim, their, other, at.Filename, at.Start.Line)
		}
		diags = append(diags, errAt(ar, compile.ClashSummary, detail(a, short(c.First.Primitive.Name), b, short(c.Second.Primitive.Name), br)))
		if ar != br {
			diags = append(diags, errAt(br, compile.ClashSummary, detail(b, short(c.Second.Primitive.Name), a, short(c.First.Primitive.Name), ar)))
		}
	}
	return diags
}

func short(name string) string {
	if _, s, ok := strings.Cut(name, Separator); ok {
		return s
	}
	return name
}

// claimPath is the attribute of a resource of type resourceType that makes
// the name a primitive of type primitiveType claims.
func claimPath(resourceType, primitiveType, short string) string {
	switch resourceType {
	case ResourceType:
		switch primitiveType {
		case compile.S3Bucket:
			return "object_store.bucket_prefix"
		case compile.DynamoDBTable, compile.DynamoDBReplica:
			return "kv_table.name"
		case compile.Route53Zone:
			return "dns.zone_name"
		case compile.Route53Record:
			return "dns.record_name"
		}
	case DRPolicyType:
		switch {
		case short == compile.BackupVault+".primary":
			return "backup.primary_vault"
		case short == compile.BackupVault+".secondary":
			return "backup.secondary_vault"
		case primitiveType == compile.IAMRole:
			return "region_pair" // the backup role is named after the pair
		}
	case CapacityReservationType:
		if primitiveType == compile.K8sNamespace {
			return "kubernetes.namespace"
		}
	}
	return "name"
}
