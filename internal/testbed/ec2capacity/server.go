// Package ec2capacity is the part of the testbed that gives moto the EC2
// On-Demand Capacity Reservation API it lacks, the way LocalStack extends
// moto: one HTTP endpoint on a free loopback port that serves
// CreateCapacityReservation, DescribeCapacityReservations,
// ModifyCapacityReservation and CancelCapacityReservation itself, with EC2's
// real request parameters and XML response shapes, and passes every other
// request to moto unchanged. Clients point their one AWS endpoint at it and
// run unchanged.
//
// Every call goes through the server's rules first, which is where latency
// and fault injection for reliability work plug in (see Rule).
package ec2capacity

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Host is the only address the server binds to.
const Host = "127.0.0.1"

// Call is one request as the server sees it before serving or proxying it.
type Call struct {
	// Action is the Query API action (Action=...) or, for JSON protocols,
	// the operation from X-Amz-Target; empty for REST calls such as S3's.
	Action  string
	Region  string
	Account string
	Params  url.Values
}

// Outcome is what a rule does to a call: wait Delay, then, when Code is
// set, answer with that EC2 error instead of serving the call.
type Outcome struct {
	Delay   time.Duration
	Status  int
	Code    string
	Message string
}

// Rule looks at every call, served here or proxied to moto, and may delay or
// fail it. Rules run in the order they were added; the first error wins.
type Rule func(Call) Outcome

// Server is a running capacity reservation endpoint in front of moto.
type Server struct {
	upstream *url.URL
	proxy    *httputil.ReverseProxy
	ln       net.Listener
	http     *http.Server
	done     chan struct{}

	mu    sync.Mutex
	rules []Rule
	store *store
}

// Start listens on a free 127.0.0.1 port and serves in front of the moto
// server at motoEndpoint (e.g. http://127.0.0.1:5000).
func Start(motoEndpoint string) (*Server, error) {
	s, err := New(motoEndpoint)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(Host, "0"))
	if err != nil {
		return nil, fmt.Errorf("ec2capacity: listen on %s: %w", Host, err)
	}
	s.ln = ln
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	go func() {
		defer close(s.done)
		_ = s.http.Serve(ln)
	}()
	return s, nil
}

// New is a server in front of the moto server at motoEndpoint that does not
// listen: an http.Handler for a layer that serves it on its own listener (the
// strict layer does), so one endpoint gives moto, this API and that layer.
// Endpoint and Close are for servers made by Start only.
func New(motoEndpoint string) (*Server, error) {
	u, err := url.Parse(motoEndpoint)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("ec2capacity: moto endpoint %q is not a URL", motoEndpoint)
	}
	if host := u.Hostname(); host != Host && host != "localhost" {
		return nil, fmt.Errorf("ec2capacity: moto endpoint %q is not on loopback", motoEndpoint)
	}
	s := &Server{upstream: u, done: make(chan struct{}), store: newStore()}
	s.proxy = httputil.NewSingleHostReverseProxy(u)
	s.proxy.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) {
		writeError(w, http.StatusBadGateway, "ServiceUnavailable", "moto did not answer: "+err.Error())
	}
	return s, nil
}

// Endpoint is the URL clients use for every AWS service.
func (s *Server) Endpoint() string {
	if s.ln == nil {
		return "" // made by New: served by whoever wraps it
	}
	return "http://" + s.ln.Addr().String()
}

// Close stops the server; moto keeps running.
func (s *Server) Close() error {
	if s.http == nil {
		return nil // made by New: nothing listens
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.http.Shutdown(ctx)
	<-s.done
	return err
}

// AddRule adds a rule that sees every later call.
func (s *Server) AddRule(r Rule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = append(s.rules, r)
}

// ClearRules removes every rule.
func (s *Server) ClearRules() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = nil
}

// Reset forgets every capacity reservation (moto has its own reset).
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.store = newStore()
}

