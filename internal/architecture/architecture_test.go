package architecture_test

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meridianhq/terraform-provider-meridian/internal/architecture"
	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/drill"
	"github.com/meridianhq/terraform-provider-meridian/internal/stack"
)

// reviewed is the date the tests review on: ten days after the fixture drill.
var reviewed = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)

// fixtureDrill is the recorded drill report in testdata (a fixture, not a
// live drill: see its "fixture" field).
func fixtureDrill(t *testing.T) *drill.Report {
	t.Helper()
	b, err := os.ReadFile("testdata/drill-report.fixture.json")
	if err != nil {
		t.Fatal(err)
	}
	var r drill.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// platform is the evidence of examples/stacks/platform: its pair and DR
// policy compiled as the provider compiles them, its capacity reservation
// planned from its demand history, and the fixture drill.
func platform(t *testing.T, withDrill bool) architecture.Stack {
	t.Helper()
	st, diags := stack.LoadDir("../../examples/stacks/platform", nil)
	if diags.HasErrors() {
		t.Fatal(stack.FormatDiagnostics(diags))
	}
	var pairs []blueprint.RegionPair
	for _, rp := range st.RegionPairs {
		pairs = append(pairs, rp.Blueprint)
	}
	var policies []blueprint.DRPolicy
	for _, p := range st.DRPolicies {
		policies = append(policies, p.Blueprint)
	}
	drills := map[string]*drill.Report{}
	if withDrill {
		drills["checkout"] = fixtureDrill(t)
	}
	s, err := architecture.FromBlueprints("platform", pairs, policies, drills, st.DefaultTags, reviewed)
	if err != nil {
		t.Fatal(err)
	}
	for i := range st.CapacityReservations {
		c := &st.CapacityReservations[i]
		bp, plan, diags := c.Plan()
		if diags.HasErrors() {
			t.Fatal(stack.FormatDiagnostics(diags))
		}
		s.Capacity = append(s.Capacity, architecture.Capacity{Address: c.Address(), Blueprint: bp, Plan: plan, Prices: blueprint.DefaultPrices()})
	}
	return s
}

var digit = regexp.MustCompile(`[0-9]`)

// Every decision of the document names an alternative and at least one
// trade-off with a number on a side and a source, and the Markdown shows
// each of them in its section.
func TestEveryDecisionDefended(t *testing.T) {
	doc := architecture.Write(platform(t, true))
	sections := map[int]bool{}
	for _, d := range doc.Decisions {
		sections[d.Section] = true
		if d.Alternative == "" {
			t.Errorf("decision %q names no alternative", d.Topic)
		}
		numeric := false
		for _, to := range d.TradeOffs {
			if to.Source == "" {
				t.Errorf("decision %q: trade-off %q names no source", d.Topic, to.Quantity)
			}
			if digit.MatchString(to.Chosen) || digit.MatchString(to.Alternative) {
				numeric = true
			}
		}
		if !numeric {
			t.Errorf("decision %q has no numeric trade-off: %+v", d.Topic, d.TradeOffs)
		}
		section := sectionText(t, doc.Markdown, d.Section)
		if !strings.Contains(section, "**Decision: "+d.Topic+".** Chosen: "+d.Choice+". Alternative: "+d.Alternative+".") {
			t.Errorf("section %d does not state decision %q with its alternative", d.Section, d.Topic)
		}
	}
	// The sections that make choices: topology, data, routing, DR, capacity.
	for _, n := range []int{2, 3, 4, 5, 6} {
		if !sections[n] {
			t.Errorf("section %d (%s) defends no decision", n, architecture.Sections[n-1])
		}
	}
	for i, title := range architecture.Sections {
		if !strings.Contains(doc.Markdown, fmt.Sprintf("\n## %d. %s\n", i+1, title)) {
			t.Errorf("the document has no section %q", title)
		}
	}
	// Sources are named by date: the price table and the drill.
	for _, want := range []string{"price table of 2026-11-01", "drill fixture-20261120 of 2026-11-20", "forecast of meridian_capacity_reservation.web"} {
		if !strings.Contains(doc.Markdown, want) {
			t.Errorf("the document never names the source %q", want)
		}
	}
	if len(doc.Findings) != 0 {
		t.Errorf("the platform stack after a passing drill should be defended, found %+v", doc.Findings)
	}
}

func sectionText(t *testing.T, md string, n int) string {
	t.Helper()
	start := strings.Index(md, fmt.Sprintf("\n## %d. ", n))
	if start < 0 {
		t.Fatalf("no section %d", n)
	}
	rest := md[start+1:]
	if end := strings.Index(rest[3:], "\n## "); end >= 0 {
		return rest[:end+3]
	}
	return rest
}

// The numbers are those of this stack: the runbook's critical path, the
// backup schedule's recovery points, the capacity plan's costs.
func TestTradeOffNumbersComeFromTheStack(t *testing.T) {
	doc := architecture.Write(platform(t, true))
	want := map[string][2]string{
		"RTO after losing the primary region":           {"41m10s", "2m30s"},
		"worst-case RPO":                                {"15m", "1h"},
		"recovery points kept (both vaults)":            {"672", "2688"},
		"monthly compute cost":                          {"2082.52 USD/month", "3346.32 USD/month"},
		"monthly cost of the failover region":           {"912.14 USD/month", "477.79 USD/month"},
		"time from failure to traffic on the secondary": {"unbounded (manual)", "2m30s"},
	}
	found := map[string]bool{}
	for _, d := range doc.Decisions {
		for _, to := range d.TradeOffs {
			if w, ok := want[to.Quantity]; ok {
				found[to.Quantity] = true
				if to.Chosen != w[0] || to.Alternative != w[1] {
					t.Errorf("%s: chosen %q, alternative %q; want %q, %q", to.Quantity, to.Chosen, to.Alternative, w[0], w[1])
				}
			}
		}
	}
	for q := range want {
		if !found[q] {
			t.Errorf("no trade-off %q", q)
		}
	}
}

func kinds(fs []architecture.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Kind)
	}
	return out
}

