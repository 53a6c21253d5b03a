// Package strict is the testbed's strict layer: one AWS endpoint on a free
// 127.0.0.1 port, in front of moto, that answers as AWS answers where moto
// forgives. It serves moto's APIs and the EC2 capacity reservation API of
// package ec2capacity (which it wraps, so one endpoint gives both), and on
// top of them, each behaviour on by default and switchable one by one:
//
//   - bucket-propagation: a new bucket's own calls (PutBucketVersioning,
//     PutBucketTagging, PutBucketReplication, HeadBucket, objects, ...)
//     answer NoSuchBucket (404) for BucketDelay after CreateBucket;
//   - role-propagation: for RoleDelay after CreateRole, S3 replication
//     (PutBucketReplication, InvalidRequest), AWS Backup (any call with
//     IamRoleArn, InvalidParameterValueException) and sts:AssumeRole
//     (AccessDenied, 403) cannot assume the role;
//   - change-pending: Route 53 changes (ChangeResourceRecordSets,
//     CreateHostedZone, DeleteHostedZone) answer PENDING, and GetChange says
//     PENDING until ChangeDelay has passed, then INSYNC;
//   - healthcheck-in-use: DeleteHealthCheck answers HealthCheckInUse (400)
//     while a record set in any hosted zone of the account references it
//     (looked up through moto's own Route 53 API);
//   - table-deleting: after DeleteTable, DescribeTable answers TableStatus
//     DELETING for TableDeleteDelay, and CreateTable, UpdateTable and
//     DeleteTable of that name answer ResourceInUseException meanwhile;
//   - ssm-size: PutParameter values over 4096 bytes (Standard tier) or 8192
//     bytes (Advanced, Intelligent-Tiering) answer ValidationException;
//   - tag-limits: a tag key over 128 characters, a value over 256, or more
//     than 50 tags in one call (10 for Route 53) answer the service's own
//     error (S3 InvalidTag, EC2 InvalidParameterValue/TagLimitExceeded,
//     DynamoDB and SSM ValidationException, IAM ValidationError, Route 53
//     InvalidInput, Backup InvalidParameterValueException);
//   - bucket-names: CreateBucket with a name outside S3's naming rules
//     answers InvalidBucketName;
//   - bucket-region: a call on a bucket signed for a region other than the
//     bucket's answers 301 PermanentRedirect with x-amz-bucket-region
//     (GetBucketLocation excepted), where moto serves any region;
//   - replication-rules: PutBucketReplication answers InvalidRequest where
//     S3 does and moto does not: a V2 rule (with Filter) without Priority or
//     DeleteMarkerReplication, and Replication Time Control on a rule
//     without Filter, with a time other than 15 minutes, or without its
//     metrics (Status Enabled, EventThreshold 15 minutes);
//   - throttling: a token bucket per service, account and region (one for
//     all regions of Route 53, IAM, Organizations; Route 53 at 5 requests/s,
//     others set by Options.Rates) answers the service's throttle
//     error (Route 53 and IAM Throttling 400, S3 SlowDown 503, EC2
//     RequestLimitExceeded 503, JSON services ThrottlingException 400);
//   - faults: FaultRate of the calls get a fault: an HTTP 500 or 503 in the
//     service's error shape, a connection reset (before moto sees the call, or
//     after moto did it and the answer is lost), or a slow answer.
//
// IAM DeleteRole's DeleteConflict (a role with inline or attached policies)
// needs nothing here: moto 5.2.1 already refuses as AWS does.
//
// Errors come in the shape each protocol uses (S3 REST XML, Route 53 REST
// XML, query XML for IAM and EC2, JSON 1.0/1.1 for DynamoDB and SSM, REST
// JSON for Backup), so aws-sdk-go-v2 decodes their codes. S3 must be
// addressed path-style, as the testbed always does. Accounts are told apart
// by moto's x-moto-account-id header. Paths under /moto-api/ pass untouched.
//
// Users start moto and the layer with one command and point the provider's
// one AWS endpoint at the URL it prints:
//
//	go run ./internal/testbed/cmd/strict [-off faults,throttling] [-fault-rate 0.05] ...
//
// Tests use testbed.StartStrict.
package strict

import (
	"context"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/testbed/ec2capacity"
)

// Behaviour names one strict behaviour, as Options.Off and the command's
// -off flag take it.
type Behaviour string

// The behaviours, all on unless switched off.
const (
	BucketPropagation Behaviour = "bucket-propagation"
	RolePropagation   Behaviour = "role-propagation"
	ChangePending     Behaviour = "change-pending"
	HealthCheckInUse  Behaviour = "healthcheck-in-use"
	TableDeleting     Behaviour = "table-deleting"
	SSMSize           Behaviour = "ssm-size"
	TagLimits         Behaviour = "tag-limits"
	BucketNames       Behaviour = "bucket-names"
	ReplicationRules  Behaviour = "replication-rules"
	BucketRegion      Behaviour = "bucket-region"
	Throttling        Behaviour = "throttling"
	Faults            Behaviour = "faults"
)

