package deploy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	awscloud "github.com/meridianhq/terraform-provider-meridian/internal/cloud/aws"
	"github.com/meridianhq/terraform-provider-meridian/internal/forecast"
)

// CapacityInputs are what a capacity reservation names beyond its
// blueprint: the files and the metric its demand history and prices come
// from. At most one of Values (in the blueprint), CSVFile and CloudWatch
// holds the history.
type CapacityInputs struct {
	PriceTable string // a price table file; "" is blueprint.DefaultPrices
	CSVFile    string // timestamp,value rows
	CloudWatch *CloudWatchDemand
}

// CloudWatchDemand is a demand history in a CloudWatch metric, as written.
type CloudWatchDemand struct {
	Region, Namespace, MetricName, Statistic, StartTime, EndTime string
	Dimensions                                                   map[string]string
}

// Metrics reads a metric's history: AWS CloudWatch.
type Metrics interface {
	MetricHistory(ctx context.Context, q awscloud.MetricQuery) (forecast.Series, error)
}

// ResolveCapacity fills c's demand history from the inputs, reads the price
// table and checks the rules that need no forecast (Plan checks the rest).
// metrics may be nil when no cloud is configured; a CloudWatch history is
// then a problem at demand.cloudwatch.
func ResolveCapacity(ctx context.Context, c *blueprint.Capacity, in CapacityInputs, metrics Metrics) (blueprint.PriceTable, []blueprint.Problem) {
	var ps []blueprint.Problem
	fail := func(path, summary, detail string) {
		ps = append(ps, blueprint.Problem{Paths: []string{path}, Summary: summary, Detail: detail})
	}
	prices := blueprint.DefaultPrices()
	if in.PriceTable != "" {
		b, err := os.ReadFile(in.PriceTable)
		if err == nil {
			prices, err = blueprint.ParsePrices(b)
		}
		if err != nil {
			fail("price_table", "Cannot read price table", err.Error())
		}
	}
	switch {
	case in.CSVFile != "":
		ps = append(ps, readCSV(in.CSVFile, &c.Demand)...)
	case in.CloudWatch != nil:
		ps = append(ps, readCloudWatch(ctx, metrics, c.PrimaryRegion, *in.CloudWatch, &c.Demand)...)
	}
	if len(ps) > 0 {
		return prices, ps
	}
	return prices, c.WithDefaults().Validate(prices)
}

// readCSV fills demand from a CSV file. Timestamps in the file must be the
// declared step apart; they set the start.
func readCSV(file string, d *blueprint.Demand) []blueprint.Problem {
	fail := func(path, summary, detail string) []blueprint.Problem {
		return []blueprint.Problem{{Paths: []string{path}, Summary: summary, Detail: detail}}
	}
	f, err := os.Open(file)
	if err != nil {
		return fail("demand.csv_file", "Cannot read demand history", err.Error())
	}
	defer f.Close()
	s, err := forecast.ReadCSV(f, 0)
	if err != nil {
		return fail("demand.csv_file", "Cannot read demand history", file+": "+err.Error())
	}
	if !s.Start.IsZero() {
		step := blueprint.Capacity{Demand: *d}.WithDefaults().Demand.Step
		if want, months, err := blueprint.DemandStep(step); err == nil && len(s.Values) > 1 && (s.Months != months || months == 0 && s.Step != want) {
			apart := s.Step.String()
			if s.Months > 0 {
				apart = fmt.Sprintf("%d calendar month(s) (%dmo)", s.Months, s.Months)
			}
			return fail("demand.step", "Step does not match the history", fmt.Sprintf("%s has rows %s apart, but demand.step is %s.", file, apart, step))
		}
		if d.Start == "" {
			d.Start = s.Start.UTC().Format(time.RFC3339)
		}
	} else if d.Start == "" {
		// Without a start the season's peaks have no clock time and the
		// review date is counted from year 1.
		return fail("demand.start", "Missing start of the demand history", file+" has values without timestamps: set demand.start (--start) to the RFC 3339 time of its first value, e.g. 2026-09-01T00:00:00Z, or add timestamps to the file.")
	}
	d.Values = s.Values
	return nil
}

