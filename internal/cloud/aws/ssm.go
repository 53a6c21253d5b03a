package aws

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

type parameterProps struct {
	Name  string         `json:"name"`
	Value map[string]any `json:"value"`
}

// parameterDriver keeps a JSON document in an SSM parameter: meridian's
// manifest of what a resource is made of, which import reads.
type parameterDriver struct{ c *Cloud }

func (parameterDriver) ForceNew() []string { return []string{"name"} }

func (d parameterDriver) put(ctx context.Context, region string, p parameterProps, overwrite bool, tags map[string]string) error {
	// Plain JSON when it fits 4 KB, else compressed; the compile step
	// refused what does not fit 8 KB even so.
	value, err := primitive.EncodeManifest(p.Value)
	if err != nil {
		return fmt.Errorf("%s: %w", parameterWhat(p.Name, region), err)
	}
	// Intelligent-Tiering keeps a value of up to 4 KB in the free Standard
	// tier and moves a larger one to Advanced; unlike naming Standard, it
	// does not fail when a smaller value overwrites an Advanced one.
	in := &ssm.PutParameterInput{Name: aws.String(p.Name), Value: aws.String(value), Type: ssmtypes.ParameterTypeString,
		Overwrite: aws.Bool(overwrite), Tier: ssmtypes.ParameterTierIntelligentTiering}
	if !overwrite {
		for _, k := range sortedKeys(tags) {
			in.Tags = append(in.Tags, ssmtypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
		}
	}
	_, err = d.c.SSM(region).PutParameter(ctx, in)
	return classify(err)
}

func (d parameterDriver) Create(ctx context.Context, req engine.Request) (engine.Result, error) {
	var p parameterProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, err
	}
	err := d.put(ctx, req.Region, p, false, req.Tags)
	if code(err) == "ParameterAlreadyExists" {
		// The parameter exists: adopt it only if it is this primitive's.
		tags, err := d.tags(ctx, req.Region, p.Name)
		if err != nil {
			return engine.Result{}, err
		}
		if err := engine.Claim(req, parameterWhat(p.Name, req.Region), tags); err != nil {
			return engine.Result{}, err
		}
		return d.Update(ctx, engine.Record{ID: p.Name, Region: req.Region}, req)
	}
	if err != nil {
		return engine.Result{}, err
	}
	return engine.Result{ID: p.Name}, nil
}

// Marked: parameters carry the engine's ownership marks as tags.
func (parameterDriver) Marked() {}

func parameterWhat(name, region string) string {
	return fmt.Sprintf("SSM parameter %q in %s", name, region)
}

// Find looks for the parameter req names, without creating it.
func (d parameterDriver) Find(ctx context.Context, req engine.Request) (engine.Result, bool, error) {
	var p parameterProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, false, err
	}
	_, err := d.c.SSM(req.Region).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(p.Name)})
	if code(err) == "ParameterNotFound" {
		return engine.Result{}, false, nil
	} else if err != nil {
		return engine.Result{}, false, classify(err)
	}
	tags, err := d.tags(ctx, req.Region, p.Name)
	if err != nil {
		return engine.Result{}, false, err
	}
	if err := engine.Claim(req, parameterWhat(p.Name, req.Region), tags); err != nil {
		return engine.Result{}, true, err
	}
	return engine.Result{ID: p.Name}, true, nil
}

// GetParameter reads a parameter's JSON document; import uses it to find a resource's manifest.
func (c *Cloud) GetParameter(ctx context.Context, region, name string) (map[string]any, error) {
	out, err := c.SSM(region).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
	if code(err) == "ParameterNotFound" {
		return nil, fmt.Errorf("parameter %s in %s: %w", name, region, engine.ErrNotFound)
	}
	if err != nil {
		return nil, classify(err)
	}
	return manifest(region, name, aws.ToString(out.Parameter.Value))
}

// manifest parses a parameter's value as the JSON document meridian wrote.
func manifest(region, name, raw string) (map[string]any, error) {
	value, err := primitive.DecodeManifest(raw)
	if err != nil {
		return nil, fmt.Errorf("parameter %s in %s is not a meridian manifest: %w", name, region, err)
	}
	return value, nil
}

func (d parameterDriver) tags(ctx context.Context, region, name string) (map[string]string, error) {
	out, err := d.c.SSM(region).ListTagsForResource(ctx, &ssm.ListTagsForResourceInput{ResourceType: ssmtypes.ResourceTypeForTaggingParameter, ResourceId: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("tags: %w", classify(err))
	}
	tags := map[string]string{}
	for _, t := range out.TagList {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return tags, nil
}

func (d parameterDriver) setTags(ctx context.Context, region, name string, want map[string]string) error {
	have, err := d.tags(ctx, region, name)
	if err != nil {
		return err
	}
	client := d.c.SSM(region)
	set, remove := tagDiff(have, want)
	if len(remove) > 0 {
		if _, err := client.RemoveTagsFromResource(ctx, &ssm.RemoveTagsFromResourceInput{ResourceType: ssmtypes.ResourceTypeForTaggingParameter, ResourceId: aws.String(name), TagKeys: remove}); err != nil {
			return classify(err)
		}
	}
	if len(set) > 0 {
		in := &ssm.AddTagsToResourceInput{ResourceType: ssmtypes.ResourceTypeForTaggingParameter, ResourceId: aws.String(name)}
		for _, k := range sortedKeys(set) {
			in.Tags = append(in.Tags, ssmtypes.Tag{Key: aws.String(k), Value: aws.String(set[k])})
		}
		if _, err := client.AddTagsToResource(ctx, in); err != nil {
			return classify(err)
		}
	}
	return nil
}

func (d parameterDriver) Read(ctx context.Context, rec engine.Record) (engine.Observation, error) {
	value, err := d.c.GetParameter(ctx, rec.Region, rec.ID)
	if err != nil {
		return engine.Observation{}, err
	}
	return d.observe(ctx, rec, value)
}

// observe reads the tags of a parameter whose value was read.
func (d parameterDriver) observe(ctx context.Context, rec engine.Record, value map[string]any) (engine.Observation, error) {
	tags, err := d.tags(ctx, rec.Region, rec.ID)
	if err != nil {
		return engine.Observation{}, err
	}
	return engine.Observation{Properties: map[string]any{"name": rec.ID, "value": value}, Tags: tags}, nil
}

func (d parameterDriver) Update(ctx context.Context, rec engine.Record, req engine.Request) (engine.Result, error) {
	var p parameterProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, err
	}
	if err := d.put(ctx, req.Region, p, true, nil); err != nil {
		return engine.Result{}, err
	}
	if err := d.setTags(ctx, req.Region, p.Name, req.Tags); err != nil {
		return engine.Result{}, err
	}
	return engine.Result{ID: p.Name}, nil
}

func (d parameterDriver) Delete(ctx context.Context, rec engine.Record) error {
	_, err := d.c.SSM(rec.Region).DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(rec.ID)})
	if code(err) == "ParameterNotFound" {
		return nil
	}
	if err = classify(err); errors.Is(err, engine.ErrNotFound) {
		return nil
	}
	return err
}
