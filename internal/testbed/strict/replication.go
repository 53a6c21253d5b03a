package strict

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
)

// replicationConfig is the part of a PutBucketReplication body the rules
// below look at.
type replicationConfig struct {
	Rules []struct {
		ID                      string    `xml:"ID"`
		Priority                *int      `xml:"Priority"`
		Prefix                  *string   `xml:"Prefix"` // the V1 schema's filter
		Filter                  *struct{} `xml:"Filter"`
		DeleteMarkerReplication *struct {
			Status string `xml:"Status"`
		} `xml:"DeleteMarkerReplication"`
		Destination struct {
			Bucket          string `xml:"Bucket"`
			ReplicationTime *struct {
				Status  string `xml:"Status"`
				Minutes int    `xml:"Time>Minutes"`
			} `xml:"ReplicationTime"`
			Metrics *struct {
				Status  string `xml:"Status"`
				Minutes *int   `xml:"EventThreshold>Minutes"`
			} `xml:"Metrics"`
		} `xml:"Destination"`
	} `xml:"Rule"`
}

// checkReplicationRules: S3 refuses a replication configuration that moto
// takes: a V2 rule (one with a Filter) without Priority or
// DeleteMarkerReplication, and Replication Time Control on a V1 rule, with
// a time other than 15 minutes, or without its metrics (Status Enabled,
// EventThreshold 15 minutes).
func (s *Server) checkReplicationRules(w http.ResponseWriter, r *http.Request, c *call) bool {
	if c.proto != protoS3 || r.Method != http.MethodPut || !c.params.Has("replication") {
		return false
	}
	var cfg replicationConfig
	if xml.Unmarshal(c.body, &cfg) != nil {
		return false // malformed XML is moto's to refuse
	}
	refuse := func(format string, args ...any) bool {
		writeError(w, r, c, apiError{http.StatusBadRequest, "InvalidRequest", fmt.Sprintf(format, args...)})
		return true
	}
	for _, rule := range cfg.Rules {
		v2 := rule.Filter != nil
		if v2 && rule.Priority == nil {
			return refuse("Priority must be specified for this version of Cross Region Replication configuration schema.")
		}
		if v2 && rule.DeleteMarkerReplication == nil {
			return refuse("DeleteMarkerReplication must be specified for this version of Cross Region Replication configuration schema.")
		}
		rt, m := rule.Destination.ReplicationTime, rule.Destination.Metrics
		if rt == nil || !strings.EqualFold(rt.Status, "Enabled") {
			continue
		}
		switch {
		case !v2:
			return refuse("Replication Time Control requires the rule to use a Filter (rule %q): this version of the replication configuration schema does not support it.", rule.ID)
		case rt.Minutes != 15:
			return refuse("Replication Time Control time must be 15 minutes (rule %q has %d).", rule.ID, rt.Minutes)
		case m == nil || !strings.EqualFold(m.Status, "Enabled"):
			return refuse("Replication Time Control must be used in conjunction with Metrics: rule %q enables ReplicationTime without Metrics Status Enabled.", rule.ID)
		case m.Minutes == nil || *m.Minutes != 15:
			return refuse("Metrics EventThreshold must be 15 minutes when Replication Time Control is enabled (rule %q).", rule.ID)
		}
	}
	return false
}
