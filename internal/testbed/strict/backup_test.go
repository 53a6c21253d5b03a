package strict_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
)

// TestBackupStandIn: a table's items backed up in one region, copied to a
// vault in another, and restored there from the copy, with the AWS Backup
// calls a drill makes; the restored table (read with plain DynamoDB calls)
// holds what the table held at the backup, not what was written after.
func TestBackupStandIn(t *testing.T) {
	s := start(t, none())
	east, west := config(s.Endpoint(), "us-east-1", ""), config(s.Endpoint(), "us-west-2", "")
	db := dynamodb.NewFromConfig(east)
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("orders"), BillingMode: ddbtypes.BillingModePayPerRequest,
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}}})
	ok(t, "CreateTable", err)
	_, err = db.TagResource(ctx, &dynamodb.TagResourceInput{ResourceArn: aws.String("arn:aws:dynamodb:us-east-1:123456789012:table/orders"), Tags: []ddbtypes.Tag{{Key: aws.String("owner"), Value: aws.String("meridian")}}})
	ok(t, "TagResource", err)
	put := func(i int) {
		_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("orders"), Item: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: fmt.Sprint("k", i)}}})
		ok(t, "PutItem", err)
	}
	for i := range 30 {
		put(i)
	}
	be, bw := backup.NewFromConfig(east), backup.NewFromConfig(west)
	_, err = be.CreateBackupVault(ctx, &backup.CreateBackupVaultInput{BackupVaultName: aws.String("primary")})
	ok(t, "CreateBackupVault primary", err)
	vault, err := bw.CreateBackupVault(ctx, &backup.CreateBackupVaultInput{BackupVaultName: aws.String("secondary")})
	ok(t, "CreateBackupVault secondary", err)

	job, err := be.StartBackupJob(ctx, &backup.StartBackupJobInput{BackupVaultName: aws.String("primary"),
		ResourceArn: aws.String("arn:aws:dynamodb:us-east-1:123456789012:table/orders"), IamRoleArn: aws.String("arn:aws:iam::123456789012:role/backup")})
	ok(t, "StartBackupJob", err)
	put(100) // after the backup: must not come back
	bj, err := be.DescribeBackupJob(ctx, &backup.DescribeBackupJobInput{BackupJobId: job.BackupJobId})
	ok(t, "DescribeBackupJob", err)
	if bj.State != "COMPLETED" || aws.ToString(bj.RecoveryPointArn) != aws.ToString(job.RecoveryPointArn) {
		t.Fatalf("backup job %s, %s", bj.State, aws.ToString(bj.RecoveryPointArn))
	}
	cp, err := be.StartCopyJob(ctx, &backup.StartCopyJobInput{RecoveryPointArn: job.RecoveryPointArn, SourceBackupVaultName: aws.String("primary"),
		DestinationBackupVaultArn: vault.BackupVaultArn, IamRoleArn: aws.String("arn:aws:iam::123456789012:role/backup")})
	ok(t, "StartCopyJob", err)
	cj, err := be.DescribeCopyJob(ctx, &backup.DescribeCopyJobInput{CopyJobId: cp.CopyJobId})
	ok(t, "DescribeCopyJob", err)
	points, err := bw.ListRecoveryPointsByBackupVault(ctx, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String("secondary")})
	ok(t, "ListRecoveryPointsByBackupVault", err)
	if len(points.RecoveryPoints) != 1 || aws.ToString(points.RecoveryPoints[0].RecoveryPointArn) != aws.ToString(cj.CopyJob.DestinationRecoveryPointArn) ||
		points.RecoveryPoints[0].CreationDate == nil || aws.ToString(points.RecoveryPoints[0].SourceBackupVaultArn) == "" {
		t.Fatalf("recovery points in the secondary vault: %+v", points.RecoveryPoints)
	}
	// Restoring the primary's point from the secondary region is refused:
	// it is not there.
	_, err = bw.StartRestoreJob(ctx, &backup.StartRestoreJobInput{RecoveryPointArn: job.RecoveryPointArn, IamRoleArn: aws.String("arn:aws:iam::123456789012:role/backup"),
		Metadata: map[string]string{"targetTableName": "orders"}})
	wantCode(t, "StartRestoreJob of the primary's point in the secondary region", err, "ResourceNotFoundException")
	restore := &backup.StartRestoreJobInput{RecoveryPointArn: cj.CopyJob.DestinationRecoveryPointArn, IdempotencyToken: aws.String("restore-1"),
		IamRoleArn: aws.String("arn:aws:iam::123456789012:role/backup"), Metadata: map[string]string{"targetTableName": "orders"}, CopySourceTagsToRestoredResource: true}
	rj, err := bw.StartRestoreJob(ctx, restore)
	ok(t, "StartRestoreJob", err)
	// A retry with the same token (the SDK's, after a lost answer) starts
	// no second restore, which would find the table already there.
	again, err := bw.StartRestoreJob(ctx, restore)
	ok(t, "StartRestoreJob retried", err)
	if aws.ToString(again.RestoreJobId) != aws.ToString(rj.RestoreJobId) {
		t.Errorf("retried restore started job %s, want %s again", aws.ToString(again.RestoreJobId), aws.ToString(rj.RestoreJobId))
	}
	rd, err := bw.DescribeRestoreJob(ctx, &backup.DescribeRestoreJobInput{RestoreJobId: rj.RestoreJobId})
	ok(t, "DescribeRestoreJob", err)
	if rd.Status != "COMPLETED" || aws.ToString(rd.CreatedResourceArn) != "arn:aws:dynamodb:us-west-2:123456789012:table/orders" {
		t.Fatalf("restore job %s, %s", rd.Status, aws.ToString(rd.CreatedResourceArn))
	}
	scan, err := dynamodb.NewFromConfig(west).Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("orders")})
	ok(t, "Scan the restored table", err)
	if scan.Count != 30 {
		t.Fatalf("restored table holds %d items, want the 30 written before the backup", scan.Count)
	}
	tags, err := dynamodb.NewFromConfig(west).ListTagsOfResource(ctx, &dynamodb.ListTagsOfResourceInput{ResourceArn: rd.CreatedResourceArn})
	ok(t, "ListTagsOfResource of the restored table", err)
	if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "meridian" {
		t.Errorf("restored table's tags %+v, want the source's (CopySourceTagsToRestoredResource)", tags.Tags)
	}
}

