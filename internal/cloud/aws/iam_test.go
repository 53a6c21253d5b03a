package aws

import (
	"errors"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// TestRoleManagedPolicies: the DR backup role gets the AWS Backup service
// policies attached (moto knows AWS's managed policies, so the attach is
// checked as AWS would check it), a read reports them so that refresh sees
// a detach made outside, an update attaches them again, and a delete
// detaches them first: IAM refuses to delete a role with a policy attached
// (DeleteConflict, which moto answers as AWS does). The old driver ignored
// managed_policy_arns, so the role could do nothing.
func TestRoleManagedPolicies(t *testing.T) {
	e := startOwnEnv(t)
	raw := e.iam()
	d := e.drivers[primitive.IAMRole]
	arns := compile.BackupServicePolicies("us-east-1")
	props := map[string]any{
		"name": "meridian-pay-backup", "path": "/meridian/",
		"assume_role_policy": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
			"Effect": "Allow", "Principal": map[string]any{"Service": "backup.amazonaws.com"}, "Action": "sts:AssumeRole"}}},
		"managed_policy_arns": arns,
	}
	req := ownReq(primitive.IAMRole, primitive.Global, "aws_iam_role.backup", "tok-backup", props)
	res, err := d.Create(e.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	attached := func() []any {
		t.Helper()
		out := must[*iam.ListAttachedRolePoliciesOutput](t, "list attached")(raw.ListAttachedRolePolicies(e.ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(res.ID)}))
		var got []any
		for _, p := range out.AttachedPolicies {
			got = append(got, aws.ToString(p.PolicyArn))
		}
		return got
	}
	if got := attached(); !reflect.DeepEqual(got, arns) {
		t.Fatalf("attached after create: %v, want %v", got, arns)
	}
	rec := engine.Record{Name: req.Name, Type: req.Type, Region: req.Region, ID: res.ID, Inputs: req.Properties, Tags: req.Tags}
	obs, err := d.Read(e.ctx, rec)
	if err != nil {
		t.Fatal(err)
	}
	if got := obs.Properties["managed_policy_arns"]; !reflect.DeepEqual(got, arns) {
		t.Errorf("read: managed_policy_arns = %v, want %v", got, arns)
	}

	// Someone detaches one: a read shows it, and an update puts it back.
	must[*iam.DetachRolePolicyOutput](t, "detach")(raw.DetachRolePolicy(e.ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(res.ID), PolicyArn: aws.String(arns[1].(string))}))
	if obs, err = d.Read(e.ctx, rec); err != nil {
		t.Fatal(err)
	} else if got := obs.Properties["managed_policy_arns"]; !reflect.DeepEqual(got, arns[:1]) {
		t.Errorf("read after a detach: managed_policy_arns = %v, want %v", got, arns[:1])
	}
	if _, err := d.Update(e.ctx, rec, req); err != nil {
		t.Fatal(err)
	}
	if got := attached(); !reflect.DeepEqual(got, arns) {
		t.Errorf("attached after update: %v, want %v", got, arns)
	}

	// A role asked to have none, with none attached, reads back as written.
	plain := map[string]any{"name": "meridian-pay-replication", "path": "/meridian/", "assume_role_policy": props["assume_role_policy"]}
	preq := ownReq(primitive.IAMRole, primitive.Global, "aws_iam_role.replication", "tok-replication", plain)
	pres, err := d.Create(e.ctx, preq)
	if err != nil {
		t.Fatal(err)
	}
	pobs, err := d.Read(e.ctx, engine.Record{ID: pres.ID, Inputs: preq.Properties})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := pobs.Properties["managed_policy_arns"]; ok {
		t.Errorf("a role without managed policies reads back with %v: a perpetual diff", pobs.Properties["managed_policy_arns"])
	}

	if err := d.Delete(e.ctx, rec); err != nil {
		t.Fatalf("delete of the backup role: %v", err)
	}
	_, err = raw.GetRole(e.ctx, &iam.GetRoleInput{RoleName: aws.String(res.ID)})
	var gone *iamtypes.NoSuchEntityException
	if !errors.As(err, &gone) {
		t.Errorf("the role is still there after delete: %v", err)
	}
}
