package strict

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// motoGet asks moto itself (not the layer: no faults, no throttling) as the
// caller would, with the caller's account headers, and returns the body.
func (s *Server) motoGet(r *http.Request, method, path string, query url.Values) (int, []byte, error) {
	u := *s.moto
	u.Path = path
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(r.Context(), method, u.String(), nil)
	if err != nil {
		return 0, nil, err
	}
	// moto reads the account from these; it does not check signatures.
	for _, h := range []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token", "x-moto-account-id"} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return resp.StatusCode, body, err
}

// tagNewBucket sets, in moto, the tags a CreateBucket carried in its
// CreateBucketConfiguration, as AWS sets them with the bucket: a create whose
// answer is lost then leaves a bucket that carries them, as on AWS.
func (s *Server) tagNewBucket(r *http.Request, c *call, bucket string) {
	var cfg struct {
		Tags []struct {
			Key   string `xml:"Key"`
			Value string `xml:"Value"`
		} `xml:"Tags>Tag"`
	}
	if len(c.body) == 0 || xml.Unmarshal(c.body, &cfg) != nil || len(cfg.Tags) == 0 {
		return
	}
	var b strings.Builder
	b.WriteString(`<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet>`)
	for _, t := range cfg.Tags {
		b.WriteString("<Tag><Key>")
		_ = xml.EscapeText(&b, []byte(t.Key))
		b.WriteString("</Key><Value>")
		_ = xml.EscapeText(&b, []byte(t.Value))
		b.WriteString("</Value></Tag>")
	}
	b.WriteString("</TagSet></Tagging>")
	u := *s.moto
	u.Path, u.RawQuery = "/"+bucket, "tagging" // as the SDK sends it: "tagging=" reads as no subresource, a CreateBucket
	req, err := http.NewRequestWithContext(r.Context(), http.MethodPut, u.String(), strings.NewReader(b.String()))
	if err != nil {
		return
	}
	for _, h := range []string{"Authorization", "X-Amz-Date", "X-Amz-Security-Token", "x-moto-account-id"} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	if resp, err := s.client.Do(req); err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// bucketExists asks moto whether bucket is there already: a CreateBucket of
// an existing bucket (200 in us-east-1) makes nothing new to propagate.
func (s *Server) bucketExists(r *http.Request, bucket string) bool {
	status, _, err := s.motoGet(r, http.MethodHead, "/"+bucket, nil)
	return err == nil && status == http.StatusOK
}

// checkBucketVisible: every call on a bucket created less than BucketDelay
// ago answers NoSuchBucket, as AWS's does while the bucket propagates.
func (s *Server) checkBucketVisible(w http.ResponseWriter, r *http.Request, c *call) bool {
	if c.proto != protoS3 || isCreateBucket(r, c) {
		return false
	}
	bucket, _ := bucketOf(r)
	s.mu.Lock()
	created, ok := s.buckets[bucket]
	if ok && time.Since(created) >= s.opts.BucketDelay {
		delete(s.buckets, bucket)
		ok = false
	}
	s.mu.Unlock()
	if !ok {
		return false
	}
	writeError(w, r, c, apiError{http.StatusNotFound, "NoSuchBucket", "The specified bucket does not exist"})
	return true
}

// observeCreateRole remembers when a role was made, by the ARN moto gave it.
func (s *Server) observeCreateRole(rec *recorder) {
	if rec.status != http.StatusOK {
		return
	}
	var out struct {
		Arn string `xml:"CreateRoleResult>Role>Arn"`
	}
	if xml.Unmarshal(rec.body.Bytes(), &out) == nil && out.Arn != "" {
		s.mu.Lock()
		s.roles[out.Arn] = time.Now()
		s.mu.Unlock()
	}
}

// roleTooNew reports whether arn names a role made less than RoleDelay ago.
func (s *Server) roleTooNew(arn string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	created, ok := s.roles[arn]
	if ok && time.Since(created) >= s.opts.RoleDelay {
		delete(s.roles, arn)
		return false
	}
	return ok
}

// checkRoleAssumable: S3 replication, AWS Backup and sts:AssumeRole cannot
// assume a role until IAM has propagated it.
func (s *Server) checkRoleAssumable(w http.ResponseWriter, r *http.Request, c *call) bool {
	switch {
	case c.proto == protoS3 && r.Method == http.MethodPut && c.params.Has("replication"):
		var cfg struct {
			Role string `xml:"Role"`
		}
		if xml.Unmarshal(c.body, &cfg) != nil || !s.roleTooNew(strings.TrimSpace(cfg.Role)) {
			return false
		}
		writeError(w, r, c, apiError{http.StatusBadRequest, "InvalidRequest",
			fmt.Sprintf("Unable to assume role %s: the role is not yet assumable by Amazon S3", strings.TrimSpace(cfg.Role))})
		return true
	case c.service == "sts" && c.op == "AssumeRole":
		arn := c.params.Get("RoleArn")
		if !s.roleTooNew(arn) {
			return false
		}
		writeError(w, r, c, apiError{http.StatusForbidden, "AccessDenied",
			fmt.Sprintf("User: arn:aws:iam::%s:user/caller is not authorized to perform: sts:AssumeRole on resource: %s", c.account, arn)})
		return true
	case c.service == "backup" && c.json != nil:
		arn := findString(c.json, "IamRoleArn")
		if arn == "" || !s.roleTooNew(arn) {
			return false
		}
		writeError(w, r, c, apiError{http.StatusBadRequest, "InvalidParameterValueException",
			fmt.Sprintf("Unable to assume role: IAM Role %s cannot be assumed by AWS Backup", arn)})
		return true
	}
	return false
}

// findString finds a string field by name at any depth of a JSON value.
func findString(v any, name string) string {
	switch v := v.(type) {
	case map[string]any:
		if s, ok := v[name].(string); ok {
			return s
		}
		for _, x := range v {
			if s := findString(x, name); s != "" {
				return s
			}
		}
	case []any:
		for _, x := range v {
			if s := findString(x, name); s != "" {
				return s
			}
		}
	}
	return ""
}

var (
	changeIDRe = regexp.MustCompile(`(?s)<ChangeInfo>.*?<Id>([^<]+)</Id>`)
	statusRe   = regexp.MustCompile(`<Status>\s*(INSYNC|PENDING)\s*</Status>`)
)

// observeChange makes Route 53 changes PENDING until ChangeDelay after they
// were submitted; moto answers INSYNC at once.
func (s *Server) observeChange(r *http.Request, c *call, rec *recorder) {
	if rec.status/100 != 2 {
		return
	}
	body := rec.body.Bytes()
	m := changeIDRe.FindSubmatch(body)
	if m == nil {
		return
	}
	id := strings.TrimPrefix(string(m[1]), "/change/")
	now := time.Now()
	s.mu.Lock()
	submitted, known := s.changes[id]
	getChange := r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/2013-04-01/change/")
	if !getChange {
		submitted, known = now, true
		s.changes[id] = now
	}
	s.mu.Unlock()
	if !known {
		return // a change the layer never saw submitted
	}
	status := "INSYNC"
	if now.Sub(submitted) < s.opts.ChangeDelay {
		status = "PENDING"
		s.count(ChangePending, r, c, "PENDING")
	}
	rec.setBody(statusRe.ReplaceAll(body, []byte("<Status>"+status+"</Status>")))
}

// checkHealthCheckUnused: DeleteHealthCheck answers HealthCheckInUse while a
// record set of any hosted zone in the account references the health check.
func (s *Server) checkHealthCheckUnused(w http.ResponseWriter, r *http.Request, c *call) bool {
	id, ok := strings.CutPrefix(r.URL.Path, "/2013-04-01/healthcheck/")
	if c.proto != protoRestXML || r.Method != http.MethodDelete || !ok || id == "" || strings.Contains(id, "/") {
		return false
	}
	name, err := s.recordUsing(r, id)
	if err != nil {
		writeError(w, r, c, apiError{http.StatusInternalServerError, "InternalFailure", "strict layer: look up record sets in moto: " + err.Error()})
		return true
	}
	if name == "" {
		return false
	}
	writeError(w, r, c, apiError{http.StatusBadRequest, "HealthCheckInUse",
		fmt.Sprintf("The health check with ID %s is still referenced from parameter HealthCheckId of the resource record set with name %s.", id, name)})
	return true
}

// recordUsing returns the name of a record set that references health check
// id, or "" when none does.
func (s *Server) recordUsing(r *http.Request, id string) (string, error) {
	var zones []string
	marker := ""
	for {
		q := url.Values{}
		if marker != "" {
			q.Set("marker", marker)
		}
		var page struct {
			Zones       []string `xml:"HostedZones>HostedZone>Id"`
			IsTruncated bool     `xml:"IsTruncated"`
			NextMarker  string   `xml:"NextMarker"`
		}
		if err := s.motoXML(r, "/2013-04-01/hostedzone", q, &page); err != nil {
			return "", err
		}
		zones = append(zones, page.Zones...)
		if !page.IsTruncated || page.NextMarker == "" {
			break
		}
		marker = page.NextMarker
	}
	for _, zone := range zones {
		zone = strings.TrimPrefix(zone, "/hostedzone/")
		q := url.Values{}
		for {
			var page struct {
				Sets []struct {
					Name          string `xml:"Name"`
					HealthCheckID string `xml:"HealthCheckId"`
				} `xml:"ResourceRecordSets>ResourceRecordSet"`
				IsTruncated    bool   `xml:"IsTruncated"`
				NextName       string `xml:"NextRecordName"`
				NextType       string `xml:"NextRecordType"`
				NextIdentifier string `xml:"NextRecordIdentifier"`
			}
			if err := s.motoXML(r, "/2013-04-01/hostedzone/"+zone+"/rrset", q, &page); err != nil {
				return "", err
			}
			for _, set := range page.Sets {
				if set.HealthCheckID == id {
					return set.Name, nil
				}
			}
			if !page.IsTruncated || page.NextName == "" {
				break
			}
			q = url.Values{"name": {page.NextName}, "type": {page.NextType}}
			if page.NextIdentifier != "" {
				q.Set("identifier", page.NextIdentifier)
			}
		}
	}
	return "", nil
}

func (s *Server) motoXML(r *http.Request, path string, q url.Values, out any) error {
	status, body, err := s.motoGet(r, http.MethodGet, path, q)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d: %.200s", path, status, body)
	}
	return xml.Unmarshal(body, out)
}

