package blueprint

import (
	"slices"
	"strings"
	"testing"
)

func TestKnownInstanceType(t *testing.T) {
	prices := DefaultPrices()
	for _, known := range []string{"m5.large", "m5.24xlarge", "c7i.metal-24xl", "t4g.nano", "r6id.32xlarge"} {
		if !KnownInstanceType(known, prices) {
			t.Errorf("%s: not known", known)
		}
	}
	for _, unknown := range []string{"m5.lrage", "m55.large", "m5large", "large", "m5.", "m5.xxlarge"} {
		if KnownInstanceType(unknown, prices) {
			t.Errorf("%s: known", unknown)
		}
	}
	if s := SuggestInstanceTypes("m5.lrage", prices); len(s) == 0 || s[0] != "m5.large" {
		t.Errorf("suggestions for m5.lrage: %v, want m5.large first", s)
	}
	if s := SuggestInstanceTypes("m55.large", prices); !slices.Contains(s, "m5.large") {
		t.Errorf("suggestions for m55.large: %v, want m5.large among them", s)
	}
}

// A misspelt type is reported as one, with the closest names, and not as a
// type the price table lacks; a real type without a price still is.
func TestCapacityUnknownInstanceType(t *testing.T) {
	c := Capacity{
		Name: "web", PrimaryRegion: "us-east-1", SecondaryRegion: "us-west-2", ImageID: "ami-12345678",
		InstanceTypes: []string{"m5.lrage", "m5.24xlarge"},
		Demand:        Demand{Values: make([]float64, 24*14), Start: "2026-09-01T00:00:00Z"},
	}
	var got []string
	for _, p := range c.WithDefaults().Validate(DefaultPrices()) {
		got = append(got, p.Summary+": "+p.Detail)
	}
	all := strings.Join(got, "\n")
	if !strings.Contains(all, `Unknown instance type: "m5.lrage" is not an EC2 instance type`) || !strings.Contains(all, "Did you mean m5.large") {
		t.Errorf("no unknown-type problem naming m5.large for m5.lrage:\n%s", all)
	}
	if strings.Contains(all, "no price for m5.lrage") {
		t.Errorf("m5.lrage is sent to the price table:\n%s", all)
	}
	if !strings.Contains(all, "no price for m5.24xlarge") {
		t.Errorf("m5.24xlarge, a real type, should need a price:\n%s", all)
	}
}
