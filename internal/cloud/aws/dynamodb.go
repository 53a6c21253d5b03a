package aws

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

type tableProps struct {
	TableName      string `json:"table_name"`
	HashKey        string `json:"hash_key"`
	StreamViewType string `json:"stream_view_type"`
}

type tableDriver struct{ c *Cloud }

func (tableDriver) ForceNew() []string { return []string{"table_name", "hash_key", "stream_view_type"} }

func (d tableDriver) Create(ctx context.Context, req engine.Request) (engine.Result, error) {
	var p tableProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, err
	}
	client := d.c.DynamoDB(req.Region)
	in := &dynamodb.CreateTableInput{
		TableName:            aws.String(p.TableName),
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String(p.HashKey), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String(p.HashKey), KeyType: ddbtypes.KeyTypeHash}},
		StreamSpecification:  &ddbtypes.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewType(p.StreamViewType)},
	}
	for _, k := range sortedKeys(req.Tags) {
		in.Tags = append(in.Tags, ddbtypes.Tag{Key: aws.String(k), Value: aws.String(req.Tags[k])})
	}
	_, err := client.CreateTable(ctx, in)
	if code(err) == "ResourceInUseException" {
		// A table of this name may still be DELETING (a replacement, or a
		// destroy and apply in a row): its name is taken until it is gone.
		if err = d.awaitDeleted(ctx, client, p.TableName, req.Region); err != nil {
			return engine.Result{}, err
		}
		_, err = client.CreateTable(ctx, in)
	}
	if code(err) == "ResourceInUseException" {
		// The table exists: adopt it only if it is this primitive's.
		if _, err := d.claim(ctx, client, req, p); err != nil {
			return engine.Result{}, err
		}
		if _, err := waitTable(ctx, client, p.TableName, func(t *ddbtypes.TableDescription) bool { return t.TableStatus == ddbtypes.TableStatusActive }); err != nil {
			return engine.Result{}, err
		}
		// CreateTable's tags were not applied: set them as an update would.
		return d.Update(ctx, engine.Record{ID: p.TableName, Region: req.Region}, req)
	} else if err != nil {
		return engine.Result{}, classify(err)
	}
	t, err := waitTable(ctx, client, p.TableName, func(t *ddbtypes.TableDescription) bool { return t.TableStatus == ddbtypes.TableStatusActive })
	if err != nil {
		return engine.Result{}, err
	}
	return engine.Result{ID: p.TableName, Outputs: tableOutputs(t)}, nil
}

// awaitDeleted waits, for at most tableDeletion, until a table that is
// DELETING is gone; a table in any other state is left to the caller.
func (tableDriver) awaitDeleted(ctx context.Context, client *dynamodb.Client, name, region string) error {
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err = classify(err); errors.Is(err, engine.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if out.Table.TableStatus != ddbtypes.TableStatusDeleting {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, tableDeletion)
	defer cancel()
	_, err = waitTable(ctx, client, name, func(*ddbtypes.TableDescription) bool { return false })
	if errors.Is(err, engine.ErrNotFound) {
		return nil
	}
	return fmt.Errorf("%s is still being deleted; it cannot be created again until it is gone: %w", tableWhat(name, region), err)
}

// Marked: tables carry the engine's ownership marks as tags.
func (tableDriver) Marked() {}

func tableWhat(name, region string) string {
	return fmt.Sprintf("DynamoDB table %q in %s", name, region)
}

// claim decides whether req may adopt the existing table p names: it must
// carry req's owner mark, and have the key and stream a create would have
// given it (they cannot change, and a table of ours with other ones is the
// one a replacement must delete first).
func (d tableDriver) claim(ctx context.Context, client *dynamodb.Client, req engine.Request, p tableProps) (*ddbtypes.TableDescription, error) {
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(p.TableName)})
	if err != nil {
		return nil, classify(err)
	}
	tags, err := d.tags(ctx, client, aws.ToString(out.Table.TableArn))
	if err != nil {
		return nil, err
	}
	if err := engine.Claim(req, tableWhat(p.TableName, req.Region), tags); err != nil {
		return nil, err
	}
	obs := tableProperties(out.Table)
	if obs["hash_key"] != p.HashKey || obs["stream_view_type"] != p.StreamViewType {
		return nil, fmt.Errorf("%s exists with hash key %q and stream %q, not %q and %q; they cannot change in place, so it must be deleted before it is created again: %w",
			tableWhat(p.TableName, req.Region), obs["hash_key"], obs["stream_view_type"], p.HashKey, p.StreamViewType, engine.ErrExists)
	}
	return out.Table, nil
}

