package aws

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
)

// sdkError wraps err the way an SDK call returns an error met while
// deserializing a response with the given status.
func sdkError(status int, err error) error {
	return &smithy.OperationError{ServiceID: "EC2", OperationName: "DescribeCapacityReservations", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status, Header: http.Header{}}},
			Err:      err,
		},
	}}
}

func deserialization(err error) error {
	return &smithy.DeserializationError{Err: fmt.Errorf("failed to decode response body, %w", err)}
}

type class int

const (
	asIs class = iota
	retryable
	notFound
	unsupported
)

func classOf(err error) class {
	switch {
	case engine.IsRetryable(err):
		return retryable
	case errors.Is(err, engine.ErrNotFound):
		return notFound
	case errors.Is(err, ErrUnsupported):
		return unsupported
	}
	return asIs
}

func (c class) String() string {
	return [...]string{"as is", "retryable", "not found", "unsupported"}[c]
}

func TestClassify(t *testing.T) {
	readErr := func(err error) error {
		return &net.OpError{Op: "read", Net: "tcp", Err: err}
	}
	var htmlErr error
	if err := xml.Unmarshal([]byte("<html><body><h1>501 Not Implemented</h1><p>The action is not supported<br></p></body></html>"), new(struct{})); err != nil {
		htmlErr = err
	} else {
		t.Fatal("an HTML page with <br> decoded as XML")
	}
	for name, tc := range map[string]struct {
		err  error
		want class
	}{
		"nil": {nil, asIs},

		// A body cut short on the way is worth another try.
		"connection closed under the body": {sdkError(200, deserialization(readErr(net.ErrClosed))), retryable},
		"connection reset under the body":  {sdkError(200, deserialization(readErr(os.NewSyscallError("read", syscall.ECONNRESET)))), retryable},
		"body shorter than its length":     {sdkError(200, deserialization(io.ErrUnexpectedEOF)), retryable},
		"empty body":                       {sdkError(200, deserialization(io.EOF)), retryable},
		"broken pipe":                      {sdkError(200, deserialization(syscall.EPIPE)), retryable},
		"timeout reading the body":         {sdkError(200, deserialization(readErr(os.ErrDeadlineExceeded))), retryable},

		// No answer came: the request may be tried again.
		"connection reset before an answer": {&smithy.OperationError{ServiceID: "IAM", OperationName: "PutRolePolicy", Err: &smithyhttp.RequestSendError{
			Err: &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}}}, retryable},
		"connection refused": {&smithy.OperationError{ServiceID: "DynamoDB", OperationName: "DescribeTable", Err: &smithyhttp.RequestSendError{
			Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}}, retryable},
		"EOF before an answer": {&smithy.OperationError{ServiceID: "Backup", OperationName: "DeleteBackupVault", Err: &smithyhttp.RequestSendError{Err: io.EOF}}, retryable},
		"timeout before an answer": {&smithy.OperationError{ServiceID: "S3", OperationName: "PutObject", Err: &smithyhttp.RequestSendError{
			Err: &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}}}, retryable},
		"caller canceled while sending": {&smithy.OperationError{ServiceID: "S3", OperationName: "PutObject", Err: &smithyhttp.RequestSendError{Err: context.Canceled}}, asIs},

		// The endpoint answered with something that is not this API.
		"html page":          {sdkError(200, deserialization(htmlErr)), unsupported},
		"html error page":    {sdkError(500, deserialization(htmlErr)), unsupported},
		"no response shape":  {sdkError(200, deserialization(errors.New("expected DescribeCapacityReservationsResponse"))), unsupported},
		"404 without an API": {sdkError(404, errors.New("page not found")), unsupported},

		// The caller gave up: neither retried nor the endpoint's fault.
		"caller canceled":          {sdkError(200, deserialization(context.Canceled)), asIs},
		"caller deadline exceeded": {sdkError(200, deserialization(context.DeadlineExceeded)), asIs},

		"throttled":    {sdkError(400, &smithy.GenericAPIError{Code: "RequestLimitExceeded"}), retryable},
		"not found":    {sdkError(400, &smithy.GenericAPIError{Code: "NoSuchEntity"}), notFound},
		"server error": {sdkError(503, &smithy.GenericAPIError{Code: "ServiceUnavailable"}), retryable},
		"invalid":      {sdkError(400, &smithy.GenericAPIError{Code: "InvalidParameterValue"}), asIs},
	} {
		got := classify(tc.err)
		if c := classOf(got); c != tc.want {
			t.Errorf("%s: %v is %v, want %v", name, got, c, tc.want)
		}
		if tc.want == retryable && !errors.Is(got, tc.err) {
			// The engine and the batch reads look into what was retried.
			t.Errorf("%s: %v no longer wraps %v", name, got, tc.err)
		}
	}
}

