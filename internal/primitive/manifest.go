package primitive

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// The value of an SSM parameter primitive that holds a manifest, as the
// compiler checks it at plan time and the driver stores and reads it.

// SSM's parameter size limits: 4 KB in the Standard tier, 8 KB in the
// Advanced tier.
const (
	StandardParameterSize = 4096
	AdvancedParameterSize = 8192
)

// compressedManifest starts a manifest value that is gzip-compressed and
// base64-encoded; a value without it is plain JSON (as every manifest was
// before compression, and every small one still is).
const compressedManifest = "meridian+gzip+base64:"

// EncodeManifest is the SSM parameter value a manifest document is kept as:
// plain JSON when it fits the Standard tier, otherwise gzip-compressed and
// base64-encoded; over 4 KB it needs the Advanced tier. An error says it
// does not fit even there.
func EncodeManifest(doc map[string]any) (string, error) {
	raw, err := json.Marshal(doc)
	if err != nil {
		return "", err
	}
	if len(raw) <= StandardParameterSize {
		return string(raw), nil
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(raw); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	value := compressedManifest + base64.StdEncoding.EncodeToString(buf.Bytes())
	if len(value) > AdvancedParameterSize {
		return "", fmt.Errorf("the manifest is %d bytes of JSON, %d bytes compressed; an SSM parameter holds at most %d bytes", len(raw), len(value), AdvancedParameterSize)
	}
	return value, nil
}

// DecodeManifest reads a value EncodeManifest wrote.
func DecodeManifest(value string) (map[string]any, error) {
	raw := []byte(value)
	if rest, ok := strings.CutPrefix(value, compressedManifest); ok {
		packed, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return nil, err
		}
		zr, err := gzip.NewReader(bytes.NewReader(packed))
		if err != nil {
			return nil, err
		}
		if raw, err = io.ReadAll(io.LimitReader(zr, 1<<20)); err != nil {
			return nil, err
		}
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	return doc, nil
}