// Find looks for the table req names, without creating it.
func (d tableDriver) Find(ctx context.Context, req engine.Request) (engine.Result, bool, error) {
	var p tableProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, false, err
	}
	client := d.c.DynamoDB(req.Region)
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(p.TableName)})
	if err = classify(err); errors.Is(err, engine.ErrNotFound) {
		return engine.Result{}, false, nil
	} else if err != nil {
		return engine.Result{}, false, err
	}
	tags, err := d.tags(ctx, client, aws.ToString(out.Table.TableArn))
	if err != nil {
		return engine.Result{}, false, err
	}
	if err := engine.Claim(req, tableWhat(p.TableName, req.Region), tags); err != nil {
		return engine.Result{}, true, err
	}
	return engine.Result{ID: p.TableName, Outputs: tableOutputs(out.Table)}, true, nil
}

// HoldsData reports whether the table holds any item.
func (d tableDriver) HoldsData(ctx context.Context, rec engine.Record) (string, error) {
	out, err := d.c.DynamoDB(rec.Region).Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(rec.ID), Limit: aws.Int32(1), Select: ddbtypes.SelectCount})
	if err = classify(err); errors.Is(err, engine.ErrNotFound) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("scan %s: %w", rec.ID, err)
	}
	if out.Count > 0 {
		return "items", nil
	}
	return "", nil
}

func tableOutputs(t *ddbtypes.TableDescription) map[string]string {
	return map[string]string{"table_name": aws.ToString(t.TableName), "arn": aws.ToString(t.TableArn), "stream_arn": aws.ToString(t.LatestStreamArn)}
}

// waitTable polls DescribeTable until ready says so; tables take seconds to
// minutes to become active on AWS and no time at all on emulators. A
// transient error (throttling, a reset) is polled through: the table's
// state has not changed, and giving up would make the engine redo the
// create or delete the wait belongs to.
func waitTable(ctx context.Context, client *dynamodb.Client, name string, ready func(*ddbtypes.TableDescription) bool) (*ddbtypes.TableDescription, error) {
	ctx, cancel := context.WithTimeout(ctx, tableDeletion)
	defer cancel()
	status := ddbtypes.TableStatus("unknown")
	for wait := 200 * time.Millisecond; ; wait = min(2*wait, 10*time.Second) {
		out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		switch {
		case err == nil && ready(out.Table):
			return out.Table, nil
		case err == nil:
			status = out.Table.TableStatus
		case !worthRetry(err) || ctx.Err() != nil:
			return nil, classify(err)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, fmt.Errorf("table %s is still %s: %w", name, status, ctx.Err())
		}
	}
}

func (d tableDriver) Read(ctx context.Context, rec engine.Record) (engine.Observation, error) {
	client := d.c.DynamoDB(rec.Region)
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(rec.ID)})
	if err != nil {
		return engine.Observation{}, classify(err)
	}
	t := out.Table
	props := tableProperties(t)
	tags, err := d.tags(ctx, client, aws.ToString(t.TableArn))
	if err != nil {
		return engine.Observation{}, err
	}
	return engine.Observation{Properties: props, Tags: tags, Outputs: tableOutputs(t)}, nil
}

