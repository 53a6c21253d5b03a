package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

type orgPolicyProps struct {
	Name        string         `json:"name"`
	Type        string         `json:"type"`
	Description string         `json:"description"`
	Content     map[string]any `json:"content"`
}

type orgPolicyDriver struct{ c *Cloud }

func (orgPolicyDriver) ForceNew() []string { return []string{"type"} }

func (d orgPolicyDriver) Create(ctx context.Context, req engine.Request) (engine.Result, error) {
	var p orgPolicyProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, err
	}
	client := d.c.Organizations()
	// Policy names are unique in an organization: a policy of this name is
	// adopted only if it is this primitive's.
	found, err := d.byName(ctx, p)
	if err != nil {
		return engine.Result{}, err
	}
	if found != nil {
		if err := d.claim(ctx, req, p, found); err != nil {
			return engine.Result{}, err
		}
		return d.Update(ctx, engine.Record{ID: aws.ToString(found.Id)}, req)
	}
	content, err := json.Marshal(p.Content)
	if err != nil {
		return engine.Result{}, err
	}
	in := &organizations.CreatePolicyInput{
		Name: aws.String(p.Name), Type: orgtypes.PolicyType(p.Type), Description: aws.String(p.Description), Content: aws.String(string(content)),
	}
	for _, k := range sortedKeys(req.Tags) {
		in.Tags = append(in.Tags, orgtypes.Tag{Key: aws.String(k), Value: aws.String(req.Tags[k])})
	}
	out, err := client.CreatePolicy(ctx, in)
	if err != nil {
		return engine.Result{}, classify(err)
	}
	s := out.Policy.PolicySummary
	return engine.Result{ID: aws.ToString(s.Id), Outputs: map[string]string{"arn": aws.ToString(s.Arn)}}, nil
}

// Marked: policies carry the engine's ownership marks as tags.
func (orgPolicyDriver) Marked() {}

// byName returns the policy of p's type and name, or nil.
func (d orgPolicyDriver) byName(ctx context.Context, p orgPolicyProps) (*orgtypes.PolicySummary, error) {
	pages := organizations.NewListPoliciesPaginator(d.c.Organizations(), &organizations.ListPoliciesInput{Filter: orgtypes.PolicyType(p.Type)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, classify(err)
		}
		for i, s := range page.Policies {
			if aws.ToString(s.Name) == p.Name {
				return &page.Policies[i], nil
			}
		}
	}
	return nil, nil
}

// claim decides whether req may adopt the existing policy s.
func (d orgPolicyDriver) claim(ctx context.Context, req engine.Request, p orgPolicyProps, s *orgtypes.PolicySummary) error {
	tags, err := d.tags(ctx, aws.ToString(s.Id))
	if err != nil {
		return err
	}
	return engine.Claim(req, fmt.Sprintf("Organizations %s %q", p.Type, p.Name), tags)
}

// Find looks for the policy req names, without creating it.
func (d orgPolicyDriver) Find(ctx context.Context, req engine.Request) (engine.Result, bool, error) {
	var p orgPolicyProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, false, err
	}
	s, err := d.byName(ctx, p)
	if err != nil || s == nil {
		return engine.Result{}, false, err
	}
	if err := d.claim(ctx, req, p, s); err != nil {
		return engine.Result{}, true, err
	}
	return engine.Result{ID: aws.ToString(s.Id), Outputs: map[string]string{"arn": aws.ToString(s.Arn)}}, true, nil
}

func (d orgPolicyDriver) tags(ctx context.Context, id string) (map[string]string, error) {
	tags := map[string]string{}
	pages := organizations.NewListTagsForResourcePaginator(d.c.Organizations(), &organizations.ListTagsForResourceInput{ResourceId: aws.String(id)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("tags: %w", classify(err))
		}
		for _, t := range page.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	return tags, nil
}

func (d orgPolicyDriver) Read(ctx context.Context, rec engine.Record) (engine.Observation, error) {
	out, err := d.c.Organizations().DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: aws.String(rec.ID)})
	if err != nil {
		return engine.Observation{}, orgClassify(err)
	}
	var content map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(out.Policy.Content)), &content); err != nil {
		return engine.Observation{}, fmt.Errorf("content of policy %s: %w", rec.ID, err)
	}
	tags, err := d.tags(ctx, rec.ID)
	if err != nil {
		return engine.Observation{}, err
	}
	s := out.Policy.PolicySummary
	return engine.Observation{
		Properties: map[string]any{"name": aws.ToString(s.Name), "type": string(s.Type), "description": aws.ToString(s.Description), "content": content},
		Tags:       tags,
		Outputs:    map[string]string{"arn": aws.ToString(s.Arn)},
	}, nil
}