// TestDNSAnswerStandIn: TestDNSAnswer answers the PRIMARY failover record
// while its health check is healthy and the SECONDARY once it is inverted.
func TestDNSAnswerStandIn(t *testing.T) {
	s := start(t, none())
	r53 := route53.NewFromConfig(config(s.Endpoint(), "us-east-1", ""))
	zone, err := r53.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String("example.test"), CallerReference: aws.String("dns-answer")})
	ok(t, "CreateHostedZone", err)
	hc, err := r53.CreateHealthCheck(ctx, &route53.CreateHealthCheckInput{CallerReference: aws.String("hc"), HealthCheckConfig: &r53types.HealthCheckConfig{
		Type: r53types.HealthCheckTypeHttp, FullyQualifiedDomainName: aws.String("primary.example.test"), Port: aws.Int32(80), ResourcePath: aws.String("/")}})
	ok(t, "CreateHealthCheck", err)
	record := func(role r53types.ResourceRecordSetFailover, value string, check *string) r53types.Change {
		return r53types.Change{Action: r53types.ChangeActionCreate, ResourceRecordSet: &r53types.ResourceRecordSet{
			Name: aws.String("api.example.test"), Type: r53types.RRTypeCname, SetIdentifier: aws.String(string(role)), Failover: role, TTL: aws.Int64(60),
			HealthCheckId: check, ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(value)}}}}
	}
	_, err = r53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: zone.HostedZone.Id, ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{
		record(r53types.ResourceRecordSetFailoverPrimary, "east.example.test", hc.HealthCheck.Id), record(r53types.ResourceRecordSetFailoverSecondary, "west.example.test", nil)}}})
	ok(t, "ChangeResourceRecordSets", err)
	answer := func() []string {
		out, err := r53.TestDNSAnswer(ctx, &route53.TestDNSAnswerInput{HostedZoneId: zone.HostedZone.Id, RecordName: aws.String("api.example.test"), RecordType: r53types.RRTypeCname})
		ok(t, "TestDNSAnswer", err)
		return out.RecordData
	}
	if got := answer(); len(got) != 1 || got[0] != "east.example.test" {
		t.Fatalf("healthy primary: answered %v", got)
	}
	_, err = r53.UpdateHealthCheck(ctx, &route53.UpdateHealthCheckInput{HealthCheckId: hc.HealthCheck.Id, Inverted: aws.Bool(true)})
	ok(t, "UpdateHealthCheck", err)
	if got := answer(); len(got) != 1 || got[0] != "west.example.test" {
		t.Fatalf("failing primary: answered %v, want the secondary", got)
	}
}
