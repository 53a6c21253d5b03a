package aws

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	backuptypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// EmulatorTagsPath adds the trailing slash that the older AWS Backup API
// model put after ListTags' GET /tags/{arn}: moto routes only that form and
// answers the SDK's /tags/{arn} with no tags at all. TagResource (POST to
// the same path) is left alone: moto takes the ARN from the path's last
// segment, and with the slash it tags the ARN "". It is added only for an
// overridden endpoint; AWS itself gets the SDK's request unchanged.
func EmulatorTagsPath(stack *middleware.Stack) error {
	return stack.Build.Add(middleware.BuildMiddlewareFunc("meridianEmulatorTagsPath", func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
		if req, ok := in.Request.(*smithyhttp.Request); ok && req.Method == http.MethodGet && strings.HasPrefix(req.URL.Path, "/tags/") && !strings.HasSuffix(req.URL.Path, "/") {
			req.URL.Path += "/"
			if req.URL.RawPath != "" {
				req.URL.RawPath += "/"
			}
		}
		return next.HandleBuild(ctx, in)
	}), middleware.After)
}

// backupTags reads and sets the tags of a vault or plan by ARN.
func (c *Cloud) backupTags(ctx context.Context, region, arn string) (map[string]string, error) {
	out, err := c.Backup(region).ListTags(ctx, &backup.ListTagsInput{ResourceArn: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("tags: %w", classify(err))
	}
	if out.Tags == nil {
		return map[string]string{}, nil
	}
	return out.Tags, nil
}

func (c *Cloud) setBackupTags(ctx context.Context, region, arn string, want map[string]string) error {
	have, err := c.backupTags(ctx, region, arn)
	if err != nil {
		return err
	}
	set, remove := tagDiff(have, want)
	client := c.Backup(region)
	if len(remove) > 0 {
		if _, err := client.UntagResource(ctx, &backup.UntagResourceInput{ResourceArn: aws.String(arn), TagKeyList: remove}); err != nil {
			return fmt.Errorf("tags: %w", classify(err))
		}
	}
	if len(set) > 0 {
		if _, err := client.TagResource(ctx, &backup.TagResourceInput{ResourceArn: aws.String(arn), Tags: set}); err != nil {
			return fmt.Errorf("tags: %w", classify(err))
		}
	}
	return nil
}

type vaultDriver struct{ c *Cloud }

func (vaultDriver) ForceNew() []string { return []string{"name"} }

func (d vaultDriver) Create(ctx context.Context, req engine.Request) (engine.Result, error) {
	name, _ := req.Properties["name"].(string)
	out, err := d.c.Backup(req.Region).CreateBackupVault(ctx, &backup.CreateBackupVaultInput{
		BackupVaultName: aws.String(name), BackupVaultTags: req.Tags, CreatorRequestId: aws.String(req.Token),
	})
	if code(err) == "AlreadyExistsException" {
		// The vault exists: adopt it only if it is this primitive's.
		obs, err := d.Read(ctx, engine.Record{ID: name, Region: req.Region})
		if err != nil {
			return engine.Result{}, err
		}
		if err := engine.Claim(req, vaultWhat(name, req.Region), obs.Tags); err != nil {
			return engine.Result{}, err
		}
		return d.Update(ctx, engine.Record{ID: name, Region: req.Region}, req)
	} else if err != nil {
		return engine.Result{}, classify(err)
	}
	return engine.Result{ID: name, Outputs: map[string]string{"name": name, "arn": aws.ToString(out.BackupVaultArn)}}, nil
}

// Marked: vaults carry the engine's ownership marks as tags.
func (vaultDriver) Marked() {}

func vaultWhat(name, region string) string {
	return fmt.Sprintf("AWS Backup vault %q in %s", name, region)
}

// Find looks for the vault req names, without creating it.
func (d vaultDriver) Find(ctx context.Context, req engine.Request) (engine.Result, bool, error) {
	name, _ := req.Properties["name"].(string)
	obs, err := d.Read(ctx, engine.Record{ID: name, Region: req.Region})
	if errors.Is(err, engine.ErrNotFound) {
		return engine.Result{}, false, nil
	} else if err != nil {
		return engine.Result{}, false, err
	}
	if err := engine.Claim(req, vaultWhat(name, req.Region), obs.Tags); err != nil {
		return engine.Result{}, true, err
	}
	return engine.Result{ID: name, Outputs: obs.Outputs}, true, nil
}

// HoldsData reports the vault's recovery points.
func (d vaultDriver) HoldsData(ctx context.Context, rec engine.Record) (string, error) {
	out, err := d.c.Backup(rec.Region).DescribeBackupVault(ctx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String(rec.ID)})
	if err = classify(err); errors.Is(err, engine.ErrNotFound) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	switch n := out.NumberOfRecoveryPoints; n {
	case 0:
		return "", nil
	case 1:
		return "1 recovery point", nil
	default:
		return fmt.Sprintf("%d recovery points", n), nil
	}
}

