// Package aws holds the drivers for AWS primitives, one per primitive type,
// built on aws-sdk-go-v2. Every endpoint can be overridden, so the same code
// runs against AWS, LocalStack and moto.
package aws

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// Config says how to reach AWS.
type Config struct {
	// Endpoint is one URL for every service, as LocalStack and moto serve them.
	Endpoint string
	// Endpoints override Endpoint per service, keyed by the names in Services.
	Endpoints map[string]string
	AccessKey string
	SecretKey string
	Profile   string
	// S3UsePathStyle addresses buckets as endpoint/bucket rather than bucket.endpoint.
	S3UsePathStyle            bool
	SkipCredentialsValidation bool
	// Emulator says the endpoint is an emulator (moto, LocalStack), never
	// inferred from an overridden endpoint (a VPC or FIPS endpoint is AWS).
	// Only then does meridian put up with what emulators lack: a call the
	// endpoint does not implement, or a replica it accepts and does not
	// keep, is recorded as unverified with a warning, and the AWS Backup
	// tags path is the one moto routes. Against AWS each is an error.
	Emulator bool
	// Limiters are the process's limiters, which every request of this
	// cloud's clients takes a token of (see Limits); nil makes a set for
	// this Cloud alone. The engines that apply through its drivers share
	// the same set (Cloud.Limiters).
	Limiters *engine.Limiters
}

// Limits are AWS's request quotas that meridian keeps, by limit key
// (primitive.LimitKey): Route 53's API allows five requests a second per
// account; beyond that it throttles, and each throttled request costs a
// backoff. Requests go out evenly (no burst): AWS counts them as they
// arrive, and answers take 50-300 ms, so a burst sent at the rate's very
// edge arrives bunched up and is throttled.
var Limits = map[string]engine.Limit{
	primitive.ServiceLimitKey("aws", "route53", ""): {PerSecond: 5, Burst: 1},
}

// Services lists the names Endpoints accepts.
var Services = []string{"autoscaling", "backup", "dynamodb", "ec2", "iam", "organizations", "resourcegroupstaggingapi", "route53", "s3", "ssm", "sts"}

// outsideAttempts is how many tries the SDK makes of a call made outside
// the engine; more than the SDK's 3, so that a few faults in a row (5xx,
// resets, throttling) do not end a state write or a drill.
const outsideAttempts = 5

// globalRegion is the region of the global services (IAM, Route 53) in the
// aws partition, and S3's region without a location constraint.
const globalRegion = "us-east-1"

// globalRegions are where each partition's global services are called:
// credentials of the China or GovCloud partitions are not valid for
// us-east-1's IAM and Route 53.
var globalRegions = map[string]string{"aws": globalRegion, "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}

// Cloud holds the SDK configuration and a client per service and region.
type Cloud struct {
	conf Config
	base aws.Config
	mu   sync.Mutex
	// clients are keyed by "service/region".
	clients map[string]any
	// engine is this Cloud without SDK retries, for the drivers (see Drivers).
	engine   *Cloud
	limiters *engine.Limiters
	// partition is the credentials' (from sts:GetCallerIdentity), "aws"
	// when they are not checked.
	partition string
}

// New loads credentials and, unless told not to, checks them with STS.
func New(ctx context.Context, conf Config) (*Cloud, error) {
	for svc := range conf.Endpoints {
		if !known(svc) {
			return nil, fmt.Errorf("aws endpoints: unknown service %q; expected one of %s", svc, strings.Join(Services, ", "))
		}
	}
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(globalRegion),
		// Calls made outside the engine (the S3 state backend and its
		// journal, drills, plan-time reads) have nobody else to retry them:
		// they get the SDK's standard retryer (throttling, 5xx, connection
		// resets, timeouts). The drivers' clients do not (see Drivers).
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = outsideAttempts })
		}),
	}
	if conf.AccessKey != "" || conf.SecretKey != "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(conf.AccessKey, conf.SecretKey, "")))
	}
	if conf.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(conf.Profile))
	}
	base, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("aws configuration: %w", err)
	}
	base.HTTPClient = GuardBodies(base.HTTPClient)
	limiters := conf.Limiters
	if limiters == nil {
		limiters = &engine.Limiters{}
	}
	limiters.Declare(Limits)
	base.APIOptions = append(base.APIOptions, limitRequests(limiters))
	c := &Cloud{conf: conf, base: base, clients: map[string]any{}, limiters: limiters, partition: "aws"}
	if !conf.SkipCredentialsValidation {
		client := sts.NewFromConfig(base, func(o *sts.Options) { o.BaseEndpoint = c.endpoint("sts") })
		id, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return nil, fmt.Errorf("aws credentials are not valid (sts:GetCallerIdentity): %w", classify(err))
		}
		if c.partition, err = partitionOf(aws.ToString(id.Arn)); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// GuardBodies wraps an SDK HTTP client so that the connection a response
