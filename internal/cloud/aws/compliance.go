package aws

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/resourcegroupstaggingapi"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
)

// Tagged is a resource of the account and its tags, whoever created it.
type Tagged struct {
	ARN    string
	Type   string // service:resource, e.g. "s3:bucket"
	Region string
	Tags   map[string]string
}

// TaggedResources lists the account's resources in the given regions with
// their tags. The Resource Groups Tagging API lists only resources that
// carry or once carried tags, so buckets, the resource a bill most often
// cannot attribute, are listed from S3 itself as well, tagged or not.
func (c *Cloud) TaggedResources(ctx context.Context, regions []string) ([]Tagged, error) {
	found := map[string]Tagged{}
	for _, region := range regions {
		client := resourcegroupstaggingapi.NewFromConfig(c.base, func(o *resourcegroupstaggingapi.Options) {
			o.Region = region
			o.BaseEndpoint = c.endpoint("resourcegroupstaggingapi")
		})
		pages := resourcegroupstaggingapi.NewGetResourcesPaginator(client, &resourcegroupstaggingapi.GetResourcesInput{})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("tagging API in %s: %w", region, classify(err))
			}
			for _, m := range page.ResourceTagMappingList {
				t := Tagged{ARN: aws.ToString(m.ResourceARN), Region: region, Tags: map[string]string{}}
				t.Type = arnType(t.ARN)
				for _, tag := range m.Tags {
					t.Tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
				}
				found[t.ARN] = t
			}
		}
	}
	wanted := map[string]bool{}
	for _, r := range regions {
		wanted[r] = true
	}
	client := c.S3(c.globalRegion())
	out, err := client.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		return nil, fmt.Errorf("list buckets: %w", classify(err))
	}
	for _, b := range out.Buckets {
		name := aws.ToString(b.Name)
		loc, err := client.GetBucketLocation(ctx, &s3.GetBucketLocationInput{Bucket: b.Name})
		if err != nil {
			return nil, fmt.Errorf("location of bucket %s: %w", name, classify(err))
		}
		region := string(loc.LocationConstraint)
		if region == "" {
			region = globalRegion
		}
		if !wanted[region] {
			continue
		}
		tags, err := bucketTags(ctx, c.S3(region), name)
		if err != nil {
			return nil, fmt.Errorf("bucket %s: %w", name, err)
		}
		arn := blueprint.ARN(region, "s3", "", "", name)
		found[arn] = Tagged{ARN: arn, Type: "s3:bucket", Region: region, Tags: tags}
	}
	list := make([]Tagged, 0, len(found))
	for _, t := range found {
		list = append(list, t)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ARN < list[j].ARN })
	return list, nil
}

// arnType turns arn:aws:SERVICE:region:account:RESOURCE-TYPE/... into "SERVICE:RESOURCE-TYPE".
func arnType(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	resource := parts[5]
	if i := strings.IndexAny(resource, "/:"); i >= 0 {
		resource = resource[:i]
	}
	if parts[2] == "s3" {
		resource = "bucket"
	}
	return parts[2] + ":" + resource
}
