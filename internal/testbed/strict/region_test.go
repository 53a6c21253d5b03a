package strict_test

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/meridianhq/terraform-provider-meridian/internal/testbed/strict"
)

// TestBucketRegion: S3 serves a bucket only in its region: elsewhere a call
// answers 301 PermanentRedirect naming the region in x-amz-bucket-region,
// GetBucketLocation excepted. moto serves every region.
func TestBucketRegion(t *testing.T) {
	in := func(endpoint, region string) *s3.Client {
		return s3.NewFromConfig(config(endpoint, region, ""), func(o *s3.Options) { o.UsePathStyle = true })
	}
	s := start(t, only(strict.Options{}, strict.BucketRegion))
	_, err := in(s.Endpoint(), "eu-west-1").CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("in-eu"), CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: "eu-west-1"}})
	ok(t, "CreateBucket in eu-west-1", err)
	us := in(s.Endpoint(), "us-east-1")
	_, err = us.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("in-eu")})
	wantCode(t, "ListObjectsV2 signed for us-east-1", err, "PermanentRedirect")
	_, err = us.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("in-eu")})
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != 301 || re.Response.Header.Get("X-Amz-Bucket-Region") != "eu-west-1" {
		t.Errorf("HeadBucket signed for us-east-1: %v, want 301 with x-amz-bucket-region eu-west-1", err)
	}
	loc, err := us.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: aws.String("in-eu")})
	ok(t, "GetBucketLocation signed for us-east-1", err)
	if loc != nil && loc.LocationConstraint != "eu-west-1" {
		t.Errorf("GetBucketLocation = %q", loc.LocationConstraint)
	}
	_, err = in(s.Endpoint(), "eu-west-1").ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("in-eu")})
	ok(t, "ListObjectsV2 in eu-west-1", err)

	s = start(t, none())
	_, err = in(s.Endpoint(), "eu-west-1").CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("in-eu"), CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: "eu-west-1"}})
	ok(t, "CreateBucket in eu-west-1", err)
	_, err = in(s.Endpoint(), "us-east-1").ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("in-eu")})
	ok(t, "ListObjectsV2 signed for us-east-1 with bucket-region off (moto serves it)", err)
}