func (d vaultDriver) Read(ctx context.Context, rec engine.Record) (engine.Observation, error) {
	out, err := d.c.Backup(rec.Region).DescribeBackupVault(ctx, &backup.DescribeBackupVaultInput{BackupVaultName: aws.String(rec.ID)})
	if err != nil {
		return engine.Observation{}, classify(err)
	}
	arn := aws.ToString(out.BackupVaultArn)
	tags, err := d.c.backupTags(ctx, rec.Region, arn)
	if err != nil {
		return engine.Observation{}, err
	}
	return engine.Observation{
		Properties: map[string]any{"name": rec.ID},
		Tags:       tags,
		Outputs:    map[string]string{"name": rec.ID, "arn": arn},
	}, nil
}

func (d vaultDriver) Update(ctx context.Context, rec engine.Record, req engine.Request) (engine.Result, error) {
	obs, err := d.Read(ctx, rec)
	if err != nil {
		return engine.Result{}, err
	}
	if err := d.c.setBackupTags(ctx, req.Region, obs.Outputs["arn"], req.Tags); err != nil {
		return engine.Result{}, err
	}
	return engine.Result{ID: rec.ID, Outputs: obs.Outputs}, nil
}

func (d vaultDriver) Delete(ctx context.Context, rec engine.Record) error {
	_, err := d.c.Backup(rec.Region).DeleteBackupVault(ctx, &backup.DeleteBackupVaultInput{BackupVaultName: aws.String(rec.ID)})
	if err = classify(err); errors.Is(err, engine.ErrNotFound) {
		return nil
	}
	return err
}

type backupRuleProps struct {
	Name            string `json:"name"`
	Schedule        string `json:"schedule"`
	TargetVault     string `json:"target_vault"`
	DeleteAfterDays int64  `json:"delete_after_days"`
	CopyToVaultArn  string `json:"copy_to_vault_arn,omitempty"`
}

type backupPlanProps struct {
	Name string          `json:"name"`
	Rule backupRuleProps `json:"rule"`
}

func (p backupPlanProps) input() *backuptypes.BackupPlanInput {
	rule := backuptypes.BackupRuleInput{
		RuleName:              aws.String(p.Rule.Name),
		TargetBackupVaultName: aws.String(p.Rule.TargetVault),
		ScheduleExpression:    aws.String(p.Rule.Schedule),
		Lifecycle:             &backuptypes.Lifecycle{DeleteAfterDays: aws.Int64(p.Rule.DeleteAfterDays)},
	}
	if p.Rule.CopyToVaultArn != "" {
		rule.CopyActions = []backuptypes.CopyAction{{
			DestinationBackupVaultArn: aws.String(p.Rule.CopyToVaultArn),
			Lifecycle:                 &backuptypes.Lifecycle{DeleteAfterDays: aws.Int64(p.Rule.DeleteAfterDays)},
		}}
	}
	return &backuptypes.BackupPlanInput{BackupPlanName: aws.String(p.Name), Rules: []backuptypes.BackupRuleInput{rule}}
}

type backupPlanDriver struct{ c *Cloud }

func (backupPlanDriver) ForceNew() []string { return nil }

func (d backupPlanDriver) Create(ctx context.Context, req engine.Request) (engine.Result, error) {
	var p backupPlanProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, err
	}
	// Plan names are unique among a region's plans, but the id is AWS's:
	// a plan of this name that a create cut short made must be found by
	// name and adopted if it is this primitive's.
	found, err := d.byName(ctx, req.Region, p.Name)
	if err != nil {
		return engine.Result{}, err
	}
	if found != nil {
		tags, err := d.c.backupTags(ctx, req.Region, aws.ToString(found.BackupPlanArn))
		if err != nil {
			return engine.Result{}, err
		}
		if err := engine.Claim(req, planWhat(p.Name, req.Region), tags); err != nil {
			return engine.Result{}, err
		}
		return d.Update(ctx, engine.Record{ID: aws.ToString(found.BackupPlanId), Region: req.Region}, req)
	}
	out, err := d.c.Backup(req.Region).CreateBackupPlan(ctx, &backup.CreateBackupPlanInput{
		BackupPlan: p.input(), BackupPlanTags: req.Tags, CreatorRequestId: aws.String(req.Token),
	})
	if code(err) == "AlreadyExistsException" {
		return engine.Result{}, fmt.Errorf("%s: the name is taken, though no plan of that name is listed (an emulator keeps a deleted plan's name); choose another name: %w: %w", planWhat(p.Name, req.Region), engine.ErrExists, err)
	} else if err != nil {
		return engine.Result{}, classify(err)
	}
	return engine.Result{ID: aws.ToString(out.BackupPlanId), Outputs: map[string]string{"arn": aws.ToString(out.BackupPlanArn)}}, nil
}