// tableProperties are the properties Read observes of a table.
func tableProperties(t *ddbtypes.TableDescription) map[string]any {
	props := map[string]any{"table_name": aws.ToString(t.TableName), "stream_view_type": "", "hash_key": ""}
	for _, k := range t.KeySchema {
		if k.KeyType == ddbtypes.KeyTypeHash {
			props["hash_key"] = aws.ToString(k.AttributeName)
		}
	}
	if s := t.StreamSpecification; s != nil && aws.ToBool(s.StreamEnabled) {
		props["stream_view_type"] = string(s.StreamViewType)
	}
	return props
}

func (tableDriver) tags(ctx context.Context, client *dynamodb.Client, arn string) (map[string]string, error) {
	tags := map[string]string{}
	var next *string
	for {
		out, err := client.ListTagsOfResource(ctx, &dynamodb.ListTagsOfResourceInput{ResourceArn: aws.String(arn), NextToken: next})
		if err != nil {
			return nil, fmt.Errorf("tags: %w", classify(err))
		}
		for _, t := range out.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		if next = out.NextToken; next == nil {
			return tags, nil
		}
	}
}

func (d tableDriver) Update(ctx context.Context, rec engine.Record, req engine.Request) (engine.Result, error) {
	client := d.c.DynamoDB(req.Region)
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(rec.ID)})
	if err != nil {
		return engine.Result{}, classify(err)
	}
	arn := out.Table.TableArn
	have, err := d.tags(ctx, client, aws.ToString(arn))
	if err != nil {
		return engine.Result{}, err
	}
	set, remove := tagDiff(have, req.Tags)
	if len(remove) > 0 {
		if _, err := client.UntagResource(ctx, &dynamodb.UntagResourceInput{ResourceArn: arn, TagKeys: remove}); err != nil {
			return engine.Result{}, classify(err)
		}
	}
	if len(set) > 0 {
		in := &dynamodb.TagResourceInput{ResourceArn: arn}
		for _, k := range sortedKeys(set) {
			in.Tags = append(in.Tags, ddbtypes.Tag{Key: aws.String(k), Value: aws.String(set[k])})
		}
		if _, err := client.TagResource(ctx, in); err != nil {
			return engine.Result{}, classify(err)
		}
	}
	return engine.Result{ID: rec.ID, Outputs: tableOutputs(out.Table)}, nil
}

func (d tableDriver) Delete(ctx context.Context, rec engine.Record) error {
	client := d.c.DynamoDB(rec.Region)
	_, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(rec.ID)})
	if err = classify(err); errors.Is(err, engine.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	// A table stays DELETING for a while and its name stays taken: wait
	// until it is gone, so that a replacement's create does not meet it.
	// waitTable bounds the wait.
	_, err = waitTable(ctx, client, rec.ID, func(*ddbtypes.TableDescription) bool { return false })
	if errors.Is(err, engine.ErrNotFound) {
		return nil
	}
	return fmt.Errorf("delete table %s: %w", rec.ID, err)
}

type replicaProps struct {
	TableName   string `json:"table_name"`
	TableRegion string `json:"table_region"`
}

// replicaDriver adds a region to a table (global tables version 2019.11.21).
// Some endpoints accept the call and keep nothing (moto): the driver reads the
// table back and records whether the replica was really there.
type replicaDriver struct{ c *Cloud }

func (replicaDriver) ForceNew() []string { return []string{"table_name", "table_region"} }

func hasReplica(t *ddbtypes.TableDescription, region string) (ddbtypes.ReplicaDescription, bool) {
	for _, r := range t.Replicas {
		if aws.ToString(r.RegionName) == region {
			return r, true
		}
	}
	return ddbtypes.ReplicaDescription{}, false
}

