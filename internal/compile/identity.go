package compile

import (
	"fmt"
	"sort"
	"strings"

	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// Claim is a name a primitive takes in the cloud, where two objects cannot
// both have it: two primitives with the same Claim would be one object (a
// second bucket create answers "already owned by you") or, for Route 53
// zones, two objects that the user cannot tell apart.
type Claim struct {
	// Kind says what the name names, e.g. "S3 bucket".
	Kind string
	Name string
	// Scope is where the name must be unique: a region, a cluster's region
	// ("cluster in us-east-1"), "the account", or "every account" for S3.
	Scope string
}

func (c Claim) String() string { return fmt.Sprintf("%s %q (unique in %s)", c.Kind, c.Name, c.Scope) }

const (
	scopeAccount = "the account"
	scopeGlobal  = "every account"
)

// nameOf says, for each primitive type that takes a name, which property
// holds it, what the name is and where it is unique. Types missing here
// take no name that can clash (a health check, a capacity reservation) or
// are part of a parent that does (a bucket's replication configuration, a
// role's inline policy, a plan's selection, a policy's attachment).
var nameOf = map[string]struct {
	kind, property string
	// regional names are unique per region (per cluster for Kubernetes).
	regional bool
	scope    string
}{
	S3Bucket:            {"S3 bucket", "bucket", false, scopeGlobal},
	DynamoDBTable:       {"DynamoDB table", "table_name", true, ""},
	DynamoDBReplica:     {"DynamoDB table", "table_name", true, ""}, // a replica is a table of that name in its region
	Route53Zone:         {"Route 53 hosted zone", "name", false, scopeAccount},
	IAMRole:             {"IAM role", "name", false, scopeAccount},
	SSMParameter:        {"SSM parameter", "name", true, ""},
	BackupVault:         {"AWS Backup vault", "name", true, ""},
	BackupPlan:          {"AWS Backup plan", "name", true, ""},
	LaunchTemplate:      {"EC2 launch template", "name", true, ""},
	AutoScalingGroup:    {"Auto Scaling group", "name", true, ""},
	OrganizationsPolicy: {"Organizations policy", "name", false, scopeAccount},
	K8sNamespace:        {"Kubernetes namespace", "name", true, ""},
	K8sPriorityClass:    {"Kubernetes priority class", "name", true, ""},
}

// namespaced Kubernetes types: their name is unique within a namespace.
var namespaced = map[string]string{
	K8sConfigMap:             "Kubernetes config map",
	K8sDeployment:            "Kubernetes deployment",
	K8sService:               "Kubernetes service",
	K8sPersistentVolumeClaim: "Kubernetes persistent volume claim",
	K8sResourceQuota:         "Kubernetes resource quota",
}

// Identity returns the cloud name p claims. resolve gives the value of a
// reference ("${name.output}") where the graph knows it before apply (an
// input of the same name, such as a replica's table_name taken from its
// table); ok is false when p's type claims no name or the name is only
// known after apply.
func Identity(p primitive.Primitive, resolve func(string) (string, bool)) (Claim, bool) {
	str := func(key string) (string, bool) {
		s, ok := p.Properties[key].(string)
		if !ok || s == "" {
			return "", false
		}
		if strings.Contains(s, "${") {
			return resolve(s)
		}
		return s, true
	}
	if n, ok := nameOf[p.Type]; ok {
		name, ok := str(n.property)
		if !ok {
			return Claim{}, false
		}
		c := Claim{Kind: n.kind, Name: name, Scope: n.scope}
		switch {
		case n.regional && strings.HasPrefix(p.Type, "k8s_"):
			c.Scope = "the cluster of " + p.Region
		case n.regional:
			c.Scope = p.Region
		}
		if p.Type == Route53Zone {
			// Route 53 names are case-insensitive and the final dot is optional.
			c.Name = strings.ToLower(strings.TrimSuffix(name, "."))
		}
		return c, true
	}
	if kind, ok := namespaced[p.Type]; ok {
		ns, nok := str("namespace")
		name, ok := str("name")
		if !ok || !nok {
			return Claim{}, false
		}
		return Claim{Kind: kind, Name: ns + "/" + name, Scope: "the cluster of " + p.Region}, true
	}
	if p.Type == Route53Record {
		// A record set is a name, type and set identifier in a zone. In a
		// zone this graph creates, the zone's own claim covers it.
		zone, zok := p.Properties["zone_id"].(string)
		name, ok := str("name")
		if !zok || !ok || strings.Contains(zone, "${") {
			return Claim{}, false
		}
		typ, _ := str("type")
		set, _ := str("set_identifier")
		id := strings.ToLower(strings.TrimSuffix(name, ".")) + " " + typ
		if set != "" {
			id += " " + set
		}
		return Claim{Kind: "Route 53 record set", Name: id, Scope: "hosted zone " + zone}, true
	}
	return Claim{}, false
}

// Claimant is a primitive of one of the graphs given to CheckNames.
type Claimant struct {
	// Graph is the index of the primitive's graph in CheckNames' arguments.
	Graph     int
	Primitive primitive.Primitive
}

// ClashSummary is the summary of the diagnostic that reports a clash, the
// same in terraform and in the CLI.
const ClashSummary = "Name claimed twice"

// Clash is a cloud name that two primitives claim.
type Clash struct {
	Claim
	First, Second Claimant
}

func (c Clash) Error() string {
	return fmt.Sprintf("%s is claimed by both %s and %s: only one object can have it", c.Claim, c.First.Primitive.Name, c.Second.Primitive.Name)
}

// CheckNames returns every pair of primitives that claim the same cloud
// name, within one graph or across several (the graphs of a stack's
// resources, or of a terraform configuration's). A name claimed n times
// gives n-1 clashes, each with the first claimant. References are resolved
// within each primitive's own graph: primitive names are unique in a
// graph, not across graphs.
func CheckNames(graphs ...primitive.Graph) []Clash {
	first := map[Claim]Claimant{}
	var out []Clash
	for gi, g := range graphs {
		byName := map[string]primitive.Primitive{}
		for _, p := range g.Primitives {
			byName[p.Name] = p
		}
		resolve := func(s string) (string, bool) {
			// Only a value that is one reference to a literal input is
			// known before apply; outputs such as ids are not.
			if !strings.HasPrefix(s, "${") || !strings.HasSuffix(s, "}") || strings.Count(s, "${") != 1 {
				return "", false
			}
			ref := strings.TrimSuffix(strings.TrimPrefix(s, "${"), "}")
			dot := strings.LastIndex(ref, ".")
			if dot < 0 {
				return "", false
			}
			target, ok := byName[ref[:dot]]
			if !ok {
				return "", false
			}
			v, ok := target.Properties[ref[dot+1:]].(string)
			if !ok || v == "" || strings.Contains(v, "${") {
				return "", false
			}
			return v, true
		}
		prims := append([]primitive.Primitive(nil), g.Primitives...)
		sort.Slice(prims, func(i, j int) bool { return prims[i].Name < prims[j].Name })
		for _, p := range prims {
			c, ok := Identity(p, resolve)
			if !ok {
				continue
			}
			me := Claimant{Graph: gi, Primitive: p}
			if prev, seen := first[c]; seen {
				out = append(out, Clash{Claim: c, First: prev, Second: me})
				continue
			}
			first[c] = me
		}
	}
	return out
}
