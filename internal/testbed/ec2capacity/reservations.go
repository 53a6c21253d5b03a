package ec2capacity

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
)

// defaultAccount is moto's default account id.
const defaultAccount = "123456789012"

type apiError struct {
	status        int
	code, message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func invalid(code, format string, args ...any) error {
	return &apiError{http.StatusBadRequest, code, fmt.Sprintf(format, args...)}
}

type tag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

// reservation is a capacity reservation in EC2's XML shape.
type reservation struct {
	ID                     string     `xml:"capacityReservationId"`
	OwnerID                string     `xml:"ownerId"`
	ARN                    string     `xml:"capacityReservationArn"`
	AvailabilityZoneID     string     `xml:"availabilityZoneId,omitempty"`
	InstanceType           string     `xml:"instanceType"`
	InstancePlatform       string     `xml:"instancePlatform"`
	AvailabilityZone       string     `xml:"availabilityZone"`
	Tenancy                string     `xml:"tenancy"`
	TotalInstanceCount     int        `xml:"totalInstanceCount"`
	AvailableInstanceCount int        `xml:"availableInstanceCount"`
	EbsOptimized           bool       `xml:"ebsOptimized"`
	EphemeralStorage       bool       `xml:"ephemeralStorage"`
	State                  string     `xml:"state"`
	StartDate              string     `xml:"startDate"`
	EndDate                string     `xml:"endDate,omitempty"`
	EndDateType            string     `xml:"endDateType"`
	InstanceMatchCriteria  string     `xml:"instanceMatchCriteria"`
	CreateDate             string     `xml:"createDate"`
	ReservationType        string     `xml:"reservationType"`
	Tags                   []tag      `xml:"tagSet>item"`
	region                 string     `xml:"-"`
	token                  string     `xml:"-"`
	request                url.Values `xml:"-"`
}

type store struct {
	// byKey holds reservations by account/region/id.
	byKey map[string]*reservation
}

func newStore() *store { return &store{byKey: map[string]*reservation{}} }

func key(c Call, id string) string { return c.Account + "/" + c.Region + "/" + id }

func (st *store) get(c Call, id string) (*reservation, error) {
	if !strings.HasPrefix(id, "cr-") {
		return nil, invalid("InvalidCapacityReservationId.Malformed", "Invalid id: %q (expecting \"cr-...\")", id)
	}
	r, ok := st.byKey[key(c, id)]
	if !ok {
		return nil, invalid("InvalidCapacityReservationId.NotFound", "The capacity reservation ID '%s' does not exist", id)
	}
	return r, nil
}

func (st *store) tag(c Call, ids []string, tags []tag, remove bool) error {
	var rs []*reservation
	for _, id := range ids {
		r, err := st.get(c, id)
		if err != nil {
			return err
		}
		rs = append(rs, r)
	}
	for _, r := range rs {
		for _, t := range tags {
			r.Tags = setTag(r.Tags, t, remove)
		}
	}
	return nil
}

func setTag(tags []tag, t tag, remove bool) []tag {
	out := tags[:0:0]
	for _, have := range tags {
		// DeleteTags with a value removes the tag only if the value matches.
		if have.Key == t.Key && (!remove || t.Value == "" || t.Value == have.Value) {
			continue
		}
		out = append(out, have)
	}
	if !remove {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

var (
	platforms = map[string]bool{
		"Linux/UNIX": true, "Red Hat Enterprise Linux": true, "SUSE Linux": true, "Windows": true,
		"Windows with SQL Server": true, "Windows with SQL Server Enterprise": true, "Windows with SQL Server Standard": true,
		"Windows with SQL Server Web": true, "Linux with SQL Server Standard": true, "Linux with SQL Server Web": true,
		"Linux with SQL Server Enterprise": true, "RHEL with SQL Server Standard": true, "RHEL with SQL Server Enterprise": true,
		"RHEL with SQL Server Web": true, "RHEL with HA": true, "RHEL with HA and SQL Server Standard": true,
		"RHEL with HA and SQL Server Enterprise": true, "Ubuntu Pro": true,
	}
	matchCriteria = map[string]bool{"open": true, "targeted": true}
	endDateTypes  = map[string]bool{"unlimited": true, "limited": true}
)

func (s *Server) create(c Call) (any, error) {
	p := c.Params
	if err := dryRun(p); err != nil {
		return nil, err
	}
	for _, name := range []string{"InstanceType", "InstancePlatform", "InstanceCount"} {
		if p.Get(name) == "" {
			return nil, invalid("MissingParameter", "The request must contain the parameter %s", name)
		}
	}
	az := p.Get("AvailabilityZone")
	if az == "" && p.Get("AvailabilityZoneId") == "" {
		return nil, invalid("MissingParameter", "The request must contain the parameter AvailabilityZone or AvailabilityZoneId")
	}
	if az != "" && !strings.HasPrefix(az, c.Region) {
		return nil, invalid("InvalidParameterValue", "Invalid availability zone: [%s]", az)
	}
	count, err := strconv.Atoi(p.Get("InstanceCount"))
	if err != nil || count < 1 {
		return nil, invalid("InvalidParameterValue", "InstanceCount must be a positive integer, got %q", p.Get("InstanceCount"))
	}
	if !platforms[p.Get("InstancePlatform")] {
		return nil, invalid("InvalidParameterValue", "Invalid value '%s' for InstancePlatform", p.Get("InstancePlatform"))
	}
	r := &reservation{
		OwnerID: c.Account, InstanceType: p.Get("InstanceType"), InstancePlatform: p.Get("InstancePlatform"),
		AvailabilityZone: az, AvailabilityZoneID: p.Get("AvailabilityZoneId"),
		Tenancy: or(p.Get("Tenancy"), "default"), TotalInstanceCount: count, AvailableInstanceCount: count,
		EbsOptimized: p.Get("EbsOptimized") == "true", EphemeralStorage: p.Get("EphemeralStorage") == "true",
		State: "active", EndDateType: or(p.Get("EndDateType"), "unlimited"), EndDate: p.Get("EndDate"),
		InstanceMatchCriteria: or(p.Get("InstanceMatchCriteria"), "open"), ReservationType: "default",
		region: c.Region, token: p.Get("ClientToken"), request: withoutToken(p),
	}
	if !matchCriteria[r.InstanceMatchCriteria] {
		return nil, invalid("InvalidParameterValue", "Invalid value '%s' for InstanceMatchCriteria", r.InstanceMatchCriteria)
	}
	if err := checkEnd(r.EndDateType, r.EndDate); err != nil {
		return nil, err
	}
	for _, spec := range tagSpecifications(p) {
		if spec.resourceType != "capacity-reservation" {
			return nil, invalid("InvalidParameterValue", "'%s' is not a valid taggable resource type for this operation.", spec.resourceType)
		}
		for _, t := range spec.tags {
			r.Tags = setTag(r.Tags, t, false)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if r.token != "" {
		for _, have := range s.store.byKey {
			if have.token == r.token && have.region == c.Region && have.OwnerID == c.Account {
				if !equalValues(have.request, r.request) {
					return nil, invalid("IdempotentParameterMismatch", "The client token %s was used with different parameters", r.token)
				}
				return itemResponse{XMLName: xmlName("CreateCapacityReservationResponse"), RequestID: requestID(), Reservation: *have}, nil
			}
		}
	}
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	r.ID = "cr-" + randomHex(17)
	r.ARN = blueprint.ARN(c.Region, "ec2", c.Region, c.Account, "capacity-reservation/"+r.ID)
	r.StartDate, r.CreateDate = now, now
	s.store.byKey[key(c, r.ID)] = r
	return itemResponse{XMLName: xmlName("CreateCapacityReservationResponse"), RequestID: requestID(), Reservation: *r}, nil
}

func checkEnd(typ, end string) error {
	if !endDateTypes[typ] {
		return invalid("InvalidParameterValue", "Invalid value '%s' for EndDateType", typ)
	}
	if typ == "limited" && end == "" {
		return invalid("InvalidParameterCombination", "EndDate is required when EndDateType is limited")
	}
	if typ == "unlimited" && end != "" {
		return invalid("InvalidParameterCombination", "EndDate cannot be specified when EndDateType is unlimited")
	}
	return nil
}

// describeFilters are the DescribeCapacityReservations filters served here.
var describeFilters = map[string]func(*reservation) string{
	"instance-type":           func(r *reservation) string { return r.InstanceType },
	"owner-id":                func(r *reservation) string { return r.OwnerID },
	"availability-zone":       func(r *reservation) string { return r.AvailabilityZone },
	"instance-platform":       func(r *reservation) string { return r.InstancePlatform },
	"tenancy":                 func(r *reservation) string { return r.Tenancy },
	"state":                   func(r *reservation) string { return r.State },
	"end-date-type":           func(r *reservation) string { return r.EndDateType },
	"instance-match-criteria": func(r *reservation) string { return r.InstanceMatchCriteria },
}

func (s *Server) describe(c Call) (any, error) {
	p := c.Params
	if err := dryRun(p); err != nil {
		return nil, err
	}
	filters := filterParams(p)
	for _, f := range filters {
		if _, ok := describeFilters[f.name]; !ok && !strings.HasPrefix(f.name, "tag:") && f.name != "tag-key" {
			return nil, invalid("InvalidParameterValue", "The filter '%s' is invalid", f.name)
		}
	}
	ids := indexed(p, "CapacityReservationId")
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []reservation
	if len(ids) > 0 {
		for _, id := range ids {
			r, err := s.store.get(c, id)
			if err != nil {
				return nil, err
			}
			if matches(r, filters) {
				out = append(out, *r)
			}
		}
	} else {
		for _, r := range s.store.byKey {
			if r.region == c.Region && r.OwnerID == c.Account && matches(r, filters) {
				out = append(out, *r)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreateDate+out[i].ID < out[j].CreateDate+out[j].ID })
	// Pagination: NextToken is the index of the next item.
	first := 0
	if t := p.Get("NextToken"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 || n > len(out) {
			return nil, invalid("InvalidParameterValue", "Invalid NextToken %q", t)
		}
		first = n
	}
	resp := setResponse{RequestID: requestID()}
	last := len(out)
	if m := p.Get("MaxResults"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 1 || n > 1000 {
			return nil, invalid("InvalidParameterValue", "MaxResults must be between 1 and 1000, got %q", m)
		}
		if first+n < last {
			last = first + n
			resp.NextToken = strconv.Itoa(last)
		}
	}
	resp.Reservations = out[first:last]
	return resp, nil
}

func matches(r *reservation, filters []filter) bool {
	for _, f := range filters {
		var have []string
		switch {
		case f.name == "tag-key":
			for _, t := range r.Tags {
				have = append(have, t.Key)
			}
		case strings.HasPrefix(f.name, "tag:"):
			for _, t := range r.Tags {
				if t.Key == strings.TrimPrefix(f.name, "tag:") {
					have = append(have, t.Value)
				}
			}
		default:
			have = []string{describeFilters[f.name](r)}
		}
		if !anyEqual(have, f.values) {
			return false
		}
	}
	return true
}

func anyEqual(have, want []string) bool {
	for _, h := range have {
		for _, w := range want {
			if h == w {
				return true
			}
		}
	}
	return false
}

func (s *Server) modify(c Call) (any, error) {
	p := c.Params
	if err := dryRun(p); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.store.get(c, p.Get("CapacityReservationId"))
	if err != nil {
		return nil, err
	}
	if r.State != "active" {
		return nil, invalid("IncorrectCapacityReservationState", "The capacity reservation %s is in state %s and cannot be modified", r.ID, r.State)
	}
	next := *r
	if v := p.Get("InstanceCount"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, invalid("InvalidParameterValue", "InstanceCount must be a positive integer, got %q", v)
		}
		used := r.TotalInstanceCount - r.AvailableInstanceCount
		if n < used {
			return nil, invalid("InvalidParameterValue", "InstanceCount %d is below the %d instances running in the reservation", n, used)
		}
		next.TotalInstanceCount, next.AvailableInstanceCount = n, n-used
	}
	if v := p.Get("EndDateType"); v != "" {
		next.EndDateType, next.EndDate = v, p.Get("EndDate")
	} else if v := p.Get("EndDate"); v != "" {
		next.EndDate = v
	}
	if err := checkEnd(next.EndDateType, next.EndDate); err != nil {
		return nil, err
	}
	if v := p.Get("InstanceMatchCriteria"); v != "" {
		if !matchCriteria[v] {
			return nil, invalid("InvalidParameterValue", "Invalid value '%s' for InstanceMatchCriteria", v)
		}
		next.InstanceMatchCriteria = v
	}
	*r = next
	return returnResponse{XMLName: xmlName("ModifyCapacityReservationResponse"), RequestID: requestID(), Return: true}, nil
}

func (s *Server) cancel(c Call) (any, error) {
	p := c.Params
	if err := dryRun(p); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.store.get(c, p.Get("CapacityReservationId"))
	if err != nil {
		return nil, err
	}
	if r.State != "active" {
		return nil, invalid("IncorrectCapacityReservationState", "The capacity reservation %s is in state %s and cannot be cancelled", r.ID, r.State)
	}
	// EC2 keeps describing a cancelled reservation for a while, in state cancelled.
	r.State, r.AvailableInstanceCount = "cancelled", 0
	return returnResponse{XMLName: xmlName("CancelCapacityReservationResponse"), RequestID: requestID(), Return: true}, nil
}

func dryRun(p url.Values) error {
	if p.Get("DryRun") == "true" {
		return &apiError{http.StatusPreconditionFailed, "DryRunOperation", "Request would have succeeded, but DryRun flag is set."}
	}
	return nil
}

// Query API parameter shapes.

// indexed returns the values of a flattened list: Name.1, Name.2, ...
func indexed(p url.Values, name string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := p[name+"."+strconv.Itoa(i)]
		if !ok {
			return out
		}
		out = append(out, v[0])
	}
}

// tagParams reads Name.N.Key / Name.N.Value.
func tagParams(p url.Values, name string) []tag {
	var out []tag
	for i := 1; ; i++ {
		prefix := name + "." + strconv.Itoa(i) + "."
		if _, ok := p[prefix+"Key"]; !ok {
			return out
		}
		out = append(out, tag{Key: p.Get(prefix + "Key"), Value: p.Get(prefix + "Value")})
	}
}

type tagSpec struct {
	resourceType string
	tags         []tag
}

// tagSpecifications reads TagSpecifications.N.ResourceType and
// TagSpecifications.N.Tag.M.Key/Value (the SDK's spelling; the EC2 docs use
// TagSpecification.N).
func tagSpecifications(p url.Values) []tagSpec {
	var out []tagSpec
	for _, name := range []string{"TagSpecifications", "TagSpecification"} {
		for i := 1; ; i++ {
			prefix := name + "." + strconv.Itoa(i) + "."
			rt, ok := p[prefix+"ResourceType"]
			if !ok {
				break
			}
			out = append(out, tagSpec{resourceType: rt[0], tags: tagParams(p, prefix+"Tag")})
		}
	}
	return out
}

type filter struct {
	name   string
	values []string
}

func filterParams(p url.Values) []filter {
	var out []filter
	for i := 1; ; i++ {
		prefix := "Filter." + strconv.Itoa(i) + "."
		if _, ok := p[prefix+"Name"]; !ok {
			return out
		}
		out = append(out, filter{name: p.Get(prefix + "Name"), values: indexed(p, prefix+"Value")})
	}
}

func withoutToken(p url.Values) url.Values {
	out := url.Values{}
	for k, v := range p {
		if k != "ClientToken" {
			out[k] = v
		}
	}
	return out
}

func equalValues(a, b url.Values) bool { return a.Encode() == b.Encode() }

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)[:n]
}

func requestID() string {
	h := randomHex(32)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// Responses.

const ec2Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"

func xmlName(local string) xml.Name { return xml.Name{Space: ec2Namespace, Local: local} }

type itemResponse struct {
	XMLName     xml.Name
	RequestID   string      `xml:"requestId"`
	Reservation reservation `xml:"capacityReservation"`
}

type setResponse struct {
	XMLName      xml.Name      `xml:"http://ec2.amazonaws.com/doc/2016-11-15/ DescribeCapacityReservationsResponse"`
	RequestID    string        `xml:"requestId"`
	Reservations []reservation `xml:"capacityReservationSet>item"`
	NextToken    string        `xml:"nextToken,omitempty"`
}

type returnResponse struct {
	XMLName   xml.Name
	RequestID string `xml:"requestId"`
	Return    bool   `xml:"return"`
}

func writeXML(w http.ResponseWriter, v any) {
	b, err := xml.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	_, _ = w.Write(append([]byte(xml.Header), b...))
}

// writeError answers in EC2's error shape, which the SDK turns into an API error with this code.
func writeError(w http.ResponseWriter, status int, code, message string) {
	type errXML struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	b, _ := xml.Marshal(struct {
		XMLName   xml.Name `xml:"Response"`
		Errors    []errXML `xml:"Errors>Error"`
		RequestID string   `xml:"RequestID"`
	}{Errors: []errXML{{code, message}}, RequestID: requestID()})
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(append([]byte(xml.Header), b...))
}
