package cluster

import "net/http"

// HTTPClient exposes httpClient to the lifecycle test.
func (c *Cluster) HTTPClient() (*http.Client, error) { return c.httpClient() }

// HTTPOK exposes httpOK to the lifecycle test.
var HTTPOK = httpOK

// Call exposes call to the lifecycle test.
var Call = call