func (d replicaDriver) Create(ctx context.Context, req engine.Request) (engine.Result, error) {
	var p replicaProps
	if err := primitive.Decode(req.Properties, &p); err != nil {
		return engine.Result{}, err
	}
	client := d.c.DynamoDB(p.TableRegion)
	id := p.TableName + "@" + req.Region
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(p.TableName)})
	if err != nil {
		return engine.Result{}, classify(err)
	}
	if _, ok := hasReplica(out.Table, req.Region); !ok {
		if _, err := client.UpdateTable(ctx, &dynamodb.UpdateTableInput{
			TableName:      aws.String(p.TableName),
			ReplicaUpdates: []ddbtypes.ReplicationGroupUpdate{{Create: &ddbtypes.CreateReplicationGroupMemberAction{RegionName: aws.String(req.Region)}}},
		}); err != nil {
			return engine.Result{}, classify(err)
		}
	}
	// Wait for the replica only if the endpoint shows one at all.
	t, err := waitTable(ctx, client, p.TableName, func(t *ddbtypes.TableDescription) bool {
		r, ok := hasReplica(t, req.Region)
		return !ok || r.ReplicaStatus == ddbtypes.ReplicaStatusActive
	})
	if err != nil {
		return engine.Result{}, err
	}
	if _, ok := hasReplica(t, req.Region); !ok {
		if !d.c.conf.Emulator {
			return engine.Result{}, fmt.Errorf("replica of DynamoDB table %s in %s: the endpoint accepted UpdateTable, but DescribeTable lists no replica there", p.TableName, req.Region)
		}
		return engine.Result{
			ID:       id,
			Outputs:  map[string]string{"verified": "false"},
			Warnings: []string{unverifiedReplica(p.TableName, p.TableRegion, req.Region)},
		}, nil
	}
	return engine.Result{ID: id, Outputs: map[string]string{"verified": "true"}}, nil
}

func unverifiedReplica(table, tableRegion, region string) string {
	return fmt.Sprintf("replica of DynamoDB table %s (%s) in %s is not confirmed: the endpoint accepted UpdateTable but DescribeTable lists no replica in %s (moto does not implement global tables). It is recorded as unverified; nothing replicates until an endpoint that implements replicas confirms it.", table, tableRegion, region, region)
}

func (d replicaDriver) Read(ctx context.Context, rec engine.Record) (engine.Observation, error) {
	var p replicaProps
	if err := primitive.Decode(rec.Inputs, &p); err != nil {
		return engine.Observation{}, err
	}
	out, err := d.c.DynamoDB(p.TableRegion).DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(p.TableName)})
	if err != nil {
		return engine.Observation{}, classify(err)
	}
	if _, ok := hasReplica(out.Table, rec.Region); ok {
		return engine.Observation{Outputs: map[string]string{"verified": "true"}}, nil
	}
	if rec.Outputs["verified"] == "true" || !d.c.conf.Emulator {
		return engine.Observation{}, fmt.Errorf("replica of %s in %s: %w", p.TableName, rec.Region, engine.ErrNotFound)
	}
	return engine.Observation{Outputs: map[string]string{"verified": "false"}, Warnings: []string{unverifiedReplica(p.TableName, p.TableRegion, rec.Region)}}, nil
}

func (d replicaDriver) Update(ctx context.Context, _ engine.Record, req engine.Request) (engine.Result, error) {
	return d.Create(ctx, req)
}

func (d replicaDriver) Delete(ctx context.Context, rec engine.Record) error {
	var p replicaProps
	if err := primitive.Decode(rec.Inputs, &p); err != nil {
		return err
	}
	client := d.c.DynamoDB(p.TableRegion)
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(p.TableName)})
	if err = classify(err); errors.Is(err, engine.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if _, ok := hasReplica(out.Table, rec.Region); !ok {
		return nil
	}
	_, err = client.UpdateTable(ctx, &dynamodb.UpdateTableInput{
		TableName:      aws.String(p.TableName),
		ReplicaUpdates: []ddbtypes.ReplicationGroupUpdate{{Delete: &ddbtypes.DeleteReplicationGroupMemberAction{RegionName: aws.String(rec.Region)}}},
	})
	if err != nil {
		return classify(err)
	}
	_, err = waitTable(ctx, client, p.TableName, func(t *ddbtypes.TableDescription) bool { _, ok := hasReplica(t, rec.Region); return !ok })
	return err
}
