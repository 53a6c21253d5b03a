package k8s

import (
	"regexp"
	"strings"
	"testing"
)

// The rules Kubernetes applies (k8s.io/apimachinery validation).
var (
	labelName  = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$`)
	labelValue = regexp.MustCompile(`^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$`)
	dnsSub     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
)

func validKey(k string) bool {
	prefix, name, found := strings.Cut(k, "/")
	if !found {
		return labelName.MatchString(k)
	}
	return len(prefix) <= 253 && dnsSub.MatchString(prefix) && labelName.MatchString(name)
}

func TestLabelKey(t *testing.T) {
	long := strings.Repeat("x", 80)
	for _, tc := range []struct{ in, want string }{
		{"cost-centre", "cost-centre"},
		{"CostCentre", "CostCentre"},
		{"meridian:resource", "meridian/resource"},
		{"meridian:region-role", "meridian/region-role"},
		{"aws:cloudformation:stack-name", "aws/cloudformation-stack-name"},
		{"app.kubernetes.io/part-of", "app.kubernetes.io/part-of"},
		{"Team Name", "Team-Name"},
		{"owner@example.com", "owner-example.com"},
		{"  spaced  ", "spaced"},
		{"Billing_Code", "Billing_Code"},
		{"My Org:cost centre", "my-org/cost-centre"},
		{long, strings.Repeat("x", 54) + "-" + "d8a6b1ba"},
	} {
		got, err := LabelKey(tc.in)
		if err != nil {
			t.Errorf("LabelKey(%q): %v", tc.in, err)
			continue
		}
		if tc.in == long {
			// The hash suffix is checked for shape; its value is sha256's.
			if len(got) != 63 || !strings.HasPrefix(got, strings.Repeat("x", 54)+"-") {
				t.Errorf("LabelKey(long) = %q (%d chars)", got, len(got))
			}
		} else if got != tc.want {
			t.Errorf("LabelKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if !validKey(got) {
			t.Errorf("LabelKey(%q) = %q is not a valid label key", tc.in, got)
		}
	}
	for _, bad := range []string{"", "::", "meridian:", "  ", "///"} {
		if got, err := LabelKey(bad); err == nil {
			t.Errorf("LabelKey(%q) = %q, want an error", bad, got)
		}
	}
}

func TestLabelValue(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"payments", "payments"},
		{"Payments Team", "Payments-Team"},
		{"cc-1234", "cc-1234"},
		{"s3_bucket.primary", "s3_bucket.primary"},
		{"primary", "primary"},
		{"", ""},
		{"---", ""},
		{"a/b:c", "a-b-c"},
		{"ünïcode", "n-code"},
		{"v1.2.3+build", "v1.2.3-build"},
	} {
		got := LabelValue(tc.in)
		if got != tc.want {
			t.Errorf("LabelValue(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if !labelValue.MatchString(got) {
			t.Errorf("LabelValue(%q) = %q is not a valid label value", tc.in, got)
		}
	}
}

func TestLabelValueShortensDistinctly(t *testing.T) {
	a := LabelValue(strings.Repeat("team-", 20) + "a")
	b := LabelValue(strings.Repeat("team-", 20) + "b")
	if a == b || len(a) > 63 || len(b) > 63 || !labelValue.MatchString(a) || !labelValue.MatchString(b) {
		t.Errorf("long values: %q, %q", a, b)
	}
	if LabelValue(strings.Repeat("team-", 20)+"a") != a {
		t.Error("LabelValue is not deterministic")
	}
}

func TestLabelsRejectsCollisions(t *testing.T) {
	got, err := Labels(map[string]string{"cost-centre": "cc 1", "meridian:resource": "deployment.web"})
	if err != nil {
		t.Fatal(err)
	}
	if got["cost-centre"] != "cc-1" || got["meridian/resource"] != "deployment.web" || len(got) != 2 {
		t.Errorf("Labels = %v", got)
	}
	if _, err := Labels(map[string]string{"cost centre": "a", "cost-centre": "b"}); err == nil || !strings.Contains(err.Error(), "cost-centre") {
		t.Errorf("colliding tags: err = %v", err)
	}
}
