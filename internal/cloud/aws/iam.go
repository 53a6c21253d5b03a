package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

type roleProps struct {
	Name             string         `json:"name"`
	Path             string         `json:"path"`
	AssumeRolePolicy map[string]any `json:"assume_role_policy"`
	// ManagedPolicyArns are the managed policies attached to the role, and
	// the only ones: an update detaches any other (none listed means none).
	ManagedPolicyArns []string `json:"managed_policy_arns,omitempty"`
}

type roleDriver struct{ c *Cloud }

func (roleDriver) ForceNew() []string { return []string{"name", "path"} }

func (d roleDriver) Create(ctx context.Context, req engine.Request) (engine.Result, error) {
	var p roleProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, err
	}
	doc, err := json.Marshal(p.AssumeRolePolicy)
	if err != nil {
		return engine.Result{}, err
	}
	in := &iam.CreateRoleInput{
		RoleName:                 aws.String(p.Name),
		Path:                     aws.String(p.Path),
		AssumeRolePolicyDocument: aws.String(string(doc)),
		Description:              aws.String("Managed by meridian (" + req.Name + ")"),
	}
	for _, k := range sortedKeys(req.Tags) {
		in.Tags = append(in.Tags, iamtypes.Tag{Key: aws.String(k), Value: aws.String(req.Tags[k])})
	}
	out, err := d.c.IAM().CreateRole(ctx, in)
	if code(err) == "EntityAlreadyExists" {
		// The role exists: adopt it only if it is this primitive's.
		tags, err := d.tags(ctx, p.Name)
		if err != nil {
			return engine.Result{}, err
		}
		if err := engine.Claim(req, roleWhat(p.Name), tags); err != nil {
			return engine.Result{}, err
		}
		return d.Update(ctx, engine.Record{ID: p.Name}, req)
	} else if err != nil {
		return engine.Result{}, classify(err)
	}
	// A create cut short here is retried: CreateRole then meets the role,
	// adopts it, and Update attaches what is missing.
	if err := d.attach(ctx, p.Name, nil, p.ManagedPolicyArns); err != nil {
		return engine.Result{}, err
	}
	return engine.Result{ID: p.Name, Outputs: roleOutputs(out.Role)}, nil
}

// attached lists the managed policies attached to a role, sorted.
func (d roleDriver) attached(ctx context.Context, role string) ([]string, error) {
	var arns []string
	pages := iam.NewListAttachedRolePoliciesPaginator(d.c.IAM(), &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(role)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, classify(err)
		}
		for _, p := range page.AttachedPolicies {
			arns = append(arns, aws.ToString(p.PolicyArn))
		}
	}
	sort.Strings(arns)
	return arns, nil
}

// attach makes the role's managed policies want, given that have are
// attached now: it attaches the missing ones and detaches the others.
func (d roleDriver) attach(ctx context.Context, role string, have, want []string) error {
	client := d.c.IAM()
	for _, arn := range want {
		if slices.Contains(have, arn) {
			continue
		}
		if _, err := client.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(role), PolicyArn: aws.String(arn)}); err != nil {
			return fmt.Errorf("attach %s to role %s: %w", arn, role, classify(err))
		}
	}
	for _, arn := range have {
		if slices.Contains(want, arn) {
			continue
		}
		_, err := client.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(role), PolicyArn: aws.String(arn)})
		if err = classify(err); err != nil && !errors.Is(err, engine.ErrNotFound) {
			return fmt.Errorf("detach %s from role %s: %w", arn, role, err)
		}
	}
	return nil
}

// Marked: roles carry the engine's ownership marks as tags.
func (roleDriver) Marked() {}

func roleWhat(name string) string { return fmt.Sprintf("IAM role %q", name) }