// Marked: plans carry the engine's ownership marks as tags.
func (backupPlanDriver) Marked() {}

func planWhat(name, region string) string {
	return fmt.Sprintf("AWS Backup plan %q in %s", name, region)
}

// byName returns the plan named name that is not deleted, or nil.
func (d backupPlanDriver) byName(ctx context.Context, region, name string) (*backuptypes.BackupPlansListMember, error) {
	pages := backup.NewListBackupPlansPaginator(d.c.Backup(region), &backup.ListBackupPlansInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list backup plans: %w", classify(err))
		}
		for i, pl := range page.BackupPlansList {
			if aws.ToString(pl.BackupPlanName) == name && pl.DeletionDate == nil {
				return &page.BackupPlansList[i], nil
			}
		}
	}
	return nil, nil
}

// Find looks for the plan req names, without creating it.
func (d backupPlanDriver) Find(ctx context.Context, req engine.Request) (engine.Result, bool, error) {
	var p backupPlanProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, false, err
	}
	found, err := d.byName(ctx, req.Region, p.Name)
	if err != nil || found == nil {
		return engine.Result{}, false, err
	}
	arn := aws.ToString(found.BackupPlanArn)
	tags, err := d.c.backupTags(ctx, req.Region, arn)
	if err != nil {
		return engine.Result{}, false, err
	}
	if err := engine.Claim(req, planWhat(p.Name, req.Region), tags); err != nil {
		return engine.Result{}, true, err
	}
	return engine.Result{ID: aws.ToString(found.BackupPlanId), Outputs: map[string]string{"arn": arn}}, true, nil
}

func (d backupPlanDriver) Read(ctx context.Context, rec engine.Record) (engine.Observation, error) {
	out, err := d.c.Backup(rec.Region).GetBackupPlan(ctx, &backup.GetBackupPlanInput{BackupPlanId: aws.String(rec.ID)})
	if err != nil {
		return engine.Observation{}, classify(err)
	}
	props := map[string]any{"name": aws.ToString(out.BackupPlan.BackupPlanName)}
	if rules := out.BackupPlan.Rules; len(rules) == 1 {
		r := rules[0]
		rule := map[string]any{
			"name": aws.ToString(r.RuleName), "schedule": aws.ToString(r.ScheduleExpression),
			"target_vault": aws.ToString(r.TargetBackupVaultName),
		}
		if r.Lifecycle != nil {
			rule["delete_after_days"] = aws.ToInt64(r.Lifecycle.DeleteAfterDays)
		}
		if len(r.CopyActions) == 1 {
			rule["copy_to_vault_arn"] = aws.ToString(r.CopyActions[0].DestinationBackupVaultArn)
		}
		props["rule"] = rule
	}
	arn := aws.ToString(out.BackupPlanArn)
	tags, err := d.c.backupTags(ctx, rec.Region, arn)
	if err != nil {
		return engine.Observation{}, err
	}
	return engine.Observation{Properties: props, Tags: tags, Outputs: map[string]string{"arn": arn}}, nil
}

func (d backupPlanDriver) Update(ctx context.Context, rec engine.Record, req engine.Request) (engine.Result, error) {
	var p backupPlanProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, err
	}
	// UpdateBackupPlan makes a new version of the plan each time: call it
	// only when the plan differs, not for a change of tags alone or an
	// adoption of a plan that is as asked (emulators lack it, too).
	obs, err := d.Read(ctx, rec)
	if err != nil {
		return engine.Result{}, err
	}
	var have backupPlanProps
	arn := obs.Outputs["arn"]
	if err := primitive.Decode(primitive.Normalize(obs.Properties), &have); err != nil || have != p {
		out, err := d.c.Backup(req.Region).UpdateBackupPlan(ctx, &backup.UpdateBackupPlanInput{BackupPlanId: aws.String(rec.ID), BackupPlan: p.input()})
		if err != nil {
			return engine.Result{}, classify(err)
		}
		arn = aws.ToString(out.BackupPlanArn)
	}
	if err := d.c.setBackupTags(ctx, req.Region, arn, req.Tags); err != nil {
		return engine.Result{}, err
	}
	return engine.Result{ID: rec.ID, Outputs: map[string]string{"arn": arn}}, nil
}

