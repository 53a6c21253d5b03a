package strict

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// protocol is how a service shapes its requests and errors; the SDK decodes
// an error code only from the shape its service uses.
type protocol int

const (
	protoS3       protocol = iota // S3's REST XML: <Error><Code>
	protoRestXML                  // Route 53: <ErrorResponse><Error><Type><Code>
	protoQuery                    // IAM, STS, Auto Scaling, CloudWatch: <ErrorResponse><Error>
	protoEC2                      // EC2 query: <Response><Errors><Error>
	protoJSON10                   // DynamoDB: {"__type": ...}
	protoJSON11                   // SSM, KMS, Organizations, tagging API
	protoRestJSON                 // Backup and other REST JSON services: X-Amzn-ErrorType
)

// maxBody bounds the request bodies the layer holds in memory to look at.
const maxBody = 64 << 20

// defaultAccount is moto's account when a request names none.
const defaultAccount = "123456789012"

// call is one request as the strict layer sees it.
type call struct {
	service string // SigV4 signing name: s3, route53, iam, dynamodb, ssm, backup, ec2, ...
	proto   protocol
	op      string // operation where the protocol names it (query Action, JSON target); "" for REST
	region  string
	account string
	body    []byte
	params  url.Values     // query protocols: the form; REST: the URL query
	json    map[string]any // JSON protocols: the decoded body (nil if none)
}

// readCall reads what the rules need and leaves r's body readable again for
// the handler behind.
func readCall(r *http.Request) (*call, error) {
	c := &call{region: "us-east-1", account: defaultAccount}
	if a := r.Header.Get("x-moto-account-id"); a != "" {
		c.account = a
	}
	// SigV4: Credential=AKID/20260101/us-east-1/s3/aws4_request
	if _, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential="); ok {
		if parts := strings.Split(strings.SplitN(cred, ",", 2)[0], "/"); len(parts) >= 4 {
			c.region, c.service = parts[2], parts[3]
		}
	}
	if r.Body != nil {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			return nil, fmt.Errorf("read body: %w", err)
		}
		if len(body) > maxBody {
			return nil, fmt.Errorf("the strict layer reads at most %d bytes of a request body", maxBody)
		}
		r.Body.Close()
		c.body = body
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
	}
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	ct = strings.TrimSpace(ct)
	target := r.Header.Get("X-Amz-Target")
	switch {
	case target != "":
		_, c.op, _ = strings.Cut(target, ".")
		c.proto = protoJSON11
		if ct == "application/x-amz-json-1.0" {
			c.proto = protoJSON10
		}
	case ct == "application/x-www-form-urlencoded" && r.Method == http.MethodPost:
		params, err := url.ParseQuery(formBody(r, c.body))
		if err != nil {
			return nil, fmt.Errorf("form body: %w", err)
		}
		c.params, c.op = params, params.Get("Action")
		c.proto = protoQuery
		if c.service == "ec2" || (c.service == "" && params.Get("Version") == "2016-11-15") {
			c.proto = protoEC2
		}
	case c.service == "route53" || (c.service == "" && strings.HasPrefix(r.URL.Path, "/2013-04-01/")):
		c.proto, c.params = protoRestXML, r.URL.Query()
	case c.service == "s3" || c.service == "":
		c.proto, c.params = protoS3, r.URL.Query()
	default:
		c.proto, c.params = protoRestJSON, r.URL.Query()
	}
	if c.service == "" {
		c.service = map[protocol]string{protoS3: "s3", protoRestXML: "route53", protoEC2: "ec2"}[c.proto]
	}
	if (c.proto == protoJSON10 || c.proto == protoJSON11 || c.proto == protoRestJSON) && len(bytes.TrimSpace(c.body)) > 0 {
		// A body that is not a JSON object is the service's to refuse.
		_ = json.Unmarshal(c.body, &c.json)
	}
	return c, nil
}

// formBody is a query protocol's body as text, gunzipped when the SDK
// compressed it (CloudWatch's PutMetricData is).
func formBody(r *http.Request, body []byte) string {
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		if zr, err := gzip.NewReader(bytes.NewReader(body)); err == nil {
			if plain, err := io.ReadAll(io.LimitReader(zr, maxBody)); err == nil {
				body = plain
			}
		}
	}
	return string(body)
}

// bucketOf is the bucket a path-style S3 request addresses ("" for ListBuckets).
func bucketOf(r *http.Request) (bucket, key string) {
	p := strings.TrimPrefix(r.URL.Path, "/")
	bucket, key, _ = strings.Cut(p, "/")
	return bucket, key
}

// subresources are the S3 query keys that name an operation on a bucket
// (versioning, tagging, replication, ...); x-id only repeats the operation.
func subresources(q url.Values) []string {
	var out []string
	for k := range q {
		if k != "x-id" {
			out = append(out, k)
		}
	}
	return out
}

// isCreateBucket: PUT /bucket with no subresource.
func isCreateBucket(r *http.Request, c *call) bool {
	bucket, key := bucketOf(r)
	return c.proto == protoS3 && r.Method == http.MethodPut && bucket != "" && key == "" && len(subresources(c.params)) == 0
}

// str is the string at a path of keys in a decoded JSON body.
func str(m map[string]any, keys ...string) string {
	var v any = m
	for _, k := range keys {
		o, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = o[k]
	}
	s, _ := v.(string)
	return s
}
