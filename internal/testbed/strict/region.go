package strict

import (
	"encoding/xml"
	"net/http"
)

// checkBucketRegion: S3 serves a bucket only in its own region. A call on
// it signed for another region answers 301 PermanentRedirect with the
// bucket's region in x-amz-bucket-region (the header clients find it by),
// where moto serves it anyway. GetBucketLocation is the exception: S3
// answers it from any region.
func (s *Server) checkBucketRegion(w http.ResponseWriter, r *http.Request, c *call) bool {
	bucket, _ := bucketOf(r)
	if c.proto != protoS3 || bucket == "" || c.params.Has("location") {
		return false
	}
	if isCreateBucket(r, c) || isDeleteBucket(r, c) {
		// The bucket is about to be (re)made or gone: look it up afresh next time.
		s.mu.Lock()
		delete(s.bucketRegions, bucket)
		s.mu.Unlock()
		if isCreateBucket(r, c) {
			return false
		}
	}
	region, ok := s.bucketRegion(r, bucket)
	if !ok || region == c.region {
		return false
	}
	w.Header().Set("X-Amz-Bucket-Region", region)
	writeError(w, r, c, apiError{http.StatusMovedPermanently, "PermanentRedirect",
		"The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint. (bucket " + bucket + " is in " + region + ", the request was signed for " + c.region + ")"})
	return true
}

// isDeleteBucket: DELETE /bucket with no subresource.
func isDeleteBucket(r *http.Request, c *call) bool {
	_, key := bucketOf(r)
	return r.Method == http.MethodDelete && key == "" && len(subresources(c.params)) == 0
}

// bucketRegion is the region moto keeps bucket in, remembered once found;
// false if moto has no such bucket.
func (s *Server) bucketRegion(r *http.Request, bucket string) (string, bool) {
	s.mu.Lock()
	region, ok := s.bucketRegions[bucket]
	s.mu.Unlock()
	if ok {
		return region, true
	}
	q := map[string][]string{"location": {""}}
	status, body, err := s.motoGet(r, http.MethodGet, "/"+bucket, q)
	if err != nil || status != http.StatusOK {
		return "", false
	}
	var loc struct {
		Constraint string `xml:",chardata"`
	}
	if xml.Unmarshal(body, &loc) != nil {
		return "", false
	}
	region = loc.Constraint
	if region == "" {
		region = "us-east-1" // S3 names us-east-1 by no constraint at all
	}
	s.mu.Lock()
	s.bucketRegions[bucket] = region
	s.mu.Unlock()
	return region, true
}
