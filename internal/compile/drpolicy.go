package compile

import (
	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

func init() {
	untaggable[primitive.BackupSelection] = "a selection is part of its backup plan, which is tagged"
}

// BackupServicePolicies are the AWS managed policies the backup role needs,
// in the partition of region: a role AWS Backup can assume but that may do
// nothing fails every backup and restore job. AWS keeps them current as
// Backup learns new resource types, which an inline copy would not be.
func BackupServicePolicies(region string) []any {
	return []any{
		blueprint.ARN(region, "iam", "", "aws", "policy/service-role/AWSBackupServiceRolePolicyForBackup"),
		blueprint.ARN(region, "iam", "", "aws", "policy/service-role/AWSBackupServiceRolePolicyForRestores"),
	}
}

// DRPolicy compiles a DR policy: backup vaults in both regions, a plan whose
// rule copies every recovery point to the secondary vault, and a selection of
// the pair's resources by their meridian:resource tag. It also returns the
// restore runbook of the pair.
func DRPolicy(written blueprint.DRPolicy, defaultTags map[string]string) (primitive.Graph, Runbook, error) {
	p := written.WithDefaults()
	if ps := p.Validate(); len(ps) > 0 {
		return primitive.Graph{}, Runbook{}, ps[0]
	}
	pair, err := RegionPair(p.RegionPair, defaultTags)
	if err != nil {
		return primitive.Graph{}, Runbook{}, err
	}
	rb, err := MakeRunbook(pair, p.RestoreOrder)
	if err != nil {
		return primitive.Graph{}, Runbook{}, blueprint.Problem{Paths: []string{"restore_order"}, Summary: "Invalid restore order", Detail: err.Error()}
	}
	if problem := checkRTO(p, rb); problem != nil {
		return primitive.Graph{}, rb, *problem
	}
	rp := p.RegionPair
	var policyTags map[string]string
	if rp.CostTagPolicy != nil {
		policyTags = rp.CostTagPolicy.DefaultTags
	}
	b := &graphBuilder{resource: "meridian_dr_policy." + p.Name, tags: mergeTags(defaultTags, policyTags, rp.Tags, p.Tags)}
	vaults := map[string]string{"primary": rp.PrimaryRegion, "secondary": rp.SecondaryRegion}
	names := map[string]string{"primary": p.Backup.PrimaryVault, "secondary": p.Backup.SecondaryVault}
	for _, role := range []string{"primary", "secondary"} {
		b.add(primitive.Primitive{
			Name: primitive.BackupVault + "." + role, Type: primitive.BackupVault, Region: vaults[role],
			Properties: map[string]any{"name": names[role]},
		}, role)
	}
	role := primitive.IAMRole + ".backup"
	b.add(primitive.Primitive{
		Name: role, Type: primitive.IAMRole, Region: primitive.Global,
		Properties: map[string]any{
			"name": "meridian-" + rp.Name + "-backup",
			"path": "/meridian/",
			"assume_role_policy": policy(map[string]any{
				"Effect":    "Allow",
				"Principal": map[string]any{"Service": "backup.amazonaws.com"},
				"Action":    "sts:AssumeRole",
			}),
			"managed_policy_arns": BackupServicePolicies(rp.PrimaryRegion),
		},
	}, "")
	rule := map[string]any{
		"name":              "meridian-" + p.Name,
		"schedule":          p.Backup.Schedule,
		"target_vault":      primitive.Ref(primitive.BackupVault+".primary", "name"),
		"delete_after_days": p.Backup.RetentionDays,
	}
	if p.Backup.CrossRegionCopy {
		rule["copy_to_vault_arn"] = primitive.Ref(primitive.BackupVault+".secondary", "arn")
	}
	plan := primitive.BackupPlan + ".dr"
	b.add(primitive.Primitive{
		Name: plan, Type: primitive.BackupPlan, Region: rp.PrimaryRegion,
		Properties: map[string]any{"name": "meridian-" + p.Name, "rule": rule},
	}, "primary")
	b.add(primitive.Primitive{
		Name: primitive.BackupSelection + ".pair", Type: primitive.BackupSelection, Region: rp.PrimaryRegion,
		Properties: map[string]any{
			"plan_id":   primitive.Ref(plan, "id"),
			"name":      "meridian-" + rp.Name,
			"role_arn":  primitive.Ref(role, "arn"),
			"tag_key":   TagResource,
			"tag_value": "meridian_region_pair." + rp.Name,
		},
	}, "primary")
	g := b.graph()
	if err := g.Check(); err != nil {
		return primitive.Graph{}, Runbook{}, err
	}
	if rp.CostTagPolicy != nil {
		if vs := Enforce(*rp.CostTagPolicy, b.resource, g); len(vs) > 0 {
			return primitive.Graph{}, rb, vs
		}
	}
	return g, rb, nil
}
