package aws

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwschemas "github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"

	"github.com/meridianhq/terraform-provider-meridian/internal/forecast"
)

// MetricQuery names a CloudWatch metric and a fixed window of its history.
type MetricQuery struct {
	Region     string
	Namespace  string
	MetricName string
	Dimensions map[string]string
	// Statistic is Average, Sum, Maximum, Minimum or SampleCount.
	Statistic  string
	Start, End time.Time
	Period     time.Duration
}

// maxDatapoints is the most GetMetricStatistics returns for one call.
const maxDatapoints = 1440

// cloudWatch is a client per call: demand history is read once per plan,
// so there is nothing worth caching.
func (c *Cloud) cloudWatch(region string) *cloudwatch.Client {
	return cloudwatch.NewFromConfig(c.base, func(o *cloudwatch.Options) {
		o.Region = regionOf(region)
		o.BaseEndpoint = c.endpoint("cloudwatch")
		// CloudWatch clients speak CBOR by default, which moto and older
		// endpoints answer with a 404; the query protocol works everywhere.
		o.Protocol = awsquery.New(cwschemas.GraniteServiceVersion20100801)
	})
}

// MetricHistory reads a metric's statistic at every period of [Start, End)
// with GetMetricStatistics, as a demand history. A period with no datapoint
// is an error naming it: guessing a value would shift or flatten the
// forecast without anyone knowing.
func (c *Cloud) MetricHistory(ctx context.Context, q MetricQuery) (forecast.Series, error) {
	if q.Period < time.Minute || q.Period%time.Minute != 0 {
		return forecast.Series{}, fmt.Errorf("cloudwatch: the step %s must be a whole number of minutes", q.Period)
	}
	if !q.End.After(q.Start) {
		return forecast.Series{}, fmt.Errorf("cloudwatch: end_time %s is not after start_time %s", q.End.Format(time.RFC3339), q.Start.Format(time.RFC3339))
	}
	var dims []cwtypes.Dimension
	for _, k := range sortedKeys(q.Dimensions) {
		dims = append(dims, cwtypes.Dimension{Name: aws.String(k), Value: aws.String(q.Dimensions[k])})
	}
	client := c.cloudWatch(q.Region)
	// Datapoints go to the period they fall in: CloudWatch stamps them at the
	// period's start, moto at an offset from the first sample.
	values := map[int]float64{}
	chunk := maxDatapoints * q.Period
	for from := q.Start; from.Before(q.End); from = from.Add(chunk) {
		to := from.Add(chunk)
		if to.After(q.End) {
			to = q.End
		}
		out, err := client.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
			Namespace: aws.String(q.Namespace), MetricName: aws.String(q.MetricName), Dimensions: dims,
			StartTime: aws.Time(from), EndTime: aws.Time(to), Period: aws.Int32(int32(q.Period / time.Second)),
			Statistics: []cwtypes.Statistic{cwtypes.Statistic(q.Statistic)},
		})
		if err != nil {
			return forecast.Series{}, fmt.Errorf("cloudwatch GetMetricStatistics %s/%s: %w", q.Namespace, q.MetricName, classify(err))
		}
		for _, dp := range out.Datapoints {
			v, ok := statistic(dp, q.Statistic)
			if ok && dp.Timestamp != nil && !dp.Timestamp.Before(q.Start) {
				values[int(dp.Timestamp.Sub(q.Start)/q.Period)] = v
			}
		}
	}
	s := forecast.Series{Start: q.Start, Step: q.Period}
	var missing []string
	for i, t := 0, q.Start; t.Before(q.End); i, t = i+1, t.Add(q.Period) {
		v, ok := values[i]
		if !ok {
			missing = append(missing, t.UTC().Format(time.RFC3339))
			continue
		}
		s.Values = append(s.Values, v)
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return forecast.Series{}, fmt.Errorf("cloudwatch %s/%s has no %s datapoint for %d of the %s periods from %s, the first at %s; choose a window where the metric was reported throughout",
			q.Namespace, q.MetricName, q.Statistic, len(missing), q.Period, q.Start.UTC().Format(time.RFC3339), missing[0])
	}
	return s, nil
}

func statistic(dp cwtypes.Datapoint, name string) (float64, bool) {
	var v *float64
	switch cwtypes.Statistic(name) {
	case cwtypes.StatisticAverage:
		v = dp.Average
	case cwtypes.StatisticSum:
		v = dp.Sum
	case cwtypes.StatisticMaximum:
		v = dp.Maximum
	case cwtypes.StatisticMinimum:
		v = dp.Minimum
	case cwtypes.StatisticSampleCount:
		v = dp.SampleCount
	}
	if v == nil {
		return 0, false
	}
	return *v, true
}
