package aws_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	awscloud "github.com/meridianhq/terraform-provider-meridian/internal/cloud/aws"
	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed"
)

// TestEmulatorModeIsExplicit: what moto lacks (global table replicas, AWS
// Backup selections) is put up with only when the configuration says the
// endpoint is an emulator. An overridden endpoint alone (as a VPC or FIPS
// endpoint of AWS is) gets AWS's rules: the same calls are errors, never a
// silent success recorded as done.
func TestEmulatorModeIsExplicit(t *testing.T) {
	testbed.RequireTool(t, "moto_server")
	ctx := context.Background()
	m, err := testbed.StartMoto(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Stop() })
	cloud := func(emulator bool) *awscloud.Cloud {
		c, err := awscloud.New(ctx, awscloud.Config{Endpoint: m.Endpoint(), AccessKey: "test", SecretKey: "test", S3UsePathStyle: true, SkipCredentialsValidation: true, Emulator: emulator})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if _, err := cloud(true).DynamoDB("us-east-1").CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String("emulated"), BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("k"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("k"), KeyType: ddbtypes.KeyTypeHash}},
	}); err != nil {
		t.Fatal(err)
	}
	replica := engine.Request{Name: "aws_dynamodb_table_replica.kv", Type: compile.DynamoDBReplica, Region: "us-west-2", Token: "t",
		Properties: primitive.Normalize(map[string]any{"table_name": "emulated", "table_region": "us-east-1"})}
	selection := engine.Request{Name: "aws_backup_selection.pair", Type: compile.BackupSelection, Region: "us-east-1", Token: "t",
		Properties: primitive.Normalize(map[string]any{"plan_id": "plan-1", "name": "pair", "role_arn": "arn:aws:iam::123456789012:role/backup", "tag_key": "k", "tag_value": "v"})}

	for _, req := range []engine.Request{replica, selection} {
		t.Run(req.Type, func(t *testing.T) {
			res, err := cloud(true).Drivers()[req.Type].Create(ctx, req)
			if err != nil || res.Outputs["verified"] != "false" || len(res.Warnings) == 0 {
				t.Errorf("emulator: want an unverified record with a warning, got %+v, %v", res, err)
			}
			res, err = cloud(false).Drivers()[req.Type].Create(ctx, req)
			if err == nil {
				t.Fatalf("not an emulator: want an error, got %+v", res)
			}
			t.Logf("not an emulator: %v", err)
			if strings.Contains(err.Error(), "unverified") {
				t.Errorf("the error reads as a warning: %v", err)
			}
			rec := engine.Record{Name: req.Name, Type: req.Type, Region: req.Region, ID: res.ID, Inputs: req.Properties, Outputs: map[string]string{"verified": "false"}}
			if _, err := cloud(false).Drivers()[req.Type].Read(ctx, rec); !errIsNotFound(err) {
				t.Errorf("not an emulator: an unverified record reads as %v, want not found (so that the next apply makes it)", err)
			}
		})
	}
}

func errIsNotFound(err error) bool { return errors.Is(err, engine.ErrNotFound) }