// Behaviours lists every behaviour.
func Behaviours() []Behaviour {
	return []Behaviour{BucketPropagation, RolePropagation, ChangePending, HealthCheckInUse, TableDeleting,
		SSMSize, TagLimits, BucketNames, BucketRegion, ReplicationRules, Throttling, Faults}
}

// ParseBehaviours reads a comma-separated list of behaviour names ("" is none).
func ParseBehaviours(list string) ([]Behaviour, error) {
	var out []Behaviour
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		b := Behaviour(name)
		if !known(b) {
			return nil, fmt.Errorf("unknown behaviour %q (known: %v)", name, Behaviours())
		}
		out = append(out, b)
	}
	return out, nil
}

func known(b Behaviour) bool {
	for _, k := range Behaviours() {
		if k == b {
			return true
		}
	}
	return false
}

// Fault is a kind of injected fault.
type Fault string

// The fault kinds.
const (
	FaultServerError Fault = "5xx"   // HTTP 500 or 503 in the service's error shape
	FaultReset       Fault = "reset" // the connection is reset, before or after moto served the call
	FaultSlow        Fault = "slow"  // the answer comes SlowDelay late
)

// Defaults for the zero values of Options.
const (
	DefaultBucketDelay      = 2 * time.Second
	DefaultRoleDelay        = 4 * time.Second
	DefaultChangeDelay      = 2 * time.Second
	DefaultTableDeleteDelay = 2 * time.Second
	DefaultFaultRate        = 0.05
	DefaultSlowDelay        = 2 * time.Second
)

// DefaultRates are the throttling limits in requests per second per service
// (SigV4 signing name), account and region: Route 53's documented 5
// requests/s.
var DefaultRates = map[string]float64{"route53": 5}

// Options choose the behaviours and their numbers. The zero value is every
// behaviour on with the defaults above.
type Options struct {
	// Off lists the behaviours switched off.
	Off []Behaviour

	BucketDelay      time.Duration // how long a new bucket is not yet visible
	RoleDelay        time.Duration // how long a new role cannot be assumed
	ChangeDelay      time.Duration // how long a Route 53 change stays PENDING
	TableDeleteDelay time.Duration // how long a deleted table stays DELETING

	// Rates overrides DefaultRates service by service, in requests per
	// second; a rate <= 0 means no limit for that service.
	Rates map[string]float64

	// FaultRate is the share of calls (0..1) that get a fault; 0 means
	// DefaultFaultRate (switch faults off with Off).
	FaultRate float64
	// FaultKinds are the faults to pick from, evenly; nil means all.
	FaultKinds []Fault
	// SlowDelay is how late a slow answer comes.
	SlowDelay time.Duration
	// Seed makes the faults repeatable; 0 picks one from the clock.
	Seed int64

	// LatencyMin and LatencyMax add a uniform delay to every call, as a
	// real AWS endpoint has (0 is none). It is no strictness behaviour: it
	// is off unless set.
	LatencyMin, LatencyMax time.Duration

	// Log, if set, gets a line for every answer a behaviour changed.
	Log io.Writer
}

// Server is the strict layer: an http.Handler, and when made by Start a
// listener on a free loopback port.
type Server struct {
	opts     Options
	on       map[Behaviour]bool
	rates    map[string]float64
	moto     *url.URL
	capacity *ec2capacity.Server
	client   *http.Client // the layer's own look-ups in moto

	ln   net.Listener
	http *http.Server
	done chan struct{}

	mu            sync.Mutex
	rng           *rand.Rand
	buckets       map[string]time.Time     // bucket -> created
	roles         map[string]time.Time     // role ARN -> created
	bucketRegions map[string]string        // bucket -> its region, as moto keeps it
	changes       map[string]time.Time     // Route 53 change id -> submitted
	deleting      map[string]deletingTable // account/region/table -> its last description
	limiters      map[string]*limiter      // service/account -> token bucket
	counts        map[Behaviour]int
	requests      map[string]int // service -> requests received
	backups       *backupStore   // the AWS Backup stand-in (backup.go)
}

