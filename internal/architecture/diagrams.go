package architecture

import (
	"encoding/xml"
	"fmt"
	"sort"
	"strings"

	"github.com/meridianhq/terraform-provider-meridian/internal/blueprint"
	"github.com/meridianhq/terraform-provider-meridian/internal/compile"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

func topologyFile(pair string) string  { return "topology-" + pair + ".svg" }
func failoverFile(pair string) string  { return "failover-" + pair + ".svg" }
func runbookFile(policy string) string { return "runbook-" + policy + ".svg" }
func capacityFile(name string) string  { return "capacity-" + name + ".svg" }

// diagrams draws every picture the Markdown refers to, in its order.
func (s Stack) diagrams() []Diagram {
	var out []Diagram
	for _, p := range s.Pairs {
		out = append(out, Diagram{topologyFile(p.Blueprint.Name), "topology of " + p.Blueprint.Name, s.topologySVG(p)})
	}
	for _, p := range s.Pairs {
		out = append(out, Diagram{failoverFile(p.Blueprint.Name), "failover path of " + p.Blueprint.Name, failoverSVG(p.Blueprint)})
	}
	for _, pol := range s.Policies {
		out = append(out, Diagram{runbookFile(pol.Blueprint.Name), "runbook of " + pol.Blueprint.Name, runbookSVG(pol.Blueprint.Name, pol.Runbook)})
	}
	for _, c := range s.Capacity {
		if svg, err := chart(c); err == nil {
			out = append(out, Diagram{capacityFile(c.Blueprint.Name), "demand forecast of " + c.Blueprint.Name, svg})
		}
	}
	return out
}

// canvas writes SVG elements; every text goes through xml escaping, so the
// image parses whatever the names hold.
type canvas struct {
	b    strings.Builder
	w, h int
}

func newCanvas(w, h int, title string) *canvas {
	c := &canvas{w: w, h: h}
	fmt.Fprintf(&c.b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	c.b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#333"/></marker></defs>` + "\n")
	fmt.Fprintf(&c.b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	c.text(20, 28, 16, "start", title)
	return c
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func (c *canvas) text(x, y, size int, anchor, s string) {
	fmt.Fprintf(&c.b, `<text x="%d" y="%d" font-size="%d" text-anchor="%s">%s</text>`+"\n", x, y, size, anchor, esc(s))
}

func (c *canvas) box(x, y, w, h int, fill, stroke string, dashed bool) {
	dash := ""
	if dashed {
		dash = ` stroke-dasharray="6 4"`
	}
	fmt.Fprintf(&c.b, `<rect x="%d" y="%d" width="%d" height="%d" rx="6" fill="%s" stroke="%s"%s/>`+"\n", x, y, w, h, fill, stroke, dash)
}

// node is a labelled box: a title and a smaller second line.
func (c *canvas) node(x, y, w, h int, fill, title, sub string) {
	c.box(x, y, w, h, fill, "#333", false)
	c.text(x+w/2, y+h/2-2, 12, "middle", title)
	if sub != "" {
		c.text(x+w/2, y+h/2+13, 10, "middle", sub)
	}
}

func (c *canvas) arrow(x1, y1, x2, y2 int, label string, dashed, both bool) {
	dash, start := "", ""
	if dashed {
		dash = ` stroke-dasharray="6 4"`
	}
	if both {
		start = ` marker-start="url(#arrow)"`
	}
	fmt.Fprintf(&c.b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333" stroke-width="1.5"%s marker-end="url(#arrow)"%s/>`+"\n", x1, y1, x2, y2, dash, start)
	// A label sits above a level arrow, and beside a slanted one, on
	// the side it slants to, so that the line never crosses the text.
	switch {
	case label == "":
	case y1 == y2:
		c.text((x1+x2)/2, y1-6, 10, "middle", label)
	case x2 < x1:
		c.text((x1+x2)/2-8, (y1+y2)/2, 10, "end", label)
	default:
		c.text((x1+x2)/2+8, (y1+y2)/2, 10, "start", label)
	}
}

func (c *canvas) String() string { return c.b.String() + "</svg>\n" }

// Colours of the kinds of primitive.
const (
	fillData    = "#dbeafe"
	fillCluster = "#dcfce7"
	fillBackup  = "#fef3c7"
	fillOther   = "#f3f4f6"
	fillRegion  = "#fafafa"
)

// row is one line of the topology: a primitive in each region, and how
// data flows between them ("" for none).
type row struct {
	left, right primitive.Primitive
	flow        string
	both        bool
}

// topologySVG draws the pair's two regions side by side: data stores,
// backup vaults and cluster objects in each, replication arrows between
// them, and the global primitives below.
func (s Stack) topologySVG(p Pair) string {
	rp := p.Blueprint
	prims := append([]primitive.Primitive(nil), p.Graph.Primitives...)
	pol := s.policyOf(rp.Name)
	if pol != nil {
		prims = append(prims, pol.Graph.Primitives...)
	}
	byName := map[string]primitive.Primitive{}
	for _, x := range prims {
		byName[x.Name] = x
	}
	var rows []row
	pair := func(l, r, flow string, both bool) {
		lp, lok := byName[l]
		rp, rok := byName[r]
		if lok || rok {
			rows = append(rows, row{lp, rp, flow, both && lok && rok})
		}
	}
	pair(primitive.S3Bucket+".primary", primitive.S3Bucket+".secondary", "replication, RTC "+dur(blueprint.ObjectReplicationLag), rp.Mode == blueprint.ActiveActiveSharded)
	pair(primitive.DynamoDBTable+".kv", primitive.DynamoDBReplica+".kv", "replica, ~"+dur(blueprint.TableReplicationLag), false)
	if pol != nil && pol.Blueprint.Backup.CrossRegionCopy {
		pair(primitive.BackupVault+".primary", primitive.BackupVault+".secondary", "backup copy, "+pol.Blueprint.Backup.Schedule, false)
	} else {
		pair(primitive.BackupVault+".primary", primitive.BackupVault+".secondary", "", false)
	}
	// Everything else regional, zipped by region, in graph order.
	var left, right []primitive.Primitive
	var global []string
	placed := map[string]bool{}
	for _, r := range rows {
		placed[r.left.Name], placed[r.right.Name] = true, true
	}
	for _, x := range prims {
		switch {
		case placed[x.Name]:
		case x.Region == rp.PrimaryRegion:
			left = append(left, x)
		case x.Region == rp.SecondaryRegion:
			right = append(right, x)
		default:
			global = append(global, x.Name)
		}
	}
	// Cluster objects go last, so that each region's cluster is one box.
	inCluster := func(x primitive.Primitive) bool { return strings.HasPrefix(x.Type, "k8s_") }
	lastCluster := func(xs []primitive.Primitive) {
		sort.SliceStable(xs, func(i, j int) bool { return !inCluster(xs[i]) && inCluster(xs[j]) })
	}
	lastCluster(left)
	lastCluster(right)
	first := len(rows)
	for i := 0; i < max(len(left), len(right)); i++ {
		var r row
		if i < len(left) {
			r.left = left[i]
		}
		if i < len(right) {
			r.right = right[i]
		}
		rows = append(rows, r)
	}

	const (
		w, rowH, nodeW, nodeH = 960, 56, 300, 40
		lx, rx, top           = 40, 620, 90
	)
	h := top + len(rows)*rowH + 40 + 30 + 20*((len(global)+2)/3)
	c := newCanvas(w, h, fmt.Sprintf("%s: %s, %s (primary) and %s (secondary)", rp.Name, rp.Mode, rp.PrimaryRegion, rp.SecondaryRegion))
	regionH := len(rows)*rowH + 30
	c.box(lx-20, top-30, nodeW+40, regionH, fillRegion, "#666", false)
	c.box(rx-20, top-30, nodeW+40, regionH, fillRegion, "#666", false)
	c.text(lx+nodeW/2, top-12, 13, "middle", rp.PrimaryRegion+" (primary)")
	c.text(rx+nodeW/2, top-12, 13, "middle", rp.SecondaryRegion+" (secondary)")
	// A dashed box for each region's cluster around its objects.
	for _, side := range []struct {
		xs []primitive.Primitive
		x  int
	}{{left, lx}, {right, rx}} {
		from, n := -1, 0
		for i, x := range side.xs {
			if inCluster(x) {
				if from < 0 {
					from = i
				}
				n++
			}
		}
		if n > 0 {
			y := top + (first+from)*rowH
			c.box(side.x-10, y-13, nodeW+20, n*rowH, "none", "#15803d", true)
			c.text(side.x-4, y-3, 9, "start", "Kubernetes cluster")
		}
	}
	for i, r := range rows {
		y := top + i*rowH
		for _, side := range []struct {
			p primitive.Primitive
			x int
		}{{r.left, lx}, {r.right, rx}} {
			if side.p.Name != "" {
				c.node(side.x, y, nodeW, nodeH, fill(side.p.Type), side.p.Name, side.p.Type)
			}
		}
		if r.flow != "" && r.left.Name != "" && r.right.Name != "" {
			c.arrow(lx+nodeW, y+nodeH/2, rx, y+nodeH/2, r.flow, false, r.both)
		}
	}
	y := top + regionH
	c.text(lx-20, y+10, 13, "start", "global")
	for i, name := range global {
		c.text(lx-20+(i%3)*300, y+30+20*(i/3), 11, "start", name)
	}
	return c.String()
}

func fill(typ string) string {
	switch {
	case typ == primitive.S3Bucket || typ == primitive.DynamoDBTable || typ == primitive.DynamoDBReplica || typ == primitive.K8sPersistentVolumeClaim:
		return fillData
	case strings.HasPrefix(typ, "k8s_"):
		return fillCluster
	case strings.HasPrefix(typ, "aws_backup"):
		return fillBackup
	}
	return fillOther
}

// failoverSVG draws where clients go: the failover record sends them to
// the primary while its health check passes, to the secondary after the
// detection time; with no DNS, an operator moves them.
func failoverSVG(rp blueprint.RegionPair) string {
	const w, h = 960, 360
	c := newCanvas(w, h, "failover path of "+rp.Name)
	c.node(380, 50, 200, 40, fillOther, "clients", "")
	router, sub, switchLabel := "no DNS failover", "an operator moves traffic", "by hand, after someone notices"
	hcLabel := "no health check"
	if d := rp.DNS; d != nil {
		router, sub = d.FailoverFQDN(), fmt.Sprintf("failover records, TTL %ds", d.TTL)
		switchLabel = "SECONDARY, after " + dur(detection(d.HealthCheck, d.TTL))
		hcLabel = fmt.Sprintf("health check %s %s every %ds x %d", d.HealthCheck.Protocol, d.HealthCheck.Path, d.HealthCheck.Interval, d.HealthCheck.FailureThreshold)
	}
	c.node(330, 130, 300, 44, fillOther, router, sub)
	c.arrow(480, 90, 480, 130, "", false, false)
	c.node(60, 260, 300, 44, fillData, rp.PrimaryRegion, "primary: serves while healthy")
	c.node(600, 260, 300, 44, fillData, rp.SecondaryRegion, "secondary: takes over")
	c.arrow(400, 174, 240, 260, "PRIMARY", false, false)
	c.arrow(560, 174, 720, 260, switchLabel, true, false)
	c.text(210, 330, 11, "middle", hcLabel)
	return c.String()
}

// runbookSVG draws the runbook's groups as columns, left to right: the
// steps of a column run in parallel, a column starts when the one before
// it is done.
func runbookSVG(name string, rb compile.Runbook) string {
	var groups [][]compile.RunbookStep
	for _, st := range rb.Steps {
		if len(groups) < st.Group {
			groups = append(groups, nil)
		}
		groups[st.Group-1] = append(groups[st.Group-1], st)
	}
	const colW, gap, nodeW, nodeH, rowH, top = 250, 40, 250, 44, 56, 90
	tallest := 1
	for _, g := range groups {
		tallest = max(tallest, len(g))
	}
	w := 40 + len(groups)*(colW+gap)
	h := top + tallest*rowH + 30
	c := newCanvas(max(w, 480), h, fmt.Sprintf("restore runbook of %s: %d groups, critical path %s", name, len(groups), rb.Estimate))
	for i, g := range groups {
		x := 20 + i*(colW+gap)
		c.text(x+colW/2, top-14, 12, "middle", fmt.Sprintf("group %d", i+1))
		for j, st := range g {
			c.node(x, top+j*rowH, nodeW, nodeH, fill(st.Type), st.Primitive, st.Region+", "+st.Estimate)
		}
		if i > 0 {
			c.arrow(x-gap, top+nodeH/2, x, top+nodeH/2, "", false, false)
		}
	}
	return c.String()
}
