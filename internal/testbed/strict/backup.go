package strict

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// The AWS Backup stand-in. moto 5.2.1 keeps Backup vaults and plans but
// implements no jobs and no recovery points, so a drill that restores from a
// backup could not run on it at all. The layer answers these Backup calls
// itself, over moto's own DynamoDB data:
//
//   - StartBackupJob (PUT /backup-jobs) of a DynamoDB table: the table's
//     key schema and every item, read from moto with Scan at that moment,
//     become a recovery point in the named vault (which must exist in moto);
//   - StartCopyJob (PUT /copy-jobs): the recovery point is copied into the
//     destination vault (another region or account), a new ARN there;
//   - StartRestoreJob (PUT /restore-jobs) of a DynamoDB recovery point: a
//     table named by the metadata's targetTableName is created in moto, in
//     the region of the vault holding the point (as AWS restores), and the
//     items written into it; the source's tags too with
//     CopySourceTagsToRestoredResource;
//   - DescribeBackupJob, DescribeCopyJob, DescribeRestoreJob and
//     ListRecoveryPointsByBackupVault read the above back.
//
// What it does not do, so a green run proves nothing about it: jobs complete
// within the call (AWS takes minutes: start and completion windows, the
// CREATED/RUNNING states are never seen); only DynamoDB tables (not S3, EBS,
// RDS, ...); no IAM role check beyond the layer's role-propagation rule; no
// lifecycle, retention, cold storage, vault lock, encryption, or
// point-in-time recovery; the table is read with Scan while writes go on, so
// a point is not an exact snapshot of one instant (nor is an AWS backup's
// consistency documented finer than the second); restored tables are
// PAY_PER_REQUEST with no indexes, streams, TTL or autoscaling (AWS does not
// restore streams, TTL or autoscaling either); state lives in the
// layer's memory and Reset forgets it.
type backupStore struct {
	mu     sync.Mutex
	points map[string]*recoveryPoint // ARN -> point
	jobs   map[string]map[string]any // job id -> its description, as Describe* answers
	// started maps an IdempotencyToken to the answer it got: the SDK retries
	// a start with the same token, and AWS then starts no second job.
	started map[string]map[string]any
	seq     int
}

type recoveryPoint struct {
	ARN, Vault, Region, Account string
	SourceVaultARN              string // set on a copy
	ResourceARN                 string
	Created                     time.Time
	Table                       map[string]any   // KeySchema, AttributeDefinitions
	Tags                        []any            // the table's tags, as ListTagsOfResource gives them
	Items                       []map[string]any // DynamoDB JSON
}

func newBackupStore() *backupStore {
	return &backupStore{points: map[string]*recoveryPoint{}, jobs: map[string]map[string]any{}, started: map[string]map[string]any{}}
}

func (b *backupStore) id(prefix string) string {
	b.seq++
	return fmt.Sprintf("%s-%08d-%d", prefix, b.seq, time.Now().UnixNano()%1e9)
}

func vaultARN(region, account, name string) string {
	return "arn:aws:backup:" + region + ":" + account + ":backup-vault:" + name
}

