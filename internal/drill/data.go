package drill

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
)

// write is one record the drill's writer put into the pair's table.
type write struct {
	key   string
	sent  time.Time // the record's written_at
	acked time.Time // when the table answered
}

// writer puts timestamped records into the pair's table at a steady rate
// from the drill's start until the outage, as the workload's users would.
type writer struct {
	db      *dynamodb.Client
	table   string
	hashKey string
	prefix  string
	every   time.Duration

	mu      sync.Mutex
	written []write
	errors  int
	stop    chan struct{}
	done    chan struct{}
}

func (w *writer) start(ctx context.Context) {
	w.stop, w.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(w.done)
		tick := time.NewTicker(w.every)
		defer tick.Stop()
		for seq := 1; ; seq++ {
			key := fmt.Sprintf("%s%07d", w.prefix, seq)
			sent := time.Now().UTC()
			_, err := w.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: awssdk.String(w.table), Item: map[string]ddbtypes.AttributeValue{
				w.hashKey:    &ddbtypes.AttributeValueMemberS{Value: key},
				"written_at": &ddbtypes.AttributeValueMemberS{Value: sent.Format(time.RFC3339Nano)},
			}})
			w.mu.Lock()
			if err != nil {
				w.errors++
			} else {
				w.written = append(w.written, write{key: key, sent: sent, acked: time.Now()})
			}
			w.mu.Unlock()
			select {
			case <-w.stop:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
}

// halt stops the writer (the outage took its region away) and returns
// every acknowledged write, in order.
func (w *writer) halt() ([]write, int) {
	if w.stop == nil {
		return nil, 0
	}
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.written, w.errors
}