// New makes the strict layer in front of the moto server at motoEndpoint
// without listening (see Start).
func New(motoEndpoint string, opts Options) (*Server, error) {
	for _, b := range opts.Off {
		if !known(b) {
			return nil, fmt.Errorf("strict: unknown behaviour %q", b)
		}
	}
	for _, f := range opts.FaultKinds {
		if f != FaultServerError && f != FaultReset && f != FaultSlow {
			return nil, fmt.Errorf("strict: unknown fault kind %q", f)
		}
	}
	if opts.FaultRate < 0 || opts.FaultRate > 1 {
		return nil, fmt.Errorf("strict: fault rate %v is not within 0..1", opts.FaultRate)
	}
	capacity, err := ec2capacity.New(motoEndpoint)
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(motoEndpoint)
	orDefault := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	orDefault(&opts.BucketDelay, DefaultBucketDelay)
	orDefault(&opts.RoleDelay, DefaultRoleDelay)
	orDefault(&opts.ChangeDelay, DefaultChangeDelay)
	orDefault(&opts.TableDeleteDelay, DefaultTableDeleteDelay)
	orDefault(&opts.SlowDelay, DefaultSlowDelay)
	if opts.FaultRate == 0 {
		opts.FaultRate = DefaultFaultRate
	}
	if len(opts.FaultKinds) == 0 {
		opts.FaultKinds = []Fault{FaultServerError, FaultReset, FaultSlow}
	}
	seed := opts.Seed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	s := &Server{
		opts: opts, on: map[Behaviour]bool{}, rates: map[string]float64{}, moto: u, capacity: capacity,
		client: &http.Client{Timeout: 30 * time.Second},
		rng:    rand.New(rand.NewSource(seed)),
	}
	for _, b := range Behaviours() {
		s.on[b] = true
	}
	for _, b := range opts.Off {
		s.on[b] = false
	}
	for k, v := range DefaultRates {
		s.rates[k] = v
	}
	for k, v := range opts.Rates {
		s.rates[k] = v
	}
	s.Reset()
	return s, nil
}

// Start listens on a free 127.0.0.1 port and serves the strict layer in
// front of the moto server at motoEndpoint.
func Start(motoEndpoint string, opts Options) (*Server, error) {
	s, err := New(motoEndpoint, opts)
	if err != nil {
		return nil, err
	}
	if s.ln, err = net.Listen("tcp", net.JoinHostPort(ec2capacity.Host, "0")); err != nil {
		return nil, fmt.Errorf("strict: listen on %s: %w", ec2capacity.Host, err)
	}
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		_ = s.http.Serve(s.ln)
	}()
	return s, nil
}

// Endpoint is the URL clients use for every AWS service (servers made by Start).
func (s *Server) Endpoint() string { return "http://" + s.ln.Addr().String() }

// Capacity is the capacity reservation API behind the layer, for its Rules
// and its Reset.
func (s *Server) Capacity() *ec2capacity.Server { return s.capacity }

// Reseed restarts the faults' (and latencies') random sequence from seed,
// so that a test on a shared layer draws the same faults on every run.
func (s *Server) Reseed(seed int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rng = rand.New(rand.NewSource(seed))
}

// FaultRate is the share of calls that get a fault (0 when faults are off).
func (s *Server) FaultRate() float64 {
	if !s.on[Faults] {
		return 0
	}
	return s.opts.FaultRate
}

// On reports whether a behaviour is on.
func (s *Server) On(b Behaviour) bool { return s.on[b] }

// Close stops listening; moto keeps running.
func (s *Server) Close() error {
	if s.http == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.http.Shutdown(ctx)
	<-s.done
	return err
}

// Reset forgets what the layer remembers (new buckets and roles, pending
// changes, deleting tables, rate counters, counts) and the capacity
// reservations; reset moto alongside.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buckets = map[string]time.Time{}
	s.roles = map[string]time.Time{}
	s.bucketRegions = map[string]string{}
	s.changes = map[string]time.Time{}
	s.deleting = map[string]deletingTable{}
	s.limiters = map[string]*limiter{}
	s.counts = map[Behaviour]int{}
	s.requests = map[string]int{}
	s.backups = newBackupStore()
	s.capacity.Reset()
}

// Counts says how often each behaviour answered instead of moto (or, for
// faults, changed an answer), so a run can show the layer was at work.
func (s *Server) Counts() map[Behaviour]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[Behaviour]int{}
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// Requests says how many requests each service (SigV4 signing name)
// received, throttled and faulted ones included: what AWS counts against a
// service's rate.
func (s *Server) Requests() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.requests {
		out[k] = v
	}
	return out
}

// String lists the behaviours that are on, for logs.
func (s *Server) String() string {
	var on []string
	for _, b := range Behaviours() {
		if s.on[b] {
			on = append(on, string(b))
		}
	}
	sort.Strings(on)
	return "strict layer (" + strings.Join(on, ", ") + ")"
}

// count notes that behaviour b changed the answer to c, and logs it when
// Options.Log is set.
func (s *Server) count(b Behaviour, r *http.Request, c *call, what string) {
	s.mu.Lock()
	s.counts[b]++
	s.mu.Unlock()
	if s.opts.Log != nil {
		op := c.op
		if op == "" {
			op = r.Method + " " + r.URL.Path
			if r.URL.RawQuery != "" {
				op += "?" + r.URL.RawQuery
			}
		}
		fmt.Fprintf(s.opts.Log, "strict: %s %s %s (%s, account %s, %s)\n", b, what, op, c.service, c.account, c.region)
	}
}

