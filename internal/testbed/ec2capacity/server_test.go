package ec2capacity_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	awscloud "github.com/meridianhq/terraform-provider-meridian/internal/cloud/aws"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed"
	"github.com/meridianhq/terraform-provider-meridian/internal/testbed/ec2capacity"
)

var (
	moto   *testbed.Moto
	server *ec2capacity.Server
)

func TestMain(m *testing.M) {
	code := m.Run()
	if server != nil {
		_ = server.Close()
	}
	if moto != nil {
		_ = moto.Stop()
	}
	os.Exit(code)
}

// start gives the test a server in front of a fresh moto.
func start(t *testing.T) *ec2capacity.Server {
	t.Helper()
	testbed.RequireTool(t, "moto_server")
	if moto == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		m, err := testbed.StartMoto(ctx)
		if err != nil {
			t.Fatal(err)
		}
		moto = m
		if server, err = ec2capacity.Start(moto.Endpoint()); err != nil {
			t.Fatal(err)
		}
	}
	if err := moto.Reset(); err != nil {
		t.Fatal(err)
	}
	server.Reset()
	server.ClearRules()
	return server
}

// client is an EC2 client as internal/cloud/aws makes it: the SDK's HTTP
// client behind awscloud.GuardBodies, without which the SDK closes its own
// connection under a large answer now and then (see GuardBodies).
func client(s *ec2capacity.Server, region string) *ec2.Client {
	c, _ := countingClient(s, region)
	return c
}