func (d orgPolicyDriver) Update(ctx context.Context, rec engine.Record, req engine.Request) (engine.Result, error) {
	var p orgPolicyProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, err
	}
	content, err := json.Marshal(p.Content)
	if err != nil {
		return engine.Result{}, err
	}
	client := d.c.Organizations()
	out, err := client.UpdatePolicy(ctx, &organizations.UpdatePolicyInput{
		PolicyId: aws.String(rec.ID), Name: aws.String(p.Name), Description: aws.String(p.Description), Content: aws.String(string(content)),
	})
	if err != nil {
		return engine.Result{}, orgClassify(err)
	}
	have, err := d.tags(ctx, rec.ID)
	if err != nil {
		return engine.Result{}, err
	}
	set, remove := tagDiff(have, req.Tags)
	if len(remove) > 0 {
		if _, err := client.UntagResource(ctx, &organizations.UntagResourceInput{ResourceId: aws.String(rec.ID), TagKeys: remove}); err != nil {
			return engine.Result{}, classify(err)
		}
	}
	if len(set) > 0 {
		in := &organizations.TagResourceInput{ResourceId: aws.String(rec.ID)}
		for _, k := range sortedKeys(set) {
			in.Tags = append(in.Tags, orgtypes.Tag{Key: aws.String(k), Value: aws.String(set[k])})
		}
		if _, err := client.TagResource(ctx, in); err != nil {
			return engine.Result{}, classify(err)
		}
	}
	return engine.Result{ID: rec.ID, Outputs: map[string]string{"arn": aws.ToString(out.Policy.PolicySummary.Arn)}}, nil
}

func (d orgPolicyDriver) Delete(ctx context.Context, rec engine.Record) error {
	_, err := d.c.Organizations().DeletePolicy(ctx, &organizations.DeletePolicyInput{PolicyId: aws.String(rec.ID)})
	if err = orgClassify(err); errors.Is(err, engine.ErrNotFound) {
		return nil
	}
	return err
}

// orgClassify adds the Organizations "not found" codes to classify.
func orgClassify(err error) error {
	switch code(err) {
	case "PolicyNotFoundException", "TargetNotFoundException", "PolicyNotAttachedException":
		return fmt.Errorf("%w: %v", engine.ErrNotFound, err)
	}
	return classify(err)
}

type orgAttachmentProps struct {
	PolicyID string `json:"policy_id"`
	TargetID string `json:"target_id"`
}

type orgAttachmentDriver struct{ c *Cloud }

func (orgAttachmentDriver) ForceNew() []string { return []string{"policy_id", "target_id"} }

func (d orgAttachmentDriver) Create(ctx context.Context, req engine.Request) (engine.Result, error) {
	var p orgAttachmentProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, err
	}
	client := d.c.Organizations()
	if strings.HasPrefix(p.TargetID, "r-") {
		// A root accepts tag policies only once the policy type is enabled on it.
		_, err := client.EnablePolicyType(ctx, &organizations.EnablePolicyTypeInput{RootId: aws.String(p.TargetID), PolicyType: orgtypes.PolicyTypeTagPolicy})
		if err != nil && code(err) != "PolicyTypeAlreadyEnabledException" {
			return engine.Result{}, fmt.Errorf("enable tag policies on %s: %w", p.TargetID, classify(err))
		}
	}
	_, err := client.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: aws.String(p.PolicyID), TargetId: aws.String(p.TargetID)})
	if err != nil && code(err) != "DuplicatePolicyAttachmentException" {
		return engine.Result{}, orgClassify(err)
	}
	return engine.Result{ID: p.PolicyID + "/" + p.TargetID}, nil
}

func (d orgAttachmentDriver) Read(ctx context.Context, rec engine.Record) (engine.Observation, error) {
	var p orgAttachmentProps
	if err := primitive.Decode(rec.Inputs, &p); err != nil {
		return engine.Observation{}, err
	}
	pages := organizations.NewListTargetsForPolicyPaginator(d.c.Organizations(), &organizations.ListTargetsForPolicyInput{PolicyId: aws.String(p.PolicyID)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return engine.Observation{}, orgClassify(err)
		}
		for _, t := range page.Targets {
			if aws.ToString(t.TargetId) == p.TargetID {
				return engine.Observation{Properties: map[string]any{"policy_id": p.PolicyID, "target_id": p.TargetID}}, nil
			}
		}
	}
	return engine.Observation{}, fmt.Errorf("policy %s is not attached to %s: %w", p.PolicyID, p.TargetID, engine.ErrNotFound)
}

func (d orgAttachmentDriver) Update(ctx context.Context, _ engine.Record, req engine.Request) (engine.Result, error) {
	return d.Create(ctx, req)
}

func (d orgAttachmentDriver) Delete(ctx context.Context, rec engine.Record) error {
	var p orgAttachmentProps
	if err := primitive.Decode(rec.Inputs, &p); err != nil {
		return err
	}
	_, err := d.c.Organizations().DetachPolicy(ctx, &organizations.DetachPolicyInput{PolicyId: aws.String(p.PolicyID), TargetId: aws.String(p.TargetID)})
	if err = orgClassify(err); errors.Is(err, engine.ErrNotFound) {
		return nil
	}
	return err
}