// poll calls f every interval until it says done, fails, or timeout passes.
func poll(ctx context.Context, timeout time.Duration, what string, f func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		done, err := f()
		if err != nil || done {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not done after %s", what, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// jobTimeout bounds one AWS Backup job: real ones take minutes.
const jobTimeout = 30 * time.Minute

// backupOnce runs one scheduled backup as AWS Backup's plan would: a backup
// job of the table into the primary vault, then its copy into the
// secondary vault. It returns the copy's ARN.
func (d *Drill) backupOnce(ctx context.Context, tableARN string) (string, error) {
	b := d.Cloud.Backup(d.Pair.PrimaryRegion)
	job, err := b.StartBackupJob(ctx, &backup.StartBackupJobInput{BackupVaultName: awssdk.String(d.PrimaryVault),
		ResourceArn: awssdk.String(tableARN), IamRoleArn: awssdk.String(d.backupRole(tableARN))})
	if err != nil {
		return "", fmt.Errorf("StartBackupJob: %w", err)
	}
	var point string
	if err := poll(ctx, jobTimeout, "backup job "+awssdk.ToString(job.BackupJobId), func() (bool, error) {
		out, err := b.DescribeBackupJob(ctx, &backup.DescribeBackupJobInput{BackupJobId: job.BackupJobId})
		if err != nil {
			return false, err
		}
		point = awssdk.ToString(out.RecoveryPointArn)
		return jobDone(string(out.State), awssdk.ToString(out.StatusMessage))
	}); err != nil {
		return "", err
	}
	return d.copyPoint(ctx, d.Pair.PrimaryRegion, d.PrimaryVault, point, d.Pair.SecondaryRegion, d.SecondaryVault, tableARN)
}

// copyPoint copies a recovery point between vaults with a copy job, from
// the source vault's region, and returns the new point's ARN.
func (d *Drill) copyPoint(ctx context.Context, fromRegion, fromVault, point, toRegion, toVault, tableARN string) (string, error) {
	dest, err := d.Cloud.Backup(toRegion).DescribeBackupVault(ctx, &backup.DescribeBackupVaultInput{BackupVaultName: awssdk.String(toVault)})
	if err != nil {
		return "", fmt.Errorf("vault %s in %s: %w", toVault, toRegion, err)
	}
	b := d.Cloud.Backup(fromRegion)
	job, err := b.StartCopyJob(ctx, &backup.StartCopyJobInput{RecoveryPointArn: awssdk.String(point), SourceBackupVaultName: awssdk.String(fromVault),
		DestinationBackupVaultArn: dest.BackupVaultArn, IamRoleArn: awssdk.String(d.backupRole(tableARN))})
	if err != nil {
		return "", fmt.Errorf("StartCopyJob: %w", err)
	}
	var copied string
	err = poll(ctx, jobTimeout, "copy job "+awssdk.ToString(job.CopyJobId), func() (bool, error) {
		out, err := b.DescribeCopyJob(ctx, &backup.DescribeCopyJobInput{CopyJobId: job.CopyJobId})
		if err != nil || out.CopyJob == nil {
			return false, err
		}
		copied = awssdk.ToString(out.CopyJob.DestinationRecoveryPointArn)
		return jobDone(string(out.CopyJob.State), awssdk.ToString(out.CopyJob.StatusMessage))
	})
	return copied, err
}

func jobDone(state, message string) (bool, error) {
	switch state {
	case "COMPLETED":
		return true, nil
	case "FAILED", "ABORTED", "EXPIRED", "PARTIAL":
		return false, fmt.Errorf("job %s: %s", strings.ToLower(state), message)
	}
	return false, nil
}

// backupRole is the role the pair's DR policy deploys for AWS Backup
// (compile.DRPolicy), in the table's account.
func (d *Drill) backupRole(tableARN string) string {
	account := ""
	if parts := strings.Split(tableARN, ":"); len(parts) > 4 {
		account = parts[4]
	}
	return "arn:aws:iam::" + account + ":role/meridian-" + d.Pair.Name + "-backup"
}

// newestPoint is the newest completed recovery point of the table in the
// secondary vault created at or before the outage: what is left to restore
// from when the primary region is gone, whoever made it.
func (d *Drill) newestPoint(ctx context.Context, tableARN string, outage time.Time) (RecoveryPoint, error) {
	b := d.Cloud.Backup(d.Pair.SecondaryRegion)
	var best RecoveryPoint
	var token *string
	for {
		out, err := b.ListRecoveryPointsByBackupVault(ctx, &backup.ListRecoveryPointsByBackupVaultInput{
			BackupVaultName: awssdk.String(d.SecondaryVault), ByResourceArn: awssdk.String(tableARN), NextToken: token})
		if err != nil {
			return best, fmt.Errorf("list the recovery points of %s in vault %s (%s): %w", tableARN, d.SecondaryVault, d.Pair.SecondaryRegion, err)
		}
		for _, p := range out.RecoveryPoints {
			created := awssdk.ToTime(p.CreationDate)
			if p.Status != "COMPLETED" || created.After(outage) || (best.ARN != "" && !created.After(best.created)) {
				continue
			}
			best = RecoveryPoint{ARN: awssdk.ToString(p.RecoveryPointArn), Vault: d.SecondaryVault, Region: d.Pair.SecondaryRegion, Created: stamp(created), created: created}
		}
		if out.NextToken == nil {
			break
		}
		token = out.NextToken
	}
	if best.ARN == "" {
		return best, fmt.Errorf("no completed recovery point of %s in vault %s (%s) at the outage: nothing to restore from", tableARN, d.SecondaryVault, d.Pair.SecondaryRegion)
	}
	return best, nil
}

// restoreTable brings the primary's table back from the secondary region's
// recovery point: the point is copied back into the primary vault and
// restored there under the table's name, as AWS Backup restores in the
// region of the vault that holds the point.
func (d *Drill) restoreTable(ctx context.Context, rp RecoveryPoint, tableARN string, stream *ddbtypes.StreamSpecification) error {
	db := d.Cloud.DynamoDB(d.Pair.PrimaryRegion)
	table := d.Pair.KVTable.Name
	// A table AWS is still deleting cannot be created again.
	if err := poll(ctx, 10*time.Minute, "delete table "+table, func() (bool, error) {
		_, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: awssdk.String(table)})
		var missing *ddbtypes.ResourceNotFoundException
		return errors.As(err, &missing), nil
	}); err != nil {
		return err
	}
	local, err := d.copyPoint(ctx, rp.Region, rp.Vault, rp.ARN, d.Pair.PrimaryRegion, d.PrimaryVault, tableARN)
	if err != nil {
		return fmt.Errorf("copy the recovery point back to %s: %w", d.Pair.PrimaryRegion, err)
	}
	b := d.Cloud.Backup(d.Pair.PrimaryRegion)
	// The table's tags carry meridian's ownership mark: without them the
	// restored table would be a stranger to the next meridian up.
	job, err := b.StartRestoreJob(ctx, &backup.StartRestoreJobInput{RecoveryPointArn: awssdk.String(local), IamRoleArn: awssdk.String(d.backupRole(tableARN)),
		ResourceType: awssdk.String("DynamoDB"), Metadata: map[string]string{"targetTableName": table}, CopySourceTagsToRestoredResource: true})
	if err != nil {
		return fmt.Errorf("StartRestoreJob: %w", err)
	}
	if err := poll(ctx, jobTimeout, "restore job "+awssdk.ToString(job.RestoreJobId), func() (bool, error) {
		out, err := b.DescribeRestoreJob(ctx, &backup.DescribeRestoreJobInput{RestoreJobId: job.RestoreJobId})
		if err != nil {
			return false, err
		}
		return jobDone(string(out.Status), awssdk.ToString(out.StatusMessage))
	}); err != nil {
		return err
	}
	active := func() error {
		return poll(ctx, 10*time.Minute, "table "+table+" active", func() (bool, error) {
			out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: awssdk.String(table)})
			return err == nil && out.Table.TableStatus == ddbtypes.TableStatusActive, nil
		})
	}
	if err := active(); err != nil {
		return err
	}
	// AWS restores no stream settings: put the table's stream back, as the
	// runbook's restore must, or what fed on it stays dry.
	if stream != nil && awssdk.ToBool(stream.StreamEnabled) {
		if _, err := db.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: awssdk.String(table), StreamSpecification: stream}); err != nil {
			return fmt.Errorf("enable the restored table's stream: %w", err)
		}
		return active()
	}
	return nil
}