// check is a rule looked at before the call reaches moto: it answers (and
// returns true) or lets the call pass.
type check struct {
	b  Behaviour
	fn func(s *Server, w http.ResponseWriter, r *http.Request, c *call) bool
}

var checks = []check{
	{BucketNames, (*Server).checkBucketName},
	{BucketRegion, (*Server).checkBucketRegion},
	{ReplicationRules, (*Server).checkReplicationRules},
	{TagLimits, (*Server).checkTags},
	{SSMSize, (*Server).checkParameterSize},
	{BucketPropagation, (*Server).checkBucketVisible},
	{RolePropagation, (*Server).checkRoleAssumable},
	{HealthCheckInUse, (*Server).checkHealthCheckUnused},
	{TableDeleting, (*Server).checkTableDeleting},
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/moto-api") {
		s.capacity.ServeHTTP(w, r)
		return
	}
	c, err := readCall(r)
	if err != nil {
		writeError(w, r, &call{proto: protoS3}, apiError{http.StatusBadRequest, "InvalidRequest", err.Error()})
		return
	}
	s.mu.Lock()
	s.requests[c.service]++
	s.mu.Unlock()
	if !s.sleep(r, s.latency()) {
		return
	}
	if s.on[Throttling] && !s.allow(c) {
		s.count(Throttling, r, c, "throttled")
		writeError(w, r, c, throttleError(c))
		return
	}
	fault := s.pickFault()
	switch fault {
	case FaultServerError:
		s.count(Faults, r, c, "5xx")
		writeError(w, r, c, serverError(c, s.coin()))
		return
	case FaultSlow:
		s.count(Faults, r, c, "slow")
		if !s.sleep(r, s.opts.SlowDelay) {
			return
		}
	case FaultReset:
		if s.coin() {
			s.count(Faults, r, c, "connection reset before moto saw")
			reset(w)
			return
		}
		s.count(Faults, r, c, "connection reset after moto did")
	}
	for _, ch := range checks {
		if s.on[ch.b] && ch.fn(s, w, r, c) {
			s.count(ch.b, r, c, "answered instead of moto")
			return
		}
	}
	// Stand-ins for APIs moto lacks (backup.go, dnsanswer.go).
	if s.serveBackup(w, r, c) || s.serveDNSAnswer(w, r, c) {
		return
	}
	observe := s.observer(r, c)
	if observe == nil && fault != FaultReset {
		s.capacity.ServeHTTP(w, r)
		return
	}
	rec := newRecorder()
	s.capacity.ServeHTTP(rec, r)
	if observe != nil {
		observe(rec) // what moto did happened, answered or not
	}
	if fault == FaultReset {
		reset(w) // moto did the call; its answer is lost
		return
	}
	rec.copyTo(w)
}

// observer returns what must see (and may rewrite) moto's answer to c, or
// nil when the answer can stream through untouched.
func (s *Server) observer(r *http.Request, c *call) func(*recorder) {
	switch {
	case c.proto == protoS3 && isCreateBucket(r, c):
		bucket, _ := bucketOf(r)
		existed := s.bucketExists(r, bucket)
		return func(rec *recorder) {
			if rec.status != http.StatusOK || existed {
				return
			}
			// AWS tags the bucket as part of CreateBucket; moto ignores
			// the configuration's tags, so the layer sets them.
			s.tagNewBucket(r, c, bucket)
			if s.on[BucketPropagation] {
				s.mu.Lock()
				s.buckets[bucket] = time.Now()
				s.mu.Unlock()
			}
		}
	case c.service == "iam" && c.op == "CreateRole" && s.on[RolePropagation]:
		return s.observeCreateRole
	case c.proto == protoRestXML && s.on[ChangePending]:
		return func(rec *recorder) { s.observeChange(r, c, rec) }
	case c.service == "dynamodb" && c.op == "DeleteTable" && s.on[TableDeleting]:
		return func(rec *recorder) { s.observeDeleteTable(c, rec) }
	}
	return nil
}

// sleep waits d unless the client goes away first; false means it went.
func (s *Server) sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	select {
	case <-time.After(d):
		return true
	case <-r.Context().Done():
		return false
	}
}

func (s *Server) latency() time.Duration {
	lo, hi := s.opts.LatencyMin, s.opts.LatencyMax
	if hi < lo {
		hi = lo
	}
	if hi <= 0 {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return lo + time.Duration(s.rng.Int63n(int64(hi-lo)+1))
}

func (s *Server) coin() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.Intn(2) == 0
}
