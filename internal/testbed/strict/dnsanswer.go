package strict

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// The Route 53 TestDNSAnswer stand-in. moto 5.2.1 does not implement
// TestDNSAnswer, and its health checks always report Success, so nothing on
// it says what a client would be answered after a failover. The layer
// answers GET /2013-04-01/testdnsanswer as Route 53 resolves a failover
// record set: the PRIMARY record when its health check is healthy, else the
// SECONDARY one. A health check is healthy unless it is Inverted (moto's
// checkers always succeed, and Inverted turns that into a failure, as it
// does on AWS) or Disabled and Inverted. Plain records are answered as they
// are.
//
// What it does not do: alias targets are answered with the alias's DNS name
// rather than resolved; no latency, weighted or geolocation routing (the
// first matching record wins); a SECONDARY's own health check is not
// consulted (Route 53 answers the secondary when both fail anyway); no real
// health checkers, so a health check fails only through Inverted.
func (s *Server) serveDNSAnswer(w http.ResponseWriter, r *http.Request, c *call) bool {
	if c.proto != protoRestXML || r.Method != http.MethodGet || r.URL.Path != "/2013-04-01/testdnsanswer" {
		return false
	}
	q := r.URL.Query()
	zone, name, typ := q.Get("hostedzoneid"), strings.TrimSuffix(q.Get("recordname"), ".")+".", q.Get("recordtype")
	var page struct {
		Sets []struct {
			Name          string   `xml:"Name"`
			Type          string   `xml:"Type"`
			Failover      string   `xml:"Failover"`
			HealthCheckID string   `xml:"HealthCheckId"`
			Values        []string `xml:"ResourceRecords>ResourceRecord>Value"`
			Alias         string   `xml:"AliasTarget>DNSName"`
		} `xml:"ResourceRecordSets>ResourceRecordSet"`
	}
	if err := s.motoXML(r, "/2013-04-01/hostedzone/"+strings.TrimPrefix(zone, "/hostedzone/")+"/rrset", url.Values{"name": {name}, "type": {typ}}, &page); err != nil {
		writeError(w, r, c, apiError{http.StatusBadRequest, "NoSuchHostedZone", "strict layer: " + err.Error()})
		return true
	}
	var answer, primary, secondary []string
	found := false
	for _, set := range page.Sets {
		if !strings.EqualFold(strings.TrimSuffix(set.Name, "."), strings.TrimSuffix(name, ".")) || set.Type != typ {
			continue
		}
		values := set.Values
		if set.Alias != "" {
			values = []string{set.Alias}
		}
		switch set.Failover {
		case "PRIMARY":
			healthy, err := s.healthy(r, set.HealthCheckID)
			if err != nil {
				writeError(w, r, c, apiError{http.StatusInternalServerError, "InternalFailure", "strict layer: " + err.Error()})
				return true
			}
			if healthy {
				primary = values
			}
		case "SECONDARY":
			secondary = values
		default:
			if !found {
				answer = values
			}
		}
		found = true
	}
	switch {
	case primary != nil:
		answer = primary
	case secondary != nil:
		answer = secondary
	}
	code := "NOERROR"
	if !found {
		code = "NXDOMAIN"
	}
	type resp struct {
		XMLName      xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ TestDNSAnswerResponse"`
		Nameserver   string   `xml:"Nameserver"`
		RecordName   string   `xml:"RecordName"`
		RecordType   string   `xml:"RecordType"`
		RecordData   []string `xml:"RecordData>RecordDataEntry"`
		ResponseCode string   `xml:"ResponseCode"`
		Protocol     string   `xml:"Protocol"`
	}
	body := xmlBody(resp{Nameserver: "ns-1.strict.testbed", RecordName: name, RecordType: typ, RecordData: answer, ResponseCode: code, Protocol: "UDP"})
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	return true
}

// healthy says whether Route 53 would see health check id healthy; a record
// without one is always healthy.
func (s *Server) healthy(r *http.Request, id string) (bool, error) {
	if id == "" {
		return true, nil
	}
	var hc struct {
		Inverted bool `xml:"HealthCheck>HealthCheckConfig>Inverted"`
		Disabled bool `xml:"HealthCheck>HealthCheckConfig>Disabled"`
	}
	if err := s.motoXML(r, "/2013-04-01/healthcheck/"+id, nil, &hc); err != nil {
		return false, fmt.Errorf("health check %s: %w", id, err)
	}
	// moto's checkers always succeed; a disabled check is healthy by
	// definition, and Inverted flips either.
	return !hc.Inverted, nil
}