// readCloudWatch fills demand from a CloudWatch metric over a fixed window.
func readCloudWatch(ctx context.Context, metrics Metrics, primary string, cw CloudWatchDemand, d *blueprint.Demand) []blueprint.Problem {
	var ps []blueprint.Problem
	fail := func(path, summary, detail string) {
		ps = append(ps, blueprint.Problem{Paths: []string{path}, Summary: summary, Detail: detail})
	}
	q := awscloud.MetricQuery{Region: cw.Region, Namespace: cw.Namespace, MetricName: cw.MetricName, Statistic: cw.Statistic, Dimensions: cw.Dimensions}
	if q.Region == "" {
		q.Region = primary
	}
	if q.Statistic == "" {
		q.Statistic = "Average"
	}
	for _, t := range []struct {
		name, v string
		into    *time.Time
	}{{"start_time", cw.StartTime, &q.Start}, {"end_time", cw.EndTime, &q.End}} {
		parsed, err := time.Parse(time.RFC3339, t.v)
		if err != nil {
			fail("demand.cloudwatch."+t.name, "Invalid time", fmt.Sprintf("%q is not an RFC 3339 time such as 2026-09-01T00:00:00Z; the window must be fixed so that every plan sees the same history.", t.v))
		}
		*t.into = parsed
	}
	if q.Namespace == "" || q.MetricName == "" {
		fail("demand.cloudwatch", "Missing metric", "namespace and metric_name are required in the cloudwatch block.")
	}
	step, err := blueprint.ParsePeriod(blueprint.Capacity{Demand: *d}.WithDefaults().Demand.Step)
	if err != nil {
		fail("demand.step", "Invalid step", err.Error())
	}
	if len(ps) > 0 {
		return ps
	}
	if metrics == nil {
		fail("demand.cloudwatch", "No AWS configured", "reading demand from CloudWatch needs an aws configuration (the provider's aws block, or the stack's provider block).")
		return ps
	}
	q.Period = step
	s, err := metrics.MetricHistory(ctx, q)
	if err != nil {
		fail("demand.cloudwatch", "Cannot read demand history", err.Error())
		return ps
	}
	d.Values = s.Values
	if d.Start == "" {
		d.Start = s.Start.UTC().Format(time.RFC3339)
	}
	return ps
}

// Offerings chooses the availability zone of a region that offers a set
// of instance types (awscloud.Cloud.CapacityZone).
type Offerings interface {
	CapacityZone(ctx context.Context, region string, types []string) (string, error)
}

// CheckOfferings chooses, per region, the availability zone the capacity
// reservation and its group go to (the first available zone that offers
// every instance type), for compile through blueprint.Capacity.Zones. A
// region where no zone offers them all is a problem at instance_types,
// found before anything is planned: otherwise an apply would fail half
// way, with the rest already changed. An endpoint that does not serve the
// calls gives a warning, and that region no zone.
func CheckOfferings(ctx context.Context, offerings Offerings, c blueprint.Capacity) (map[string]string, []blueprint.Problem) {
	var ps []blueprint.Problem
	add := func(warning bool, summary, detail string) {
		ps = append(ps, blueprint.Problem{Paths: []string{"instance_types"}, Summary: summary, Detail: detail, Warning: warning})
	}
	zones := map[string]string{}
	for _, region := range []string{c.PrimaryRegion, c.SecondaryRegion} {
		zone, err := offerings.CapacityZone(ctx, region, c.InstanceTypes)
		switch {
		case errors.Is(err, awscloud.ErrUnsupported):
			add(true, "Instance type offerings not checked", fmt.Sprintf("the endpoint does not serve DescribeAvailabilityZones or DescribeInstanceTypeOfferings in %s: %v", region, err))
		case errors.Is(err, awscloud.ErrNotOffered):
			add(false, "Instance type not offered", fmt.Sprintf("%v (DescribeInstanceTypeOfferings), so no capacity can be reserved there; choose types offered in both regions.", err))
		case err != nil:
			add(false, "Cannot check instance type offerings", fmt.Sprintf("%s: %v", region, err))
		default:
			zones[region] = zone
		}
	}
	return zones, ps
}

// Problems are the problems found in one resource, for a front end to
// place at its attributes: terraform at the attribute path, the CLI at the
// file and line where the attribute is written.
type Problems struct {
	Type, Name string // the resource type and its name attribute
	List       []blueprint.Problem
}

func (p *Problems) Error() string {
	var lines []string
	for _, pr := range p.List {
		lines = append(lines, fmt.Sprintf("%s %s: %s: %s", p.Type, p.Name, pr.Paths[0], pr.Detail))
	}
	return strings.Join(lines, "\n")
}