// arrives on is not closed under it.
//
// smithy-go closes a request's body as soon as Do returns (that is, once the
// response headers are in), while net/http's writeLoop may not yet have
// finished writing the request: after copying Content-Length bytes it reads
// the body once more, with io.Copy, to check that nothing is left. The SDK's
// body implements io.WriterTo, and once closed its WriteTo answers io.EOF,
// which io.Copy passes on as an error; net/http then takes the request write
// for failed and closes the connection, while the response body is still
// being read ("read tcp ...: use of closed network connection", reported as
// a deserialization error). A fast endpoint with a large answer (the testbed
// on loopback, ~100 KB of DescribeCapacityReservations) hits it every few
// calls. Hiding WriteTo makes that last check a Read, which answers (0,
// io.EOF) after Close, the clean end of the body. See also
// https://github.com/aws/aws-sdk-go-v2/issues/2737.
func GuardBodies(next aws.HTTPClient) aws.HTTPClient { return guardedClient{next} }

type guardedClient struct{ next aws.HTTPClient }

// readCloser exposes Read and Close only, not WriteTo.
type readCloser struct{ io.ReadCloser }

func (c guardedClient) Do(r *http.Request) (*http.Response, error) {
	if _, ok := r.Body.(io.WriterTo); ok {
		r = r.WithContext(r.Context())
		r.Body = readCloser{r.Body}
	}
	return c.next.Do(r)
}

func known(svc string) bool {
	for _, s := range Services {
		if s == svc {
			return true
		}
	}
	return false
}

func (c *Cloud) endpoint(svc string) *string {
	if e := c.conf.Endpoints[svc]; e != "" {
		return aws.String(e)
	}
	if c.conf.Endpoint != "" {
		return aws.String(c.conf.Endpoint)
	}
	return nil
}

// globalRegion is where this cloud calls the global services.
func (c *Cloud) globalRegion() string {
	if r := globalRegions[c.partition]; r != "" {
		return r
	}
	return globalRegion
}

// partitionOf reads the partition from a caller's ARN.
func partitionOf(arn string) (string, error) {
	parts := strings.SplitN(arn, ":", 3)
	if len(parts) < 3 || parts[0] != "arn" {
		return "", fmt.Errorf("sts:GetCallerIdentity answered ARN %q, which names no partition", arn)
	}
	if _, ok := globalRegions[parts[1]]; !ok {
		return "", fmt.Errorf("the credentials belong to partition %q, which meridian does not know (it knows aws, aws-cn and aws-us-gov)", parts[1])
	}
	return parts[1], nil
}

func regionOf(region string) string {
	if region == primitive.Global {
		return globalRegion
	}
	return region
}

// client returns the cached client of a service in a region, making it on first use.
func client[C any](c *Cloud, service, region string, make func(region string, endpoint *string) C) C {
	c.mu.Lock()
	defer c.mu.Unlock()
	if region == primitive.Global {
		region = c.globalRegion()
	}
	key := service + "/" + region
	if cl, ok := c.clients[key]; ok {
		return cl.(C)
	}
	cl := make(region, c.endpoint(service))
	c.clients[key] = cl
	return cl
}

func (c *Cloud) S3(region string) *s3.Client {
	return client(c, "s3", region, func(region string, endpoint *string) *s3.Client {
		return s3.NewFromConfig(c.base, func(o *s3.Options) {
			o.Region, o.BaseEndpoint, o.UsePathStyle = region, endpoint, c.conf.S3UsePathStyle
		})
	})
}

func (c *Cloud) DynamoDB(region string) *dynamodb.Client {
	return client(c, "dynamodb", region, func(region string, endpoint *string) *dynamodb.Client {
		return dynamodb.NewFromConfig(c.base, func(o *dynamodb.Options) { o.Region, o.BaseEndpoint = region, endpoint })
	})
}

func (c *Cloud) EC2(region string) *ec2.Client {
	return client(c, "ec2", region, func(region string, endpoint *string) *ec2.Client {
		return ec2.NewFromConfig(c.base, func(o *ec2.Options) { o.Region, o.BaseEndpoint = region, endpoint })
	})
}

func (c *Cloud) AutoScaling(region string) *autoscaling.Client {
	return client(c, "autoscaling", region, func(region string, endpoint *string) *autoscaling.Client {
		return autoscaling.NewFromConfig(c.base, func(o *autoscaling.Options) { o.Region, o.BaseEndpoint = region, endpoint })
	})
}

func (c *Cloud) SSM(region string) *ssm.Client {
	return client(c, "ssm", region, func(region string, endpoint *string) *ssm.Client {
		return ssm.NewFromConfig(c.base, func(o *ssm.Options) { o.Region, o.BaseEndpoint = region, endpoint })
	})
}

