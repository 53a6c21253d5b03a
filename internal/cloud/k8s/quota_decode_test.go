package k8s

import (
	"strings"
	"testing"
)

func TestDecodeValidatesQuotasAndClasses(t *testing.T) {
	c := &Cloud{}
	for _, tc := range []struct {
		kind  kind
		props map[string]any
		want  string // "" means valid
	}{
		{quotaKind{}, map[string]any{"name": "q", "hard": map[string]any{"pods": "2"}}, "namespace is required"},
		{quotaKind{}, map[string]any{"namespace": "shop", "name": "q"}, "at least one resource"},
		{quotaKind{}, map[string]any{"namespace": "shop", "name": "q", "hard": map[string]any{"requests.cpu": "eight"}}, "not a quantity"},
		{quotaKind{}, map[string]any{"namespace": "shop", "name": "q", "hard": map[string]any{"requests.cpu": "8", "pods": "20"}, "priority_class": "batch"}, ""},
		{priorityClassKind{}, map[string]any{"name": "batch"}, "value is required"},
		{priorityClassKind{}, map[string]any{"name": "batch", "value": 2_000_000_000}, "highest"},
		{priorityClassKind{}, map[string]any{"name": "batch", "value": 10, "preemption_policy": "Sometimes"}, "not PreemptLowerPriority or Never"},
		{priorityClassKind{}, map[string]any{"name": "batch", "value": 10.0, "preemption_policy": "Never"}, ""},
		{priorityClassKind{}, map[string]any{"name": "batch", "value": -5}, ""},
	} {
		_, err := driver{c, tc.kind}.decode(tc.props)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%T %v: %v", tc.kind, tc.props, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%T %v: err = %v, want %q", tc.kind, tc.props, err, tc.want)
		}
	}
}