// deletingTable is a table AWS would still be deleting.
type deletingTable struct {
	until time.Time
	desc  map[string]any // its TableDescription, TableStatus DELETING
}

func tableKey(c *call) string {
	return c.account + "/" + c.region + "/" + str(c.json, "TableName")
}

// observeDeleteTable: the table is DELETING, in DeleteTable's answer and for
// TableDeleteDelay after it.
func (s *Server) observeDeleteTable(c *call, rec *recorder) {
	if rec.status != http.StatusOK {
		return
	}
	var out map[string]any
	if json.Unmarshal(rec.body.Bytes(), &out) != nil {
		return
	}
	desc, ok := out["TableDescription"].(map[string]any)
	if !ok {
		return
	}
	desc["TableStatus"] = "DELETING"
	body, err := json.Marshal(out)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.deleting[tableKey(c)] = deletingTable{until: time.Now().Add(s.opts.TableDeleteDelay), desc: desc}
	s.mu.Unlock()
	rec.setBody(body)
}

// checkTableDeleting answers for a table that is still being deleted.
func (s *Server) checkTableDeleting(w http.ResponseWriter, r *http.Request, c *call) bool {
	if c.service != "dynamodb" || c.json == nil {
		return false
	}
	key := tableKey(c)
	s.mu.Lock()
	t, ok := s.deleting[key]
	if ok && time.Now().After(t.until) {
		delete(s.deleting, key)
		ok = false
	}
	s.mu.Unlock()
	if !ok {
		return false
	}
	switch c.op {
	case "DescribeTable":
		body, _ := json.Marshal(map[string]any{"Table": t.desc})
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Header().Set("X-Amzn-RequestId", requestID())
		setCRC(w.Header(), body)
		_, _ = io.Copy(w, bytes.NewReader(body))
		return true
	case "CreateTable", "UpdateTable", "DeleteTable":
		writeError(w, r, c, apiError{http.StatusBadRequest, "ResourceInUseException",
			"Attempt to change a resource which is still in use: Table is being deleted: " + str(c.json, "TableName")})
		return true
	}
	return false
}