// restoredKeys reads the drill's records back from the restored table.
func (d *Drill) restoredKeys(ctx context.Context, prefix string) (map[string]bool, error) {
	db := d.Cloud.DynamoDB(d.Pair.PrimaryRegion)
	keys := map[string]bool{}
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: awssdk.String(d.Pair.KVTable.Name), ConsistentRead: awssdk.Bool(true),
		FilterExpression: awssdk.String("begins_with(#k, :p)"), ExpressionAttributeNames: map[string]string{"#k": d.Pair.KVTable.HashKey},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":p": &ddbtypes.AttributeValueMemberS{Value: prefix}}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, item := range page.Items {
			if s, ok := item[d.Pair.KVTable.HashKey].(*ddbtypes.AttributeValueMemberS); ok {
				keys[s.Value] = true
			}
		}
	}
	return keys, nil
}

// account compares the writes with what came back: the newest write
// present gives the RPO; the writes missing are lost; a write the table had
// acknowledged before the recovery point was made must be in it.
func account(written []write, restored map[string]bool, rp RecoveryPoint) (w Writes, newest time.Time) {
	w.Written, w.Restored = len(written), 0
	for _, x := range written {
		if restored[x.key] {
			w.Restored++
			if x.sent.After(newest) {
				newest = x.sent
			}
			continue
		}
		w.Lost++
		w.LastLostKey = x.key
		if w.FirstLostKey == "" {
			w.FirstLostKey = x.key
		}
		if x.acked.Before(rp.created) {
			w.MissingBeforePoint++
		}
	}
	if n := len(written); n > 0 {
		w.LastKey = written[n-1].key
	}
	return w, newest
}

// answer is what Route 53 answers a client for the pair's failover
// record, through TestDNSAnswer; unsupported is true when the endpoint
// cannot say (the answer is then not observed).
func (d *Drill) answer(ctx context.Context) (values []string, err error) {
	out, err := d.Cloud.Route53().TestDNSAnswer(ctx, &route53.TestDNSAnswerInput{HostedZoneId: awssdk.String(d.ZoneID),
		RecordName: awssdk.String(d.Pair.DNS.FailoverFQDN()), RecordType: r53types.RRTypeCname})
	if err != nil {
		return nil, err
	}
	return out.RecordData, nil
}

// expectAnswer waits until DNS answers want (Route 53 takes a health
// check's failure threshold to fail over).
func (d *Drill) expectAnswer(ctx context.Context, want string) ([]string, error) {
	var got []string
	err := poll(ctx, 5*time.Minute, "DNS answering "+want, func() (bool, error) {
		var err error
		got, err = d.answer(ctx)
		if err != nil {
			return false, err
		}
		for _, v := range got {
			if strings.TrimSuffix(v, ".") == strings.TrimSuffix(want, ".") {
				return true, nil
			}
		}
		return false, nil
	})
	return got, err
}

// slowest are the n longest steps: the gaps to fix first.
func slowest(steps []Step, n int) []Step {
	s := append([]Step(nil), steps...)
	sort.SliceStable(s, func(i, j int) bool {
		a, _ := time.ParseDuration(s[i].Duration)
		b, _ := time.ParseDuration(s[j].Duration)
		return a > b
	})
	return s[:min(n, len(s))]
}