func (c *Cloud) Backup(region string) *backup.Client {
	return client(c, "backup", region, func(region string, endpoint *string) *backup.Client {
		return backup.NewFromConfig(c.base, func(o *backup.Options) {
			o.Region, o.BaseEndpoint = region, endpoint
			if c.conf.Emulator {
				o.APIOptions = append(o.APIOptions, EmulatorTagsPath)
			}
		})
	})
}

func (c *Cloud) IAM() *iam.Client {
	return client(c, "iam", primitive.Global, func(region string, endpoint *string) *iam.Client {
		return iam.NewFromConfig(c.base, func(o *iam.Options) { o.Region, o.BaseEndpoint = region, endpoint })
	})
}

func (c *Cloud) Organizations() *organizations.Client {
	return client(c, "organizations", primitive.Global, func(region string, endpoint *string) *organizations.Client {
		return organizations.NewFromConfig(c.base, func(o *organizations.Options) { o.Region, o.BaseEndpoint = region, endpoint })
	})
}

func (c *Cloud) Route53() *route53.Client {
	return client(c, "route53", primitive.Global, func(region string, endpoint *string) *route53.Client {
		return route53.NewFromConfig(c.base, func(o *route53.Options) { o.Region, o.BaseEndpoint = region, endpoint })
	})
}

// throttleAttempts is how often the drivers' clients try a request that is
// throttled (about a minute of backoff in all, at most 20 s a wait).
const throttleAttempts = 10

// forEngine returns c made once with the SDK retrying throttling only: the
// engine retries every driver call that failed otherwise (5xx, resets) with
// its own backoff, and two layers of retries would multiply the attempts.
// Throttling is different: a driver call makes several requests (a create,
// its tags, a wait), all within one account-wide quota (Route 53's five a
// second) that every engine of the process and the other resources share, so
// the request that met it waits and tries again by itself, as the SDK does
// for terraform-provider-aws; retried as a whole call, a create would
// repeat the requests that had gone through and soon give up.
func (c *Cloud) forEngine() *Cloud {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.engine == nil {
		base := c.base.Copy()
		base.Retryer = func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = throttleAttempts
				o.Retryables = []retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
					return aws.BoolTernary(throttleCodes[code(err)])
				})}
				o.RateLimiter = ratelimit.None // throttled requests are not a failing endpoint
			})
		}
		c.engine = &Cloud{conf: c.conf, base: base, clients: map[string]any{}, limiters: c.limiters, partition: c.partition}
	}
	return c.engine
}

// Limiters are the limiters this cloud's requests take their tokens from:
// the engines that run its drivers share them (engine.Engine.Shared).
func (c *Cloud) Limiters() *engine.Limiters { return c.limiters }

// limitRequests makes every request of a client wait for its turn within
// the limit of its service and region. It sits in the Finalize step right
// after the retry loop, so every attempt is one request (as AWS counts
// them), as is every page of a paginator and every poll of a waiter; and
// before signing, so a request that waited is signed when it is sent.
func limitRequests(limiters *engine.Limiters) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		wait := middleware.FinalizeMiddlewareFunc("meridian/limit", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			key := primitive.ServiceLimitKey("aws", serviceName(awsmiddleware.GetServiceID(ctx)), awsmiddleware.GetRegion(ctx))
			release, err := limiters.Wait(ctx, key)
			if err != nil {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, err
			}
			defer release()
			return next.HandleFinalize(ctx, in)
		})
		if _, ok := stack.Finalize.Get("Retry"); ok {
			return stack.Finalize.Insert(wait, "Retry", middleware.After)
		}
		return stack.Finalize.Add(wait, middleware.Before)
	}
}

// serviceName turns an SDK service id ("Route 53", "Auto Scaling") into
// the name Services and the limit keys use ("route53", "autoscaling").
func serviceName(id string) string { return strings.ToLower(strings.ReplaceAll(id, " ", "")) }

// Drivers returns a driver for every AWS primitive type. Their clients retry
// throttling only (the limiter keeps it rare; other engines or tools may
// share the account's quota): the engine retries what else classify marks
// retryable.
func (c *Cloud) Drivers() engine.Drivers {
	c = c.forEngine()
	return engine.Drivers{
		primitive.S3Bucket:            bucketDriver{c},
		primitive.S3BucketReplication: replicationDriver{c},
		primitive.IAMRole:             roleDriver{c},
		primitive.IAMRolePolicy:       rolePolicyDriver{c},
		primitive.DynamoDBTable:       tableDriver{c},
		primitive.DynamoDBReplica:     replicaDriver{c},
		primitive.Route53Zone:         zoneDriver{c},
		primitive.Route53HealthCheck:  healthCheckDriver{c},
		primitive.Route53Record:       recordDriver{c},
		primitive.SSMParameter:        parameterDriver{c},

		primitive.OrganizationsPolicy:           orgPolicyDriver{c},
		primitive.OrganizationsPolicyAttachment: orgAttachmentDriver{c},

		primitive.BackupVault:     vaultDriver{c},
		primitive.BackupPlan:      backupPlanDriver{c},
		primitive.BackupSelection: backupSelectionDriver{c},

		primitive.EC2CapacityReservation: reservationDriver{c},
		primitive.LaunchTemplate:         launchTemplateDriver{c},
		primitive.AutoScalingGroup:       groupDriver{c},
	}
}

