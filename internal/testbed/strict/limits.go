package strict

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// AWS's tag limits (the same in every service the drivers tag), and Route
// 53's limit on tags added in one ChangeTagsForResource.
const (
	MaxTagKey       = 128
	MaxTagValue     = 256
	MaxTags         = 50
	MaxRoute53Tags  = 10
	MaxStandardSSM  = 4096
	MaxAdvancedSSM  = 8192
	maxShownInError = 40
)

// checkParameterSize: SSM refuses a value over its tier's size.
func (s *Server) checkParameterSize(w http.ResponseWriter, r *http.Request, c *call) bool {
	if c.service != "ssm" || c.op != "PutParameter" || c.json == nil {
		return false
	}
	value, tier := str(c.json, "Value"), str(c.json, "Tier")
	switch {
	case len(value) > MaxAdvancedSSM:
		writeError(w, r, c, apiError{http.StatusBadRequest, "ValidationException",
			fmt.Sprintf("1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length less than or equal to %d (the value is %d bytes)", MaxAdvancedSSM, len(value))})
		return true
	case len(value) > MaxStandardSSM && tier != "Advanced" && tier != "Intelligent-Tiering":
		writeError(w, r, c, apiError{http.StatusBadRequest, "ValidationException",
			fmt.Sprintf("Standard tier parameters support a maximum parameter value of %d characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier. (the value is %d bytes)", MaxStandardSSM, len(value))})
		return true
	}
	return false
}

// tag is one tag of a request; group tells apart the tag lists of one call
// (EC2 TagSpecification.1 and .2 tag different resources).
type tag struct{ group, key, value string }

// checkTags refuses tags over AWS's limits, with the service's own error.
func (s *Server) checkTags(w http.ResponseWriter, r *http.Request, c *call) bool {
	tags := requestTags(r, c)
	if len(tags) == 0 {
		return false
	}
	limit := MaxTags
	if c.service == "route53" {
		limit = MaxRoute53Tags
	}
	counts := map[string]int{}
	for _, t := range tags {
		counts[t.group]++
		switch {
		case utf8.RuneCountInString(t.key) > MaxTagKey:
			writeError(w, r, c, tagError(c, false, fmt.Sprintf("tag key %q is %d characters long; the limit is %d", shorten(t.key), utf8.RuneCountInString(t.key), MaxTagKey)))
			return true
		case utf8.RuneCountInString(t.value) > MaxTagValue:
			writeError(w, r, c, tagError(c, false, fmt.Sprintf("value of tag %q is %d characters long; the limit is %d", shorten(t.key), utf8.RuneCountInString(t.value), MaxTagValue)))
			return true
		}
	}
	groups := make([]string, 0, len(counts))
	for g := range counts {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	for _, g := range groups {
		if counts[g] > limit {
			writeError(w, r, c, tagError(c, true, fmt.Sprintf("%d tags in one request; the limit is %d", counts[g], limit)))
			return true
		}
	}
	return false
}

func shorten(s string) string {
	if utf8.RuneCountInString(s) <= maxShownInError {
		return s
	}
	return string([]rune(s)[:maxShownInError]) + "..."
}

// tagError is the error each service answers tags over its limits with.
func tagError(c *call, tooMany bool, detail string) apiError {
	bad := http.StatusBadRequest
	switch c.service {
	case "s3":
		if tooMany {
			return apiError{bad, "InvalidTag", "Bucket tag count cannot be greater than 50: " + detail}
		}
		return apiError{bad, "InvalidTag", "The TagKey or TagValue you have provided is too long: " + detail}
	case "route53":
		return apiError{bad, "InvalidInput", "1 validation error detected: " + detail}
	case "ec2":
		if tooMany {
			return apiError{bad, "TagLimitExceeded", "The maximum number of Tags for a resource has been reached: " + detail}
		}
		return apiError{bad, "InvalidParameterValue", "Tag exceeds the maximum length: " + detail}
	case "ssm":
		if tooMany {
			return apiError{bad, "TooManyTagsError", "The request includes too many tags: " + detail}
		}
	case "backup":
		return apiError{bad, "InvalidParameterValueException", "Invalid tags: " + detail}
	}
	if c.proto == protoQuery {
		return apiError{bad, "ValidationError", "1 validation error detected: " + detail}
	}
	return apiError{bad, "ValidationException", "1 validation error detected: " + detail}
}

// queryTagRe matches the tag parameters of query APIs: IAM and Auto Scaling
// Tags.member.N.Key, EC2 TagSpecification.N.Tag.M.Key and Tag.N.Key.
var queryTagRe = regexp.MustCompile(`^((?:.*\.)?Tags?(?:\.member)?)\.(\d+)\.(Key|Value)$`)

// requestTags finds the tags a request sets, whatever its protocol.
func requestTags(r *http.Request, c *call) []tag {
	switch c.proto {
	case protoS3:
		if r.Method == http.MethodPut && c.params.Has("tagging") {
			return xmlTags(c.body, "")
		}
	case protoRestXML:
		if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/2013-04-01/tags/") {
			return xmlTags(c.body, "AddTags")
		}
	case protoQuery, protoEC2:
		byIndex := map[string]*tag{}
		for name, vals := range c.params {
			m := queryTagRe.FindStringSubmatch(name)
			if m == nil || len(vals) == 0 {
				continue
			}
			id := m[1] + "." + m[2]
			t := byIndex[id]
			if t == nil {
				t = &tag{group: m[1]}
				byIndex[id] = t
			}
			if m[3] == "Key" {
				t.key = vals[0]
			} else {
				t.value = vals[0]
			}
		}
		out := make([]tag, 0, len(byIndex))
		for _, t := range byIndex {
			out = append(out, *t)
		}
		return out
	default:
		var out []tag
		jsonTags(c.json, "", 0, &out)
		return out
	}
	return nil
}