// countingClient is client, and counts the connections it opens.
func countingClient(s *ec2capacity.Server, region string) (*ec2.Client, *atomic.Int32) {
	dials := new(atomic.Int32)
	hc := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		dial := tr.DialContext
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return dial(ctx, network, addr)
		}
	})
	return ec2.NewFromConfig(aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(s.Endpoint()),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
		HTTPClient:   awscloud.GuardBodies(hc),
	}), dials
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func tagMap(tags []ec2types.Tag) map[string]string {
	out := map[string]string{}
	for _, t := range tags {
		out[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return out
}

func TestReservationLifecycle(t *testing.T) {
	s := start(t)
	ctx := context.Background()
	c := client(s, "us-east-1")

	created, err := c.CreateCapacityReservation(ctx, &ec2.CreateCapacityReservationInput{
		InstanceType: aws.String("m5.large"), InstancePlatform: ec2types.CapacityReservationInstancePlatformLinuxUnix,
		AvailabilityZone: aws.String("us-east-1a"), InstanceCount: aws.Int32(3),
		InstanceMatchCriteria: ec2types.InstanceMatchCriteriaTargeted, ClientToken: aws.String("tok-1"),
		TagSpecifications: []ec2types.TagSpecification{{
			ResourceType: ec2types.ResourceTypeCapacityReservation,
			Tags:         []ec2types.Tag{{Key: aws.String("team"), Value: aws.String("payments")}, {Key: aws.String("env"), Value: aws.String("prod")}},
		}},
	})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	cr := created.CapacityReservation
	id := aws.ToString(cr.CapacityReservationId)
	if !strings.HasPrefix(id, "cr-") || len(id) != 20 || aws.ToInt32(cr.TotalInstanceCount) != 3 || aws.ToInt32(cr.AvailableInstanceCount) != 3 ||
		cr.State != ec2types.CapacityReservationStateActive || cr.InstanceMatchCriteria != ec2types.InstanceMatchCriteriaTargeted ||
		cr.Tenancy != ec2types.CapacityReservationTenancyDefault || cr.EndDateType != ec2types.EndDateTypeUnlimited ||
		aws.ToString(cr.CapacityReservationArn) != "arn:aws:ec2:us-east-1:123456789012:capacity-reservation/"+id || cr.StartDate == nil {
		t.Errorf("created reservation: %+v", cr)
	}
	if got := tagMap(cr.Tags); got["team"] != "payments" || got["env"] != "prod" {
		t.Errorf("tags %v", got)
	}

	// The same client token gives the same reservation; other parameters are refused.
	again, err := c.CreateCapacityReservation(ctx, &ec2.CreateCapacityReservationInput{
		InstanceType: aws.String("m5.large"), InstancePlatform: ec2types.CapacityReservationInstancePlatformLinuxUnix,
		AvailabilityZone: aws.String("us-east-1a"), InstanceCount: aws.Int32(3),
		InstanceMatchCriteria: ec2types.InstanceMatchCriteriaTargeted, ClientToken: aws.String("tok-1"),
		TagSpecifications: []ec2types.TagSpecification{{
			ResourceType: ec2types.ResourceTypeCapacityReservation,
			Tags:         []ec2types.Tag{{Key: aws.String("team"), Value: aws.String("payments")}, {Key: aws.String("env"), Value: aws.String("prod")}},
		}},
	})
	if err != nil || aws.ToString(again.CapacityReservation.CapacityReservationId) != id {
		t.Errorf("retry with the same token: %v, %v; want %s", err, again, id)
	}
	_, err = c.CreateCapacityReservation(ctx, &ec2.CreateCapacityReservationInput{
		InstanceType: aws.String("m5.large"), InstancePlatform: ec2types.CapacityReservationInstancePlatformLinuxUnix,
		AvailabilityZone: aws.String("us-east-1a"), InstanceCount: aws.Int32(4), ClientToken: aws.String("tok-1"),
	})
	if apiCode(err) != "IdempotentParameterMismatch" {
		t.Errorf("token reuse with other parameters: %v", err)
	}

	// Reservations are regional: eu-west-1 sees none.
	if out, err := client(s, "eu-west-1").DescribeCapacityReservations(ctx, &ec2.DescribeCapacityReservationsInput{}); err != nil || len(out.CapacityReservations) != 0 {
		t.Errorf("eu-west-1: %v, %d reservations", err, len(out.CapacityReservations))
	}

	if _, err := c.ModifyCapacityReservation(ctx, &ec2.ModifyCapacityReservationInput{CapacityReservationId: aws.String(id), InstanceCount: aws.Int32(5)}); err != nil {
		t.Fatalf("modify: %v", err)
	}
	// Tags through CreateTags/DeleteTags, mixed with a resource that moto keeps.
	vpcs, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	if err != nil || len(vpcs.Vpcs) == 0 {
		t.Fatalf("moto's default VPC through the proxy: %v", err)
	}
	vpc := aws.ToString(vpcs.Vpcs[0].VpcId)
	if _, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id, vpc}, Tags: []ec2types.Tag{{Key: aws.String("cost"), Value: aws.String("cc-1")}}}); err != nil {
		t.Fatalf("create tags: %v", err)
	}
	if _, err := c.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{id}, Tags: []ec2types.Tag{{Key: aws.String("env")}}}); err != nil {
		t.Fatalf("delete tags: %v", err)
	}
	vpcs, err = c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{vpc}})
	if err != nil || tagMap(vpcs.Vpcs[0].Tags)["cost"] != "cc-1" {
		t.Errorf("the VPC's tag did not reach moto: %v %v", err, vpcs)
	}

	out, err := c.DescribeCapacityReservations(ctx, &ec2.DescribeCapacityReservationsInput{CapacityReservationIds: []string{id}})
	if err != nil || len(out.CapacityReservations) != 1 {
		t.Fatalf("describe: %v %v", err, out)
	}
	got := out.CapacityReservations[0]
	if aws.ToInt32(got.TotalInstanceCount) != 5 || aws.ToInt32(got.AvailableInstanceCount) != 5 {
		t.Errorf("after modify: total %d available %d, want 5 and 5", aws.ToInt32(got.TotalInstanceCount), aws.ToInt32(got.AvailableInstanceCount))
	}
	if tags := tagMap(got.Tags); len(tags) != 2 || tags["team"] != "payments" || tags["cost"] != "cc-1" {
		t.Errorf("tags after CreateTags/DeleteTags: %v", tags)
	}

	if _, err := c.CancelCapacityReservation(ctx, &ec2.CancelCapacityReservationInput{CapacityReservationId: aws.String(id)}); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	out, err = c.DescribeCapacityReservations(ctx, &ec2.DescribeCapacityReservationsInput{
		Filters: []ec2types.Filter{{Name: aws.String("state"), Values: []string{"cancelled"}}},
	})
	if err != nil || len(out.CapacityReservations) != 1 || out.CapacityReservations[0].State != ec2types.CapacityReservationStateCancelled {
		t.Errorf("describe cancelled: %v %+v", err, out)
	}
	if _, err := c.ModifyCapacityReservation(ctx, &ec2.ModifyCapacityReservationInput{CapacityReservationId: aws.String(id), InstanceCount: aws.Int32(1)}); apiCode(err) != "IncorrectCapacityReservationState" {
		t.Errorf("modify cancelled: %v", err)
	}
}