// Each finding of the review, from a change of the platform stack that
// should raise it, and only it.
func TestReviewFindings(t *testing.T) {
	cases := []struct {
		name   string
		change func(*architecture.Stack)
		want   string
	}{
		{"never drilled", func(s *architecture.Stack) { s.Policies[0].Drill = nil }, architecture.NeverDrilled},
		{"drill older than 90 days", func(s *architecture.Stack) {
			s.Policies[0].Blueprint.Drill.Schedule = ""
			s.Now = reviewed.Add(81 * 24 * time.Hour)
		}, architecture.StaleDrill},
		{"drill older than its monthly schedule", func(s *architecture.Stack) { s.Now = reviewed.Add(22 * 24 * time.Hour) }, architecture.StaleDrill},
		{"failed drill", func(s *architecture.Stack) { s.Policies[0].Drill.Passed = false }, architecture.FailedDrill},
		{"pair with no DR policy", func(s *architecture.Stack) { s.Policies = nil }, architecture.NoDRPolicy},
		{"RPO not backed by the schedule", func(s *architecture.Stack) {
			// Replication keeps the pair within 15m; a 5-minute RPO with
			// hourly backups is backed by neither.
			s.Policies[0].Blueprint.RPO = "5m"
		}, architecture.RPONotBacked},
		{"untagged cost", func(s *architecture.Stack) {
			g := &s.Governed[0].Graph
			for i := range g.Primitives {
				delete(g.Primitives[i].Tags, "service")
			}
		}, architecture.UntaggedCost},
		{"no cost tag policy at all", func(s *architecture.Stack) { s.TagPolicies = nil }, architecture.UntaggedCost},
		{"a choice with no alternative", func(s *architecture.Stack) {
			// A pair with no store has no replication to weigh.
			s.Pairs[0].Blueprint.ObjectStore, s.Pairs[0].Blueprint.KVTable = nil, nil
		}, architecture.NoAlternative},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := platform(t, true)
			c.change(&s)
			got := kinds(architecture.Write(s).Findings)
			if !slices.Contains(got, c.want) {
				t.Fatalf("findings %v, want %s", got, c.want)
			}
			for _, k := range got {
				if k != c.want {
					t.Errorf("unexpected finding %s besides %s (all: %v)", k, c.want, got)
				}
			}
		})
	}
}

// Each diagram is well-formed XML with an svg root, and the document is
// the same for the same evidence (golden-testable).
func TestDiagramsParseAndAreDeterministic(t *testing.T) {
	doc := architecture.Write(platform(t, true))
	again := architecture.Write(platform(t, true))
	want := []string{"topology-checkout.svg", "failover-checkout.svg", "runbook-checkout.svg", "capacity-checkout-web.svg"}
	var files []string
	for i, d := range doc.Diagrams {
		files = append(files, d.File)
		if d.SVG != again.Diagrams[i].SVG {
			t.Errorf("%s differs between two runs", d.File)
		}
		if !strings.Contains(doc.Markdown, "]("+d.File+")") {
			t.Errorf("the document never shows %s", d.File)
		}
		parseSVG(t, d.File, d.SVG)
	}
	if !slices.Equal(files, want) {
		t.Errorf("diagrams %v, want %v", files, want)
	}
	if doc.Markdown != again.Markdown {
		t.Error("the Markdown differs between two runs")
	}
}

// Names that XML reserves characters for still give a parsable image.
func TestDiagramsEscapeNames(t *testing.T) {
	s := platform(t, true)
	s.Policies[0].Runbook.Steps[0].Primitive = `a<b & "c"`
	for _, d := range architecture.Write(s).Diagrams {
		parseSVG(t, d.File, d.SVG)
	}
}

func parseSVG(t *testing.T, name, svg string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(svg))
	root := ""
	elements := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s is not XML: %v", name, err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = se.Name.Local
			}
			elements++
		}
	}
	if root != "svg" || elements < 5 {
		t.Errorf("%s: root %q with %d elements, want an svg drawing", name, root, elements)
	}
}

// A pair with a workload draws each region's cluster around its objects.
func TestTopologyDrawsClusters(t *testing.T) {
	st, diags := stack.LoadDir("../../examples/stacks/drill", map[string]string{"aws_endpoint": "http://127.0.0.1:1", "kubeconfig": "unused"})
	if diags.HasErrors() {
		t.Fatal(stack.FormatDiagnostics(diags))
	}
	s, err := architecture.FromBlueprints("drill", []blueprint.RegionPair{st.RegionPairs[0].Blueprint}, nil, nil, nil, reviewed)
	if err != nil {
		t.Fatal(err)
	}
	svg := architecture.Write(s).Diagrams[0]
	parseSVG(t, svg.File, svg.SVG)
	if n := strings.Count(svg.SVG, ">Kubernetes cluster<"); n != 2 {
		t.Errorf("%s draws %d clusters, want one in each region:\n%s", svg.File, n, svg.SVG)
	}
}