// serveBackup answers the Backup calls the stand-in implements; false lets
// the call through to moto.
func (s *Server) serveBackup(w http.ResponseWriter, r *http.Request, c *call) bool {
	if c.service != "backup" {
		return false
	}
	p := r.URL.Path
	if token := str(c.json, "IdempotencyToken"); r.Method == http.MethodPut && token != "" {
		s.backups.mu.Lock()
		answer, seen := s.backups.started[c.account+"/"+c.region+p+"/"+token]
		s.backups.mu.Unlock()
		if seen {
			writeJSON(w, answer)
			return true
		}
	}
	switch {
	case r.Method == http.MethodPut && p == "/backup-jobs":
		s.startBackupJob(w, r, c)
	case r.Method == http.MethodPut && p == "/copy-jobs":
		s.startCopyJob(w, r, c)
	case r.Method == http.MethodPut && p == "/restore-jobs":
		s.startRestoreJob(w, r, c)
	case r.Method == http.MethodGet && (strings.HasPrefix(p, "/backup-jobs/") || strings.HasPrefix(p, "/copy-jobs/") || strings.HasPrefix(p, "/restore-jobs/")):
		s.describeJob(w, r, c, p[strings.LastIndex(p, "/")+1:])
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/backup-vaults/") && strings.HasSuffix(strings.TrimSuffix(p, "/"), "/recovery-points"):
		name := strings.TrimPrefix(strings.TrimSuffix(strings.TrimSuffix(p, "/"), "/recovery-points"), "/backup-vaults/")
		s.listRecoveryPoints(w, r, c, name)
	default:
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

func badBackup(w http.ResponseWriter, r *http.Request, c *call, code, format string, args ...any) {
	status := http.StatusBadRequest
	if code == "ResourceNotFoundException" {
		status = http.StatusNotFound
	}
	writeError(w, r, c, apiError{status, code, fmt.Sprintf(format, args...)})
}

// vaultExists asks moto whether the vault is there, in the caller's
// account and region (or in those of a vault ARN).
func (s *Server) vaultExists(r *http.Request, region, account, name string) bool {
	req := r.Clone(r.Context())
	req.Header = r.Header.Clone()
	req.Header.Set("Authorization", sigv4(region, "backup"))
	req.Header.Set("x-moto-account-id", account)
	status, _, err := s.motoGet(req, http.MethodGet, "/backup-vaults/"+url.PathEscape(name), nil)
	return err == nil && status == http.StatusOK
}

// sigv4 is an Authorization header moto routes by (it checks no signature).
func sigv4(region, service string) string {
	return "AWS4-HMAC-SHA256 Credential=testing/20260101/" + region + "/" + service + "/aws4_request, SignedHeaders=host, Signature=0"
}

// dynamo calls moto's DynamoDB API directly in region and account.
func (s *Server) dynamo(r *http.Request, region, account, op string, in any, out any) error {
	body, _ := json.Marshal(in)
	u := *s.moto
	u.Path = "/"
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
	req.Header.Set("Authorization", sigv4(region, "dynamodb"))
	req.Header.Set("x-moto-account-id", account)
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("DynamoDB %s: HTTP %d: %.300s", op, resp.StatusCode, b)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

// tableOf splits arn:aws:dynamodb:REGION:ACCOUNT:table/NAME.
func tableOf(arn string) (region, account, name string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[2] != "dynamodb" || !strings.HasPrefix(parts[5], "table/") {
		return "", "", "", false
	}
	return parts[3], parts[4], strings.TrimPrefix(parts[5], "table/"), true
}

func (s *Server) startBackupJob(w http.ResponseWriter, r *http.Request, c *call) {
	vault, resource := str(c.json, "BackupVaultName"), str(c.json, "ResourceArn")
	region, account, table, ok := tableOf(resource)
	if !ok {
		badBackup(w, r, c, "InvalidParameterValueException", "the testbed's Backup stand-in backs up DynamoDB tables only, not %s", resource)
		return
	}
	if region != c.region || account != c.account {
		badBackup(w, r, c, "InvalidParameterValueException", "resource %s is not in the vault's region %s and account %s", resource, c.region, c.account)
		return
	}
	if !s.vaultExists(r, c.region, c.account, vault) {
		badBackup(w, r, c, "ResourceNotFoundException", "Backup vault %s does not exist", vault)
		return
	}
	var desc struct {
		Table map[string]any `json:"Table"`
	}
	if err := s.dynamo(r, region, account, "DescribeTable", map[string]any{"TableName": table}, &desc); err != nil {
		badBackup(w, r, c, "ResourceNotFoundException", "cannot read table %s: %v", resource, err)
		return
	}
	var tags struct {
		Tags []any `json:"Tags"`
	}
	if err := s.dynamo(r, region, account, "ListTagsOfResource", map[string]any{"ResourceArn": resource}, &tags); err != nil {
		badBackup(w, r, c, "ServiceUnavailableException", "tags of %s: %v", resource, err)
		return
	}
	created := time.Now()
	var items []map[string]any
	var start map[string]any
	for {
		in := map[string]any{"TableName": table, "ConsistentRead": true}
		if start != nil {
			in["ExclusiveStartKey"] = start
		}
		var page struct {
			Items            []map[string]any `json:"Items"`
			LastEvaluatedKey map[string]any   `json:"LastEvaluatedKey"`
		}
		if err := s.dynamo(r, region, account, "Scan", in, &page); err != nil {
			badBackup(w, r, c, "ServiceUnavailableException", "scan %s: %v", table, err)
			return
		}
		items = append(items, page.Items...)
		if len(page.LastEvaluatedKey) == 0 {
			break
		}
		start = page.LastEvaluatedKey
	}
	b := s.backups
	b.mu.Lock()
	defer b.mu.Unlock()
	job := b.id("backup-job")
	arn := "arn:aws:backup:" + region + ":" + account + ":recovery-point:" + b.id("rp")
	b.points[arn] = &recoveryPoint{ARN: arn, Vault: vault, Region: region, Account: account, ResourceARN: resource, Created: created,
		Table: map[string]any{"KeySchema": desc.Table["KeySchema"], "AttributeDefinitions": desc.Table["AttributeDefinitions"]}, Tags: tags.Tags, Items: items}
	b.jobs[job] = map[string]any{"BackupJobId": job, "State": "COMPLETED", "RecoveryPointArn": arn, "ResourceArn": resource,
		"ResourceType": "DynamoDB", "BackupVaultName": vault, "BackupVaultArn": vaultARN(region, account, vault),
		"CreationDate": epoch(created), "CompletionDate": epoch(time.Now()), "AccountId": account, "PercentDone": "100.0"}
	answer := map[string]any{"BackupJobId": job, "RecoveryPointArn": arn, "CreationDate": epoch(created)}
	b.remember(c, "/backup-jobs", answer)
	writeJSON(w, answer)
}

func (s *Server) startCopyJob(w http.ResponseWriter, r *http.Request, c *call) {
	src, dest := str(c.json, "RecoveryPointArn"), str(c.json, "DestinationBackupVaultArn")
	parts := strings.SplitN(dest, ":", 7) // arn:aws:backup:REGION:ACCOUNT:backup-vault:NAME
	if len(parts) != 7 || parts[5] != "backup-vault" {
		badBackup(w, r, c, "InvalidParameterValueException", "invalid DestinationBackupVaultArn %q", dest)
		return
	}
	region, account, vault := parts[3], parts[4], parts[6]
	if !s.vaultExists(r, region, account, vault) {
		badBackup(w, r, c, "ResourceNotFoundException", "Backup vault %s does not exist", dest)
		return
	}
	b := s.backups
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.points[src]
	if !ok || p.Vault != str(c.json, "SourceBackupVaultName") || p.Region != c.region || p.Account != c.account {
		badBackup(w, r, c, "ResourceNotFoundException", "recovery point %s is not in vault %s of %s", src, str(c.json, "SourceBackupVaultName"), c.region)
		return
	}
	now := time.Now()
	cp := *p
	cp.ARN = "arn:aws:backup:" + region + ":" + account + ":recovery-point:" + b.id("rp")
	cp.Vault, cp.Region, cp.Account = vault, region, account
	cp.SourceVaultARN = vaultARN(p.Region, p.Account, p.Vault)
	// A copy keeps the source point's creation time, as AWS's does: it is
	// the data's age that matters.
	b.points[cp.ARN] = &cp
	job := b.id("copy-job")
	b.jobs[job] = map[string]any{"CopyJob": map[string]any{"CopyJobId": job, "State": "COMPLETED", "SourceRecoveryPointArn": src,
		"DestinationRecoveryPointArn": cp.ARN, "SourceBackupVaultArn": cp.SourceVaultARN, "DestinationBackupVaultArn": dest,
		"ResourceArn": p.ResourceARN, "ResourceType": "DynamoDB", "CreationDate": epoch(now), "CompletionDate": epoch(time.Now()), "AccountId": c.account}}
	answer := map[string]any{"CopyJobId": job, "CreationDate": epoch(now)}
	b.remember(c, "/copy-jobs", answer)
	writeJSON(w, answer)
}

func (s *Server) startRestoreJob(w http.ResponseWriter, r *http.Request, c *call) {
	arn := str(c.json, "RecoveryPointArn")
	meta, _ := c.json["Metadata"].(map[string]any)
	target, _ := meta["targetTableName"].(string)
	b := s.backups
	b.mu.Lock()
	p, ok := b.points[arn]
	var point recoveryPoint
	if ok {
		point = *p
	}
	b.mu.Unlock()
	switch {
	case !ok || point.Region != c.region || point.Account != c.account:
		badBackup(w, r, c, "ResourceNotFoundException", "recovery point %s does not exist in %s", arn, c.region)
		return
	case target == "":
		badBackup(w, r, c, "InvalidParameterValueException", "Metadata targetTableName is required to restore a DynamoDB recovery point")
		return
	}
	now := time.Now()
	if err := s.dynamo(r, point.Region, point.Account, "CreateTable", map[string]any{"TableName": target, "BillingMode": "PAY_PER_REQUEST",
		"KeySchema": point.Table["KeySchema"], "AttributeDefinitions": point.Table["AttributeDefinitions"]}, nil); err != nil {
		badBackup(w, r, c, "InvalidParameterValueException", "restore into table %s: %v", target, err)
		return
	}
	for i := 0; i < len(point.Items); i += 25 {
		var batch []map[string]any
		for _, item := range point.Items[i:min(i+25, len(point.Items))] {
			batch = append(batch, map[string]any{"PutRequest": map[string]any{"Item": item}})
		}
		if err := s.dynamo(r, point.Region, point.Account, "BatchWriteItem", map[string]any{"RequestItems": map[string]any{target: batch}}, nil); err != nil {
			badBackup(w, r, c, "ServiceUnavailableException", "restore into table %s: %v", target, err)
			return
		}
	}
	created := "arn:aws:dynamodb:" + point.Region + ":" + point.Account + ":table/" + target
	// As on AWS, a restored table carries no tags unless asked to take the
	// source's.
	if copyTags, _ := c.json["CopySourceTagsToRestoredResource"].(bool); copyTags && len(point.Tags) > 0 {
		if err := s.dynamo(r, point.Region, point.Account, "TagResource", map[string]any{"ResourceArn": created, "Tags": point.Tags}, nil); err != nil {
			badBackup(w, r, c, "ServiceUnavailableException", "tag table %s: %v", target, err)
			return
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	job := b.id("restore-job")
	b.jobs[job] = map[string]any{"RestoreJobId": job, "Status": "COMPLETED", "RecoveryPointArn": arn, "CreatedResourceArn": created,
		"ResourceType": "DynamoDB", "CreationDate": epoch(now), "CompletionDate": epoch(time.Now()), "AccountId": c.account, "PercentDone": "100.0"}
	answer := map[string]any{"RestoreJobId": job}
	b.remember(c, "/restore-jobs", answer)
	writeJSON(w, answer)
}

// remember keeps a start's answer under its IdempotencyToken (b.mu held).
func (b *backupStore) remember(c *call, path string, answer map[string]any) {
	if token := str(c.json, "IdempotencyToken"); token != "" {
		b.started[c.account+"/"+c.region+path+"/"+token] = answer
	}
}

func (s *Server) describeJob(w http.ResponseWriter, r *http.Request, c *call, id string) {
	b := s.backups
	b.mu.Lock()
	job, ok := b.jobs[id]
	b.mu.Unlock()
	if !ok {
		badBackup(w, r, c, "ResourceNotFoundException", "job %s not found", id)
		return
	}
	writeJSON(w, job)
}

func (s *Server) listRecoveryPoints(w http.ResponseWriter, r *http.Request, c *call, vault string) {
	vault, _ = url.PathUnescape(vault)
	if !s.vaultExists(r, c.region, c.account, vault) {
		badBackup(w, r, c, "ResourceNotFoundException", "Backup vault %s does not exist", vault)
		return
	}
	b := s.backups
	b.mu.Lock()
	var points []*recoveryPoint
	for _, p := range b.points {
		if p.Vault == vault && p.Region == c.region && p.Account == c.account {
			points = append(points, p)
		}
	}
	b.mu.Unlock()
	sort.Slice(points, func(i, j int) bool { return points[i].Created.After(points[j].Created) })
	out := []map[string]any{}
	for _, p := range points {
		rp := map[string]any{"RecoveryPointArn": p.ARN, "BackupVaultName": p.Vault, "BackupVaultArn": vaultARN(p.Region, p.Account, p.Vault),
			"ResourceArn": p.ResourceARN, "ResourceType": "DynamoDB", "Status": "COMPLETED", "CreationDate": epoch(p.Created), "CompletionDate": epoch(p.Created),
			"BackupSizeInBytes": 0}
		if p.SourceVaultARN != "" {
			rp["SourceBackupVaultArn"] = p.SourceVaultARN
		}
		out = append(out, rp)
	}
	writeJSON(w, map[string]any{"RecoveryPoints": out})
}

// epoch is a timestamp as REST JSON services write it: seconds, with a
// fraction.
func epoch(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