// TestClassifyEndpoints classifies what the SDK itself reports for endpoints
// that answer with an HTML page or cut their answer short.
func TestClassifyEndpoints(t *testing.T) {
	const xmlHead = `<?xml version="1.0" encoding="UTF-8"?><DescribeCapacityReservationsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><capacityReservationSet>`
	for name, tc := range map[string]struct {
		serve func(w http.ResponseWriter)
		want  class
	}{
		"html page": {func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<!DOCTYPE html>\n<html><head><title>moto</title></head><body><h1>Not implemented</h1><p>DescribeCapacityReservations<br></p></body></html>")
		}, unsupported},
		"body shorter than its length": {func(w http.ResponseWriter) {
			conn, buf, _ := w.(http.Hijacker).Hijack()
			fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 100000\r\n\r\n%s<item>", xmlHead)
			buf.Flush()
			conn.Close()
		}, retryable},
		"connection reset under the body": {func(w http.ResponseWriter) {
			conn, buf, _ := w.(http.Hijacker).Hijack()
			fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 100000\r\n\r\n%s<item>", xmlHead)
			buf.Flush()
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
		}, retryable},
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				tc.serve(w)
			}))
			defer srv.Close()
			c := ec2.NewFromConfig(aws.Config{
				Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
				BaseEndpoint: aws.String(srv.URL), Retryer: func() aws.Retryer { return aws.NopRetryer{} },
			})
			_, err := c.DescribeCapacityReservations(context.Background(), &ec2.DescribeCapacityReservationsInput{})
			var de *smithy.DeserializationError
			if !errors.As(err, &de) {
				t.Fatalf("the SDK reported %v, not a deserialization error", err)
			}
			if got := classify(err); classOf(got) != tc.want {
				t.Errorf("%v is %v, want %v", got, classOf(got), tc.want)
			}
		})
	}
}

// TestGuardBodies: once the SDK has closed a request body, the check
// net/http makes for bytes past Content-Length (io.Copy to io.Discard) must
// see the clean end of the body, not an error that closes the connection.
func TestGuardBodies(t *testing.T) {
	build := func() *http.Request {
		req := smithyhttp.NewStackRequest().(*smithyhttp.Request)
		req.Method, req.URL.Scheme, req.URL.Host = http.MethodPost, "http", "127.0.0.1"
		body := []byte("Action=DescribeCapacityReservations&Version=2016-11-15")
		req.ContentLength = int64(len(body))
		var err error
		if req, err = req.SetStream(bytes.NewReader(body)); err != nil {
			t.Fatal(err)
		}
		return req.Build(context.Background())
	}

	// What the SDK hands net/http unguarded.
	sdk := build()
	if _, ok := sdk.Body.(io.WriterTo); !ok {
		t.Skipf("the SDK's request body (%T) no longer implements io.WriterTo", sdk.Body)
	}
	io.CopyN(io.Discard, sdk.Body, sdk.ContentLength)
	sdk.Body.Close()
	if _, err := io.Copy(io.Discard, sdk.Body); !errors.Is(err, io.EOF) {
		t.Logf("the SDK's closed body now answers %v to io.Copy (was io.EOF)", err)
	}

	var sent *http.Request
	c := GuardBodies(doFunc(func(r *http.Request) (*http.Response, error) {
		sent = r
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(""))}, nil
	}))
	req := build()
	if _, err := c.Do(req); err != nil {
		t.Fatal(err)
	}
	if _, ok := sent.Body.(io.WriterTo); ok {
		t.Fatalf("the guarded body %T still implements io.WriterTo", sent.Body)
	}
	if n, _ := io.CopyN(io.Discard, sent.Body, sent.ContentLength); n != sent.ContentLength {
		t.Fatalf("read %d bytes of %d", n, sent.ContentLength)
	}
	req.Body.Close() // what smithy-go does once Do returns
	if n, err := io.Copy(io.Discard, sent.Body); n != 0 || err != nil {
		t.Errorf("io.Copy of the closed guarded body: %d, %v; want 0, nil", n, err)
	}
}

type doFunc func(*http.Request) (*http.Response, error)

func (f doFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }
