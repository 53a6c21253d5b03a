package strict

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"hash/crc32"
	"net/http"
	"strconv"
)

// apiError is an answer the strict layer gives instead of moto's.
type apiError struct {
	status  int
	code    string
	message string
}

// writeError answers in the error shape of c's protocol, the one its SDK
// client decodes the code from. A HEAD answer has no body (S3 sends none, and
// the SDK then takes the code from the status).
func writeError(w http.ResponseWriter, r *http.Request, c *call, e apiError) {
	id := requestID()
	h := w.Header()
	h.Set("X-Amzn-RequestId", id)
	var body []byte
	switch c.proto {
	case protoS3:
		h.Set("X-Amz-Request-Id", id)
		body = xmlBody(struct {
			XMLName   xml.Name `xml:"Error"`
			Code      string   `xml:"Code"`
			Message   string   `xml:"Message"`
			RequestID string   `xml:"RequestId"`
			HostID    string   `xml:"HostId"`
		}{Code: e.code, Message: e.message, RequestID: id, HostID: id})
		h.Set("Content-Type", "application/xml")
	case protoRestXML, protoQuery:
		ns := "https://route53.amazonaws.com/doc/2013-04-01/"
		if c.proto == protoQuery {
			ns = ""
		}
		typ := "Sender"
		if e.status >= 500 {
			typ = "Receiver"
		}
		body = xmlBody(struct {
			XMLName xml.Name `xml:"ErrorResponse"`
			NS      string   `xml:"xmlns,attr,omitempty"`
			Error   struct {
				Type    string `xml:"Type"`
				Code    string `xml:"Code"`
				Message string `xml:"Message"`
			} `xml:"Error"`
			RequestID string `xml:"RequestId"`
		}{NS: ns, Error: struct {
			Type    string `xml:"Type"`
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		}{typ, e.code, e.message}, RequestID: id})
		h.Set("Content-Type", "text/xml")
	case protoEC2:
		type errXML struct {
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		}
		body = xmlBody(struct {
			XMLName   xml.Name `xml:"Response"`
			Errors    []errXML `xml:"Errors>Error"`
			RequestID string   `xml:"RequestID"`
		}{Errors: []errXML{{e.code, e.message}}, RequestID: id})
		h.Set("Content-Type", "text/xml;charset=UTF-8")
	case protoJSON10, protoJSON11:
		typ := e.code
		if c.proto == protoJSON10 && c.service == "dynamodb" {
			typ = "com.amazonaws.dynamodb.v20120810#" + e.code
		}
		body, _ = json.Marshal(map[string]string{"__type": typ, "message": e.message})
		h.Set("Content-Type", "application/x-amz-json-1."+map[protocol]string{protoJSON10: "0", protoJSON11: "1"}[c.proto])
	default: // REST JSON
		h.Set("X-Amzn-ErrorType", e.code)
		body, _ = json.Marshal(map[string]string{"Code": e.code, "Message": e.message})
		h.Set("Content-Type", "application/json")
	}
	if r.Method == http.MethodHead {
		body = nil
	}
	if c.service == "dynamodb" {
		setCRC(h, body)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
}

func xmlBody(v any) []byte {
	b, _ := xml.Marshal(v)
	return append([]byte(xml.Header), b...)
}

func requestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// setCRC sets DynamoDB's X-Amz-Crc32 of body: the SDK checks every DynamoDB
// answer against it.
func setCRC(h http.Header, body []byte) {
	h.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
}