var notFoundCodes = map[string]bool{
	"NoSuchBucket": true, "NotFound": true, "NoSuchEntity": true, "ResourceNotFoundException": true,
	"NoSuchHostedZone": true, "NoSuchHealthCheck": true, "ReplicationConfigurationNotFoundError": true,
}

var throttleCodes = map[string]bool{
	"Throttling": true, "ThrottlingException": true, "ThrottledException": true, "RequestLimitExceeded": true,
	"TooManyRequestsException": true, "ProvisionedThroughputExceededException": true, "SlowDown": true,
	"PriorRequestNotComplete": true, "RequestThrottled": true, "LimitExceededException": true,
}

// ErrUnsupported is wrapped when the endpoint does not implement a call.
var ErrUnsupported = errors.New("not supported by this endpoint")

// tolerates reports whether err is a call the endpoint does not implement
// and the endpoint is an emulator (Config.Emulator): only then is it a
// warning rather than an error.
func (c *Cloud) tolerates(err error) bool { return c.conf.Emulator && errors.Is(err, ErrUnsupported) }

// Emulator says whether the configuration names the endpoint an emulator.
func (c *Cloud) Emulator() bool { return c.conf.Emulator }

// classify turns SDK errors into the engine's vocabulary: not found,
// retryable (throttling, 5xx, a connection reset or timed out, a response
// cut short), or not supported by the endpoint.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// The caller gave up: no retry can help it.
		return err
	}
	var se *smithyhttp.RequestSendError
	if errors.As(err, &se) {
		// The request did not get an answer: the connection was refused,
		// reset or timed out. The driver's calls are safe to repeat (they
		// look before they create), so the engine tries again.
		return engine.Retryable(err)
	}
	var de *smithy.DeserializationError
	if errors.As(err, &de) {
		switch {
		case brokenBody(de):
			// The answer was cut short on the way: worth another try.
			return engine.Retryable(err)
		}
		// The endpoint answered with something that is not this API:
		// emulators answer calls they lack with an HTML page.
		return fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch {
		case notFoundCodes[ae.ErrorCode()]:
			return fmt.Errorf("%w: %v", engine.ErrNotFound, err)
		case throttleCodes[ae.ErrorCode()]:
			return engine.Retryable(err)
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch status := re.HTTPStatusCode(); {
		case status == http.StatusNotFound && ae == nil:
			return fmt.Errorf("%w: %v", ErrUnsupported, err)
		case status == http.StatusTooManyRequests || status >= 500:
			return engine.Retryable(err)
		}
		return err
	}
	if ae == nil && brokenBody(err) {
		// A transport error the SDK did not wrap (a reset or timeout while
		// reading the answer).
		return engine.Retryable(err)
	}
	return err
}

// brokenBody reports whether a response body failed to arrive whole: the
// connection was closed or reset under it, or it ended early.
func brokenBody(err error) bool {
	var ne net.Error
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) ||
		errors.As(err, &ne)
}

func code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// tagDiff returns the tags to set and the keys to remove to go from have to want.
func tagDiff(have, want map[string]string) (set map[string]string, remove []string) {
	set = map[string]string{}
	for k, v := range want {
		if hv, ok := have[k]; !ok || hv != v {
			set[k] = v
		}
	}
	for k := range have {
		if _, ok := want[k]; !ok {
			remove = append(remove, k)
		}
	}
	sort.Strings(remove)
	return set, remove
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// isMark says whether a tag key is one of the engine's ownership marks.
func isMark(key string) bool { return key == engine.OwnerTag || key == engine.TokenTag }

// withoutMarks returns tags without the ownership marks: for the tags an
// object passes on to others (the instances a launch template or an Auto
// Scaling group starts), which are not meridian's and must not look it.
func withoutMarks(tags map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range tags {
		if !isMark(k) {
			out[k] = v
		}
	}
	return out
}

// foundBy turns what a driver's claim of an existing object answered into
// what Find reports: absent is not found; there but not ours is found,
// with the claim's error.
func foundBy(claimErr error) (bool, error) {
	switch {
	case errors.Is(claimErr, engine.ErrNotFound):
		return false, nil
	case errors.Is(claimErr, engine.ErrNotOwned):
		return true, claimErr
	}
	return claimErr == nil, claimErr
}