// Find looks for the role req names, without creating it.
func (d roleDriver) Find(ctx context.Context, req engine.Request) (engine.Result, bool, error) {
	var p roleProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, false, err
	}
	out, err := d.c.IAM().GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(p.Name)})
	if err = classify(err); errors.Is(err, engine.ErrNotFound) {
		return engine.Result{}, false, nil
	} else if err != nil {
		return engine.Result{}, false, err
	}
	tags, err := d.tags(ctx, p.Name)
	if err != nil {
		return engine.Result{}, false, err
	}
	if err := engine.Claim(req, roleWhat(p.Name), tags); err != nil {
		return engine.Result{}, true, err
	}
	return engine.Result{ID: p.Name, Outputs: roleOutputs(out.Role)}, true, nil
}

func roleOutputs(r *iamtypes.Role) map[string]string {
	return map[string]string{"name": aws.ToString(r.RoleName), "arn": aws.ToString(r.Arn)}
}

func (d roleDriver) Read(ctx context.Context, rec engine.Record) (engine.Observation, error) {
	out, err := d.c.IAM().GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(rec.ID)})
	if err != nil {
		return engine.Observation{}, classify(err)
	}
	doc, err := policyDocument(aws.ToString(out.Role.AssumeRolePolicyDocument))
	if err != nil {
		return engine.Observation{}, fmt.Errorf("assume role policy of %s: %w", rec.ID, err)
	}
	tags, err := d.tags(ctx, rec.ID)
	if err != nil {
		return engine.Observation{}, err
	}
	props := map[string]any{"name": rec.ID, "path": aws.ToString(out.Role.Path), "assume_role_policy": doc}
	arns, err := d.attached(ctx, rec.ID)
	if err != nil {
		return engine.Observation{}, fmt.Errorf("managed policies of role %s: %w", rec.ID, err)
	}
	// Only where some are attached or some were asked for: a role with
	// none, as asked, must read back as it was written.
	if _, asked := rec.Inputs["managed_policy_arns"]; asked || len(arns) > 0 {
		list := make([]any, len(arns))
		for i, arn := range arns {
			list[i] = arn
		}
		props["managed_policy_arns"] = list
	}
	return engine.Observation{
		Properties: props,
		Tags:       tags,
		Outputs:    roleOutputs(out.Role),
	}, nil
}

func (d roleDriver) tags(ctx context.Context, role string) (map[string]string, error) {
	tags := map[string]string{}
	pages := iam.NewListRoleTagsPaginator(d.c.IAM(), &iam.ListRoleTagsInput{RoleName: aws.String(role)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, classify(err)
		}
		for _, t := range page.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	return tags, nil
}

// policyDocument parses a policy as IAM returns it: URL-encoded JSON.
func policyDocument(s string) (map[string]any, error) {
	if decoded, err := url.QueryUnescape(s); err == nil {
		s = decoded
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(s), &doc); err != nil {
		return nil, err
	}
	return doc, nil
}

func (d roleDriver) Update(ctx context.Context, rec engine.Record, req engine.Request) (engine.Result, error) {
	var p roleProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, err
	}
	doc, err := json.Marshal(p.AssumeRolePolicy)
	if err != nil {
		return engine.Result{}, err
	}
	client := d.c.IAM()
	if _, err := client.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(rec.ID), PolicyDocument: aws.String(string(doc))}); err != nil {
		return engine.Result{}, classify(err)
	}
	arns, err := d.attached(ctx, rec.ID)
	if err != nil {
		return engine.Result{}, err
	}
	if err := d.attach(ctx, rec.ID, arns, p.ManagedPolicyArns); err != nil {
		return engine.Result{}, err
	}
	have, err := d.tags(ctx, rec.ID)
	if err != nil {
		return engine.Result{}, err
	}
	set, remove := tagDiff(have, req.Tags)
	if len(remove) > 0 {
		if _, err := client.UntagRole(ctx, &iam.UntagRoleInput{RoleName: aws.String(rec.ID), TagKeys: remove}); err != nil {
			return engine.Result{}, classify(err)
		}
	}
	if len(set) > 0 {
		in := &iam.TagRoleInput{RoleName: aws.String(rec.ID)}
		for _, k := range sortedKeys(set) {
			in.Tags = append(in.Tags, iamtypes.Tag{Key: aws.String(k), Value: aws.String(set[k])})
		}
		if _, err := client.TagRole(ctx, in); err != nil {
			return engine.Result{}, classify(err)
		}
	}
	out, err := client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(rec.ID)})
	if err != nil {
		return engine.Result{}, classify(err)
	}
	return engine.Result{ID: rec.ID, Outputs: roleOutputs(out.Role)}, nil
}