func TestFiltersPagesAndErrors(t *testing.T) {
	s := start(t)
	ctx := context.Background()
	c := client(s, "us-west-2")
	for i, typ := range []string{"m5.large", "m5.large", "c5.xlarge"} {
		_, err := c.CreateCapacityReservation(ctx, &ec2.CreateCapacityReservationInput{
			InstanceType: aws.String(typ), InstancePlatform: ec2types.CapacityReservationInstancePlatformLinuxUnix,
			AvailabilityZone: aws.String("us-west-2b"), InstanceCount: aws.Int32(int32(i + 1)),
			TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeCapacityReservation, Tags: []ec2types.Tag{{Key: aws.String("n"), Value: aws.String(string(rune('a' + i)))}}}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	count := func(in *ec2.DescribeCapacityReservationsInput) int {
		t.Helper()
		n := 0
		p := ec2.NewDescribeCapacityReservationsPaginator(c, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatalf("describe %+v: %v", in, err)
			}
			n += len(page.CapacityReservations)
		}
		return n
	}
	for name, tc := range map[string]struct {
		in   *ec2.DescribeCapacityReservationsInput
		want int
	}{
		"all, one per page": {&ec2.DescribeCapacityReservationsInput{MaxResults: aws.Int32(1)}, 3},
		"instance type":     {&ec2.DescribeCapacityReservationsInput{Filters: []ec2types.Filter{{Name: aws.String("instance-type"), Values: []string{"m5.large"}}}}, 2},
		"tag":               {&ec2.DescribeCapacityReservationsInput{Filters: []ec2types.Filter{{Name: aws.String("tag:n"), Values: []string{"c", "a"}}}}, 2},
		"tag and type":      {&ec2.DescribeCapacityReservationsInput{Filters: []ec2types.Filter{{Name: aws.String("tag:n"), Values: []string{"c"}}, {Name: aws.String("instance-type"), Values: []string{"m5.large"}}}}, 0},
	} {
		if got := count(tc.in); got != tc.want {
			t.Errorf("%s: %d reservations, want %d", name, got, tc.want)
		}
	}

	for name, tc := range map[string]struct {
		call func() error
		code string
	}{
		"unknown id": {func() error {
			_, err := c.DescribeCapacityReservations(ctx, &ec2.DescribeCapacityReservationsInput{CapacityReservationIds: []string{"cr-0123456789abcdef0"}})
			return err
		}, "InvalidCapacityReservationId.NotFound"},
		"malformed id": {func() error {
			_, err := c.CancelCapacityReservation(ctx, &ec2.CancelCapacityReservationInput{CapacityReservationId: aws.String("i-123")})
			return err
		}, "InvalidCapacityReservationId.Malformed"},
		"unknown filter": {func() error {
			_, err := c.DescribeCapacityReservations(ctx, &ec2.DescribeCapacityReservationsInput{Filters: []ec2types.Filter{{Name: aws.String("colour"), Values: []string{"x"}}}})
			return err
		}, "InvalidParameterValue"},
		"zone of another region": {func() error {
			_, err := c.CreateCapacityReservation(ctx, &ec2.CreateCapacityReservationInput{InstanceType: aws.String("m5.large"), InstancePlatform: ec2types.CapacityReservationInstancePlatformLinuxUnix, AvailabilityZone: aws.String("us-east-1a"), InstanceCount: aws.Int32(1)})
			return err
		}, "InvalidParameterValue"},
		"no zone": {func() error {
			_, err := c.CreateCapacityReservation(ctx, &ec2.CreateCapacityReservationInput{InstanceType: aws.String("m5.large"), InstancePlatform: ec2types.CapacityReservationInstancePlatformLinuxUnix, InstanceCount: aws.Int32(1)})
			return err
		}, "MissingParameter"},
		"zero instances": {func() error {
			_, err := c.CreateCapacityReservation(ctx, &ec2.CreateCapacityReservationInput{InstanceType: aws.String("m5.large"), InstancePlatform: ec2types.CapacityReservationInstancePlatformLinuxUnix, AvailabilityZone: aws.String("us-west-2a"), InstanceCount: aws.Int32(0)})
			return err
		}, "InvalidParameterValue"},
		"dry run": {func() error {
			_, err := c.CancelCapacityReservation(ctx, &ec2.CancelCapacityReservationInput{CapacityReservationId: aws.String("cr-x"), DryRun: aws.Bool(true)})
			return err
		}, "DryRunOperation"},
	} {
		if err := tc.call(); apiCode(err) != tc.code {
			t.Errorf("%s: error %v, want code %s", name, err, tc.code)
		}
	}
}

func TestRulesInjectFaults(t *testing.T) {
	s := start(t)
	ctx := context.Background()
	c := client(s, "us-east-1")
	var seen []string
	s.AddRule(func(call ec2capacity.Call) ec2capacity.Outcome {
		seen = append(seen, call.Region+" "+call.Action)
		if call.Action == "DescribeInstanceTypeOfferings" {
			return ec2capacity.Outcome{Status: 503, Code: "RequestLimitExceeded", Message: "injected"}
		}
		return ec2capacity.Outcome{}
	})
	_, err := c.DescribeInstanceTypeOfferings(ctx, &ec2.DescribeInstanceTypeOfferingsInput{})
	if apiCode(err) != "RequestLimitExceeded" {
		t.Errorf("injected fault: %v", err)
	}
	// A call moto serves goes through the rules as well.
	if _, err := c.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{}); err != nil {
		t.Errorf("proxied call: %v", err)
	}
	if strings.Join(seen, ",") != "us-east-1 DescribeInstanceTypeOfferings,us-east-1 DescribeAvailabilityZones" {
		t.Errorf("rules saw %v", seen)
	}
	s.ClearRules()
	out, err := c.DescribeInstanceTypeOfferings(ctx, &ec2.DescribeInstanceTypeOfferingsInput{
		LocationType: ec2types.LocationTypeRegion,
		Filters:      []ec2types.Filter{{Name: aws.String("instance-type"), Values: []string{"m5.large"}}},
	})
	if err != nil || len(out.InstanceTypeOfferings) != 1 {
		t.Errorf("moto's DescribeInstanceTypeOfferings through the proxy: %v %+v", err, out)
	}
}

