package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// errFatal marks a readiness failure that waiting longer cannot fix.
var errFatal = errors.New("cannot become ready")

// waitFor polls check until it succeeds, the context ends, or p exits (then
// the error carries the end of p's log).
func waitFor(ctx context.Context, p *proc, what string, check func(context.Context) error) error {
	var last error = errors.New("no answer yet")
	for {
		if p != nil && !p.alive() {
			log := p.tail(30)
			err := fmt.Errorf("%s exited before %s\n--- %s log (tail) ---\n%s", p.Name, what, p.Name, log)
			if strings.Contains(log, "address already in use") {
				return fmt.Errorf("%w: %w", errPortTaken, err)
			}
			return err
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		last = check(cctx)
		cancel()
		if last == nil {
			return nil
		}
		if errors.Is(last, errFatal) {
			return last
		}
		select {
		case <-ctx.Done():
			msg := fmt.Sprintf("waiting for %s: %v; last: %v", what, ctx.Err(), last)
			if p != nil {
				msg += fmt.Sprintf("\n--- %s log (tail) ---\n%s", p.Name, p.tail(30))
			}
			return errors.New(msg)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func httpOK(ctx context.Context, client *http.Client, url, token string) error {
	status, body, err := call(ctx, client, http.MethodGet, url, token, nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("GET %s: %d: %s", url, status, lastLines(string(body), 5))
	}
	return nil
}

func call(ctx context.Context, client *http.Client, method, url, token string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}

func nodeReady(ctx context.Context, client *http.Client, c *Cluster) error {
	status, body, err := call(ctx, client, http.MethodGet, c.Server()+"/api/v1/nodes/"+nodeName, c.Token, nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("GET node: %d", status)
	}
	var node struct {
		Spec struct {
			Taints []struct{ Key, Effect string }
		}
		Status struct {
			Conditions []struct{ Type, Status string }
		}
	}
	if err := json.Unmarshal(body, &node); err != nil {
		return err
	}
	ready := false
	for _, cond := range node.Status.Conditions {
		if cond.Type == "Ready" && cond.Status == "True" {
			ready = true
		}
	}
	if !ready {
		return errors.New("node is not Ready yet")
	}
	for _, t := range node.Spec.Taints {
		if t.Effect == "NoSchedule" || t.Effect == "NoExecute" {
			return fmt.Errorf("node still has taint %s:%s", t.Key, t.Effect)
		}
	}
	return nil
}