// xmlTags reads <Tag><Key/><Value/></Tag> elements, inside parent when set.
func xmlTags(body []byte, parent string) []tag {
	dec := xml.NewDecoder(bytes.NewReader(body))
	var out []tag
	inParent := parent == ""
	for {
		tok, err := dec.Token()
		if err == io.EOF || err != nil {
			return out
		}
		switch el := tok.(type) {
		case xml.StartElement:
			switch {
			case el.Name.Local == parent:
				inParent = true
			case el.Name.Local == "Tag" && inParent:
				var t struct {
					Key   string `xml:"Key"`
					Value string `xml:"Value"`
				}
				if dec.DecodeElement(&t, &el) == nil {
					out = append(out, tag{group: parent, key: t.Key, value: t.Value})
				}
			}
		case xml.EndElement:
			if parent != "" && el.Name.Local == parent {
				inParent = false
			}
		}
	}
}

// jsonTags finds tag lists in a JSON body: fields named ...Tags holding
// [{"Key","Value"}] (DynamoDB, SSM, Organizations), [{"TagKey","TagValue"}]
// (KMS) or a {"key": "value"} map (Backup).
func jsonTags(v any, path string, depth int, out *[]tag) {
	m, ok := v.(map[string]any)
	if !ok || depth > 3 {
		return
	}
	for name, field := range m {
		group := path + "." + name
		if !strings.HasSuffix(name, "Tags") {
			jsonTags(field, group, depth+1, out)
			continue
		}
		switch f := field.(type) {
		case []any:
			for _, item := range f {
				o, ok := item.(map[string]any)
				if !ok {
					continue
				}
				k, hasKey := o["Key"].(string)
				val, _ := o["Value"].(string)
				if !hasKey {
					k, hasKey = o["TagKey"].(string)
					val, _ = o["TagValue"].(string)
				}
				if hasKey { // Backup's ListOfTags conditions are no tags
					*out = append(*out, tag{group: group, key: k, value: val})
				}
			}
		case map[string]any:
			for k, x := range f {
				val, _ := x.(string)
				*out = append(*out, tag{group: group, key: k, value: val})
			}
		}
	}
}

// bucketNameRe: 3-63 lowercase letters, digits, dots and hyphens, beginning
// and ending with a letter or digit.
var bucketNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// BucketNameProblem says what breaks S3's bucket naming rules in name, or "".
func BucketNameProblem(name string) string {
	switch {
	case !bucketNameRe.MatchString(name):
		return "must be 3-63 characters of lowercase letters, digits, dots and hyphens, beginning and ending with a letter or digit"
	case strings.Contains(name, ".."):
		return "must not contain two adjacent periods"
	case net.ParseIP(name) != nil:
		return "must not be formatted as an IP address"
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return "must not start with " + p
		}
	}
	for _, sfx := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, sfx) {
			return "must not end with " + sfx
		}
	}
	return ""
}

// checkBucketName: CreateBucket answers InvalidBucketName for a name S3's
// rules refuse.
func (s *Server) checkBucketName(w http.ResponseWriter, r *http.Request, c *call) bool {
	if !isCreateBucket(r, c) {
		return false
	}
	bucket, _ := bucketOf(r)
	problem := BucketNameProblem(bucket)
	if problem == "" {
		return false
	}
	writeError(w, r, c, apiError{http.StatusBadRequest, "InvalidBucketName", "The specified bucket is not valid: " + bucket + " " + problem})
	return true
}
