package blueprint

import "sort"

// awsRegions are the commercial AWS regions. A list, not a lookup, because
// an unknown region must be a plan-time error, not an apply-time timeout.
var awsRegions = map[string]bool{
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
