package strict

import (
	"bytes"
	"math"
	"net"
	"net/http"
	"strconv"
	"time"
)

// limiter is a token bucket: rate tokens a second, at most burst saved up.
type limiter struct {
	rate, burst, tokens float64
	last                time.Time
}

// globalServices have one endpoint and one request budget for every region.
var globalServices = map[string]bool{"route53": true, "iam": true, "organizations": true, "cloudfront": true}

// allow takes a token from c's service, account and region (one budget for
// a global service), as AWS counts requests; a refused request takes none.
func (s *Server) allow(c *call) bool {
	rate := s.rates[c.service]
	if rate <= 0 {
		return true
	}
	key := c.service + "/" + c.account + "/" + c.region
	if globalServices[c.service] {
		key = c.service + "/" + c.account
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.limiters[key]
	if l == nil {
		burst := math.Max(1, math.Ceil(rate))
		l = &limiter{rate: rate, burst: burst, tokens: burst, last: now}
		s.limiters[key] = l
	}
	l.tokens = math.Min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	l.last = now
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	return true
}

// throttleError is the error each service throttles with; the SDK's
// retryers know these codes as throttling.
func throttleError(c *call) apiError {
	switch c.service {
	case "s3":
		return apiError{http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate."}
	case "ec2":
		return apiError{http.StatusServiceUnavailable, "RequestLimitExceeded", "Request limit exceeded."}
	}
	switch c.proto {
	case protoQuery, protoRestXML, protoEC2:
		return apiError{http.StatusBadRequest, "Throttling", "Rate exceeded"}
	}
	return apiError{http.StatusBadRequest, "ThrottlingException", "Rate exceeded"}
}

// serverError is an injected 500 (or 503) with the code the service uses.
func serverError(c *call, unavailable bool) apiError {
	if unavailable {
		code := "ServiceUnavailable"
		if c.proto == protoEC2 {
			code = "Unavailable"
		}
		return apiError{http.StatusServiceUnavailable, code, "Service is unavailable. Please try again. (injected by the strict layer)"}
	}
	code := "InternalServerError"
	switch c.proto {
	case protoS3, protoEC2:
		code = "InternalError"
	case protoQuery, protoRestXML:
		code = "InternalFailure"
	}
	return apiError{http.StatusInternalServerError, code, "We encountered an internal error. Please try again. (injected by the strict layer)"}
}

// pickFault decides whether this call gets a fault, and which.
func (s *Server) pickFault() Fault {
	if !s.on[Faults] {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rng.Float64() >= s.opts.FaultRate {
		return ""
	}
	return s.opts.FaultKinds[s.rng.Intn(len(s.opts.FaultKinds))]
}

// reset closes the client's connection with a TCP RST, so the client sees
// "connection reset by peer" and no answer.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // closes the connection without an answer
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0) // RST instead of FIN
	}
	_ = conn.Close()
}

// recorder keeps moto's answer so the layer can look at it and rewrite it.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

// setBody replaces the answer's body, and its DynamoDB checksum, which the
// SDK checks against the body.
func (r *recorder) setBody(b []byte) {
	r.body.Reset()
	r.body.Write(b)
	r.header.Set("Content-Length", strconv.Itoa(len(b)))
	if r.header.Get("X-Amz-Crc32") != "" {
		setCRC(r.header, b)
	}
}

// copyTo sends the (possibly rewritten) answer to the client.
func (r *recorder) copyTo(w http.ResponseWriter) {
	for k, v := range r.header {
		w.Header()[k] = v
	}
	if r.status == 0 {
		r.status = http.StatusOK
	}
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body.Bytes())
}