func (d backupPlanDriver) Delete(ctx context.Context, rec engine.Record) error {
	_, err := d.c.Backup(rec.Region).DeleteBackupPlan(ctx, &backup.DeleteBackupPlanInput{BackupPlanId: aws.String(rec.ID)})
	if err = classify(err); errors.Is(err, engine.ErrNotFound) {
		return nil
	}
	return err
}

type backupSelectionProps struct {
	PlanID   string `json:"plan_id"`
	Name     string `json:"name"`
	RoleArn  string `json:"role_arn"`
	TagKey   string `json:"tag_key"`
	TagValue string `json:"tag_value"`
}

// backupSelectionDriver selects resources for a backup plan by tag. Some
// endpoints (moto) do not implement selections; the driver then records the
// selection as unverified and says so, rather than failing the whole policy
// or pretending the resources are backed up.
type backupSelectionDriver struct{ c *Cloud }

func (backupSelectionDriver) ForceNew() []string {
	return []string{"plan_id", "name", "role_arn", "tag_key", "tag_value"}
}

func unsupportedSelection(p backupSelectionProps) string {
	return fmt.Sprintf("backup selection %s (resources tagged %s=%s) is not confirmed: the endpoint does not implement AWS Backup selections, so nothing selects the pair's resources for backup here. It is recorded as unverified; on AWS this call creates it.", p.Name, p.TagKey, p.TagValue)
}

func (d backupSelectionDriver) Create(ctx context.Context, req engine.Request) (engine.Result, error) {
	var p backupSelectionProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, err
	}
	// The backup role is usually made in the same apply: AWS Backup cannot
	// assume it until IAM has propagated it.
	var out *backup.CreateBackupSelectionOutput
	err := retryWhile(ctx, rolePropagation, roleNotAssumable, func() (err error) {
		out, err = d.c.Backup(req.Region).CreateBackupSelection(ctx, &backup.CreateBackupSelectionInput{
			BackupPlanId:     aws.String(p.PlanID),
			CreatorRequestId: aws.String(req.Token),
			BackupSelection: &backuptypes.BackupSelection{
				SelectionName: aws.String(p.Name),
				IamRoleArn:    aws.String(p.RoleArn),
				ListOfTags:    []backuptypes.Condition{{ConditionType: backuptypes.ConditionTypeStringequals, ConditionKey: aws.String(p.TagKey), ConditionValue: aws.String(p.TagValue)}},
			},
		})
		return err
	})
	if err = classify(err); d.c.tolerates(err) {
		return engine.Result{ID: p.PlanID + "/" + p.Name, Outputs: map[string]string{"verified": "false"}, Warnings: []string{unsupportedSelection(p)}}, nil
	} else if err != nil {
		return engine.Result{}, err
	}
	return engine.Result{ID: p.PlanID + "/" + aws.ToString(out.SelectionId), Outputs: map[string]string{"selection_id": aws.ToString(out.SelectionId), "verified": "true"}}, nil
}

func (d backupSelectionDriver) Read(ctx context.Context, rec engine.Record) (engine.Observation, error) {
	var p backupSelectionProps
	if err := primitive.Decode(rec.Inputs, &p); err != nil {
		return engine.Observation{}, err
	}
	if rec.Outputs["verified"] != "true" {
		if !d.c.conf.Emulator {
			// Recorded against an emulator, read against AWS: make it for real.
			return engine.Observation{}, fmt.Errorf("backup selection %s was never confirmed: %w", p.Name, engine.ErrNotFound)
		}
		return engine.Observation{Outputs: map[string]string{"verified": "false"}, Warnings: []string{unsupportedSelection(p)}}, nil
	}
	_, err := d.c.Backup(rec.Region).GetBackupSelection(ctx, &backup.GetBackupSelectionInput{BackupPlanId: aws.String(p.PlanID), SelectionId: aws.String(rec.Outputs["selection_id"])})
	if err != nil {
		return engine.Observation{}, classify(err)
	}
	return engine.Observation{}, nil
}

func (d backupSelectionDriver) Update(ctx context.Context, _ engine.Record, req engine.Request) (engine.Result, error) {
	return d.Create(ctx, req)
}

func (d backupSelectionDriver) Delete(ctx context.Context, rec engine.Record) error {
	if rec.Outputs["verified"] != "true" {
		return nil // never made
	}
	var p backupSelectionProps
	if err := primitive.Decode(rec.Inputs, &p); err != nil {
		return err
	}
	_, err := d.c.Backup(rec.Region).DeleteBackupSelection(ctx, &backup.DeleteBackupSelectionInput{BackupPlanId: aws.String(p.PlanID), SelectionId: aws.String(rec.Outputs["selection_id"])})
	if err = classify(err); errors.Is(err, engine.ErrNotFound) {
		return nil
	}
	return err
}