func TestRulesInjectLatency(t *testing.T) {
	s := start(t)
	c := client(s, "us-east-1")
	// A delay longer than the caller waits: the call fails on the caller's
	// deadline, and the server drops the request instead of serving it late.
	s.AddRule(func(call ec2capacity.Call) ec2capacity.Outcome {
		if call.Action == "CreateCapacityReservation" {
			return ec2capacity.Outcome{Delay: time.Hour}
		}
		return ec2capacity.Outcome{}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := c.CreateCapacityReservation(ctx, &ec2.CreateCapacityReservationInput{
		InstanceType: aws.String("m5.large"), InstancePlatform: ec2types.CapacityReservationInstancePlatformLinuxUnix,
		AvailabilityZone: aws.String("us-east-1a"), InstanceCount: aws.Int32(1),
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("delayed create: %v, want the caller's deadline", err)
	}
	s.ClearRules()
	out, err := c.DescribeCapacityReservations(context.Background(), &ec2.DescribeCapacityReservationsInput{})
	if err != nil || len(out.CapacityReservations) != 0 {
		t.Errorf("a request dropped during its delay must not create anything: %v %d", err, len(out.CapacityReservations))
	}
}

// A large DescribeCapacityReservations answer (100 reservations, ~100 KB of
// XML) arrives whole, call after call, on one keep-alive connection: the
// server never drops a connection. (With the SDK's HTTP client unguarded,
// this failed on a "use of closed network connection" in about one run of
// three, and the client dialled a new connection every ten calls or so: the
// client's own net/http writeLoop closed them, see awscloud.GuardBodies.)
func TestLargeDescribeArrivesWhole(t *testing.T) {
	s := start(t)
	ctx := context.Background()
	c, dials := countingClient(s, "us-east-1")
	const n = 100
	for i := 0; i < n; i++ {
		_, err := c.CreateCapacityReservation(ctx, &ec2.CreateCapacityReservationInput{
			InstanceType: aws.String("m5.large"), InstancePlatform: ec2types.CapacityReservationInstancePlatformLinuxUnix,
			AvailabilityZone: aws.String("us-east-1a"), InstanceCount: aws.Int32(1),
			TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeCapacityReservation, Tags: []ec2types.Tag{
				{Key: aws.String("team"), Value: aws.String("payments")}, {Key: aws.String("n"), Value: aws.String(strings.Repeat("x", 64))},
			}}},
		})
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
	}
	for round := 1; round <= 20; round++ {
		out, err := c.DescribeCapacityReservations(ctx, &ec2.DescribeCapacityReservationsInput{})
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if len(out.CapacityReservations) != n {
			t.Fatalf("round %d: %d reservations, want %d", round, len(out.CapacityReservations), n)
		}
		// The same in pages, as the batched refresh reads them.
		pages, got := ec2.NewDescribeCapacityReservationsPaginator(c, &ec2.DescribeCapacityReservationsInput{MaxResults: aws.Int32(30)}), 0
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				t.Fatalf("round %d, paged: %v", round, err)
			}
			got += len(page.CapacityReservations)
		}
		if got != n {
			t.Fatalf("round %d, paged: %d reservations, want %d", round, got, n)
		}
	}
	if d := dials.Load(); d != 1 {
		t.Errorf("%d connections for %d sequential calls, want 1", d, n+20*5)
	}
}