func (d roleDriver) Delete(ctx context.Context, rec engine.Record) error {
	// IAM refuses to delete a role with policies attached (DeleteConflict):
	// detach meridian's first. Policies attached by others stay, and the
	// refusal below says so.
	var p roleProps
	if err := primitive.Decode(rec.Inputs, &p); err != nil {
		return err
	}
	for _, arn := range p.ManagedPolicyArns {
		_, err := d.c.IAM().DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(rec.ID), PolicyArn: aws.String(arn)})
		if err = classify(err); err != nil && !errors.Is(err, engine.ErrNotFound) {
			return fmt.Errorf("detach %s from role %s: %w", arn, rec.ID, err)
		}
	}
	_, err := d.c.IAM().DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(rec.ID)})
	if err = classify(err); errors.Is(err, engine.ErrNotFound) {
		return nil
	}
	if code(err) == "DeleteConflict" {
		// Not worth a retry: something outside meridian holds the role.
		return fmt.Errorf("IAM refused to delete role %s (DeleteConflict): it still has policies (attached, or inline ones meridian does not manage) or is in an instance profile. Detach or delete those policies and remove it from its instance profiles (aws iam list-attached-role-policies, list-role-policies, list-instance-profiles-for-role), then destroy again: %w", rec.ID, err)
	}
	return err
}

type rolePolicyProps struct {
	Role   string         `json:"role"`
	Name   string         `json:"name"`
	Policy map[string]any `json:"policy"`
}

type rolePolicyDriver struct{ c *Cloud }

func (rolePolicyDriver) ForceNew() []string { return []string{"role", "name"} }

func (d rolePolicyDriver) Create(ctx context.Context, req engine.Request) (engine.Result, error) {
	var p rolePolicyProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, err
	}
	doc, err := json.Marshal(p.Policy)
	if err != nil {
		return engine.Result{}, err
	}
	if _, err := d.c.IAM().PutRolePolicy(ctx, &iam.PutRolePolicyInput{
		RoleName: aws.String(p.Role), PolicyName: aws.String(p.Name), PolicyDocument: aws.String(string(doc)),
	}); err != nil {
		return engine.Result{}, classify(err)
	}
	return engine.Result{ID: p.Role + ":" + p.Name}, nil
}

func (d rolePolicyDriver) Read(ctx context.Context, rec engine.Record) (engine.Observation, error) {
	var p rolePolicyProps
	if err := primitive.Decode(rec.Inputs, &p); err != nil {
		return engine.Observation{}, err
	}
	out, err := d.c.IAM().GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(p.Role), PolicyName: aws.String(p.Name)})
	if err != nil {
		return engine.Observation{}, classify(err)
	}
	doc, err := policyDocument(aws.ToString(out.PolicyDocument))
	if err != nil {
		return engine.Observation{}, fmt.Errorf("policy %s: %w", rec.ID, err)
	}
	return engine.Observation{Properties: map[string]any{"role": p.Role, "name": p.Name, "policy": doc}}, nil
}

func (d rolePolicyDriver) Update(ctx context.Context, _ engine.Record, req engine.Request) (engine.Result, error) {
	return d.Create(ctx, req)
}

func (d rolePolicyDriver) Delete(ctx context.Context, rec engine.Record) error {
	var p rolePolicyProps
	if err := primitive.Decode(rec.Inputs, &p); err != nil {
		return err
	}
	_, err := d.c.IAM().DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(p.Role), PolicyName: aws.String(p.Name)})
	if err = classify(err); errors.Is(err, engine.ErrNotFound) {
		return nil
	}
	return err
}
