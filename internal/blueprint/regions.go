package blueprint

import (
	"sort"
	"strings"
)

// awsRegions are the AWS regions: the commercial ones, China's (partition
// aws-cn) and GovCloud's (aws-us-gov). A list, not a lookup, because an
// unknown region must be a plan-time error, not an apply-time timeout.
var awsRegions = map[string]bool{
	"cn-north-1": true, "cn-northwest-1": true, "us-gov-east-1": true, "us-gov-west-1": true,
	"af-south-1": true, "ap-east-1": true, "ap-northeast-1": true, "ap-northeast-2": true,
	"ap-northeast-3": true, "ap-south-1": true, "ap-south-2": true, "ap-southeast-1": true,
	"ap-southeast-2": true, "ap-southeast-3": true, "ap-southeast-4": true, "ap-southeast-5": true,
	"ap-southeast-7": true, "ca-central-1": true, "ca-west-1": true, "eu-central-1": true,
	"eu-central-2": true, "eu-north-1": true, "eu-south-1": true, "eu-south-2": true,
	"eu-west-1": true, "eu-west-2": true, "eu-west-3": true, "il-central-1": true,
	"me-central-1": true, "me-south-1": true, "mx-central-1": true, "sa-east-1": true,
	"us-east-1": true, "us-east-2": true, "us-west-1": true, "us-west-2": true,
}

// KnownRegion reports whether name is an AWS region.
func KnownRegion(name string) bool { return awsRegions[name] }

// Regions lists the known regions, sorted.
func Regions() []string {
	out := make([]string, 0, len(awsRegions))
	for r := range awsRegions {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// Partition is the AWS partition a region belongs to: the first field of
// every ARN in it. A region outside China and GovCloud, or none, is in "aws".
func Partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// ARN names an AWS resource, arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE,
// in the partition of the region `in`. region and account are empty where
// the service leaves them out (an S3 bucket, an AWS managed IAM policy has
// account "aws"), but the ARN still belongs to the partition of the region
// the resource is used from: every ARN meridian builds goes through here.
func ARN(in, service, region, account, resource string) string {
	return "arn:" + Partition(in) + ":" + service + ":" + region + ":" + account + ":" + resource
}