var handlers = map[string]func(*Server, Call) (any, error){
	"CreateCapacityReservation":    (*Server).create,
	"DescribeCapacityReservations": (*Server).describe,
	"ModifyCapacityReservation":    (*Server).modify,
	"CancelCapacityReservation":    (*Server).cancel,
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call, err := readCall(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	s.mu.Lock()
	rules := append([]Rule(nil), s.rules...)
	s.mu.Unlock()
	for _, rule := range rules {
		o := rule(call)
		if o.Delay > 0 {
			select {
			case <-time.After(o.Delay):
			case <-r.Context().Done():
				return
			}
		}
		if o.Code != "" {
			status := o.Status
			if status == 0 {
				status = http.StatusServiceUnavailable
			}
			writeError(w, status, o.Code, o.Message)
			return
		}
	}
	if h, ok := handlers[call.Action]; ok && call.Params != nil {
		resp, err := h(s, call)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				ae = &apiError{http.StatusInternalServerError, "InternalError", err.Error()}
			}
			writeError(w, ae.status, ae.code, ae.message)
			return
		}
		writeXML(w, resp)
		return
	}
	if call.Params != nil && (call.Action == "CreateTags" || call.Action == "DeleteTags") {
		if s.tagCall(w, r, call) {
			return
		}
	}
	s.proxy.ServeHTTP(w, r)
}

// readCall reads what the rules and handlers need, and leaves r's body as it was.
func readCall(r *http.Request) (Call, error) {
	c := Call{Region: "us-east-1", Account: defaultAccount}
	if a := r.Header.Get("x-moto-account-id"); a != "" {
		c.Account = a
	}
	// SigV4: Credential=AKID/20260101/us-east-1/ec2/aws4_request
	if _, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential="); ok {
		if parts := strings.Split(strings.SplitN(cred, ",", 2)[0], "/"); len(parts) >= 3 {
			c.Region = parts[2]
		}
	}
	if t := r.Header.Get("X-Amz-Target"); t != "" {
		_, c.Action, _ = strings.Cut(t, ".")
		return c, nil
	}
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	if r.Method == http.MethodPost && strings.TrimSpace(ct) == "application/x-www-form-urlencoded" {
		body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		if err != nil {
			return c, fmt.Errorf("read body: %w", err)
		}
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		form := body
		if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
			// The SDK compresses some query bodies (CloudWatch's PutMetricData).
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				return c, fmt.Errorf("gzip body: %w", err)
			}
			if form, err = io.ReadAll(io.LimitReader(zr, 16<<20)); err != nil {
				return c, fmt.Errorf("gzip body: %w", err)
			}
		}
		params, err := url.ParseQuery(string(form))
		if err != nil {
			return c, fmt.Errorf("form body: %w", err)
		}
		c.Params, c.Action = params, params.Get("Action")
		return c, nil
	}
	if q := r.URL.Query(); q.Get("Action") != "" {
		c.Params, c.Action = q, q.Get("Action")
	}
	return c, nil
}

// tagCall serves CreateTags and DeleteTags for capacity reservations, which
// moto does not know, and passes the call on for every other resource. It
// reports whether it answered.
func (s *Server) tagCall(w http.ResponseWriter, r *http.Request, c Call) bool {
	var mine, others []string
	for _, id := range indexed(c.Params, "ResourceId") {
		if strings.HasPrefix(id, "cr-") {
			mine = append(mine, id)
		} else {
			others = append(others, id)
		}
	}
	if len(mine) == 0 {
		return false
	}
	tags := tagParams(c.Params, "Tag")
	s.mu.Lock()
	err := s.store.tag(c, mine, tags, c.Action == "DeleteTags")
	s.mu.Unlock()
	if err != nil {
		var ae *apiError
		errors.As(err, &ae)
		writeError(w, ae.status, ae.code, ae.message)
		return true
	}
	if len(others) == 0 {
		writeXML(w, returnResponse{XMLName: xmlName(c.Action + "Response"), RequestID: requestID(), Return: true})
		return true
	}
	// Pass on the same call for the other resources only.
	params := url.Values{}
	for k, v := range c.Params {
		if !strings.HasPrefix(k, "ResourceId.") {
			params[k] = v
		}
	}
	for i, id := range others {
		params.Set(fmt.Sprintf("ResourceId.%d", i+1), id)
	}
	body := params.Encode()
	r.Body = io.NopCloser(strings.NewReader(body))
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Length", fmt.Sprint(len(body)))
	s.proxy.ServeHTTP(w, r)
	return true
}
