package primitive

import (
	"reflect"
	"strings"
	"testing"
)

func TestRef(t *testing.T) {
	tests := []struct {
		name, output, want string
	}{
		{"aws_s3_bucket.primary", "arn", "${aws_s3_bucket.primary.arn}"},
		{"db", "id", "${db.id}"},
		{"a.b.c", "zone_id", "${a.b.c.zone_id}"},
	}
	for _, tt := range tests {
		got := Ref(tt.name, tt.output)
		if got != tt.want {
			t.Errorf("Ref(%q, %q) = %q, want %q", tt.name, tt.output, got, tt.want)
		}
		// A reference must be recognised by the package's own parser.
		rs := refs(got)
		if len(rs) != 1 || rs[0] != [2]string{tt.name, tt.output} {
			t.Errorf("refs(Ref(%q, %q)) = %v, want [[%s %s]]", tt.name, tt.output, rs, tt.name, tt.output)
		}
	}
}

func TestDependencies(t *testing.T) {
	tests := []struct {
		desc string
		p    Primitive
		want []string
	}{
		{
			desc: "no properties, no depends_on",
			p:    Primitive{Name: "x"},
			want: []string{},
		},
		{
			desc: "plain strings are not references",
			p: Primitive{Name: "x", Properties: map[string]any{
				"a": "aws_s3_bucket.primary.arn",
				"b": "${nodot}",
				"c": "$aws_s3_bucket.primary.arn",
				"d": 42,
				"e": true,
				"f": nil,
			}},
			want: []string{},
		},
		{
			desc: "whole-value reference",
			p:    Primitive{Name: "x", Properties: map[string]any{"role": Ref("aws_iam_role.replication", "name")}},
			want: []string{"aws_iam_role.replication"},
		},
		{
			desc: "reference embedded in a longer string",
			p:    Primitive{Name: "x", Properties: map[string]any{"resource": "${aws_s3_bucket.primary.arn}/*"}},
			want: []string{"aws_s3_bucket.primary"},
		},
		{
			desc: "two references in one string",
			p:    Primitive{Name: "x", Properties: map[string]any{"s": "arn:${a.b.arn}:${c.d.id}/x"}},
			want: []string{"a.b", "c.d"},
		},
		{
			desc: "references nested in maps and slices",
			p: Primitive{Name: "x", Properties: map[string]any{
				"policy": map[string]any{
					"Statement": []any{
						map[string]any{"Resource": []any{"${aws_s3_bucket.primary.arn}/*", "${aws_s3_bucket.secondary.arn}"}},
					},
				},
			}},
			want: []string{"aws_s3_bucket.primary", "aws_s3_bucket.secondary"},
		},
		{
			desc: "explicit depends_on merged with references, deduplicated and sorted",
			p: Primitive{
				Name:       "x",
				Properties: map[string]any{"a": Ref("zeta.one", "id"), "b": Ref("alpha.two", "id"), "c": Ref("zeta.one", "arn")},
				DependsOn:  []string{"mid.policy", "zeta.one"},
			},
			want: []string{"alpha.two", "mid.policy", "zeta.one"},
		},
		{
			desc: "dependency without dots in its name",
			p:    Primitive{Name: "x", Properties: map[string]any{"a": "${db.id}"}},
			want: []string{"db"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got := tt.p.Dependencies()
			if got == nil {
				t.Fatalf("Dependencies() = nil, want a non-nil slice")
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Dependencies() = %q, want %q", got, tt.want)
			}
		})
	}
}

func outputsOf(m map[string]map[string]string) Outputs {
	return func(name string) (map[string]string, bool) {
		o, ok := m[name]
		return o, ok
	}
}

func TestResolve(t *testing.T) {
	outs := outputsOf(map[string]map[string]string{
		"aws_s3_bucket.primary":    {"arn": "arn:aws:s3:::b-us-east-1", "bucket": "b-us-east-1"},
		"aws_iam_role.replication": {"name": "meridian-x-replication", "arn": "arn:aws:iam::1:role/r"},
		"empty":                    {},
	})
	tests := []struct {
		desc        string
		props       map[string]any
		want        map[string]any
		wantMissing []string
	}{
		{
			desc:  "nil properties",
			props: nil,
			want:  map[string]any{},
		},
		{
			desc:  "no references; numbers normalised",
			props: map[string]any{"n": 3, "s": "x", "b": false, "l": []string{"a"}},
			want:  map[string]any{"n": float64(3), "s": "x", "b": false, "l": []any{"a"}},
		},
		{
			desc:  "whole value",
			props: map[string]any{"role": Ref("aws_iam_role.replication", "name")},
			want:  map[string]any{"role": "meridian-x-replication"},
		},
		{
			desc:  "embedded in a longer string",
			props: map[string]any{"r": "${aws_s3_bucket.primary.arn}/*"},
			want:  map[string]any{"r": "arn:aws:s3:::b-us-east-1/*"},
		},
		{
			desc:  "two in one string",
			props: map[string]any{"r": "${aws_s3_bucket.primary.bucket}|${aws_iam_role.replication.arn}"},
			want:  map[string]any{"r": "b-us-east-1|arn:aws:iam::1:role/r"},
		},
		{
			desc: "nested in maps and slices",
			props: map[string]any{"policy": map[string]any{"Statement": []any{
				map[string]any{"Resource": []any{"${aws_s3_bucket.primary.arn}", "${aws_s3_bucket.primary.arn}/*"}},
			}}},
			want: map[string]any{"policy": map[string]any{"Statement": []any{
				map[string]any{"Resource": []any{"arn:aws:s3:::b-us-east-1", "arn:aws:s3:::b-us-east-1/*"}},
			}}},
		},
		{
			desc:        "unknown primitive is missing and left as is",
			props:       map[string]any{"a": "${nope.arn}/*", "b": "${aws_s3_bucket.primary.bucket}"},
			want:        map[string]any{"a": "${nope.arn}/*", "b": "b-us-east-1"},
			wantMissing: []string{"nope.arn"},
		},
		{
			desc:        "known primitive without that output is missing",
			props:       map[string]any{"a": Ref("aws_s3_bucket.primary", "region"), "b": Ref("empty", "id")},
			want:        map[string]any{"a": "${aws_s3_bucket.primary.region}", "b": "${empty.id}"},
			wantMissing: []string{"aws_s3_bucket.primary.region", "empty.id"},
		},
		{
			desc:        "missing references are sorted; resolved and missing in one string",
			props:       map[string]any{"z": Ref("zz.top", "id"), "a": "${aa.b.c}-${aws_s3_bucket.primary.bucket}"},
			want:        map[string]any{"z": "${zz.top.id}", "a": "${aa.b.c}-b-us-east-1"},
			wantMissing: []string{"aa.b.c", "zz.top.id"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, missing := Resolve(tt.props, outs)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Resolve() = %#v, want %#v", got, tt.want)
			}
			if len(missing) != len(tt.wantMissing) || (len(missing) > 0 && !reflect.DeepEqual(missing, tt.wantMissing)) {
				t.Errorf("Resolve() missing = %q, want %q", missing, tt.wantMissing)
			}
		})
	}
}

func TestResolveDoesNotModifyInput(t *testing.T) {
	inner := map[string]any{"r": "${a.b.arn}"}
	props := map[string]any{"m": inner, "l": []any{"${a.b.arn}"}}
	got, missing := Resolve(props, outputsOf(map[string]map[string]string{"a.b": {"arn": "ARN"}}))
	if len(missing) != 0 {
		t.Fatalf("missing = %q", missing)
	}
	if got["m"].(map[string]any)["r"] != "ARN" || got["l"].([]any)[0] != "ARN" {
		t.Errorf("Resolve() = %#v, want references replaced", got)
	}
	if inner["r"] != "${a.b.arn}" || props["l"].([]any)[0] != "${a.b.arn}" {
		t.Errorf("Resolve modified its input: %#v", props)
	}
}

func TestNormalize(t *testing.T) {
	type custom struct {
		A int `json:"a"`
	}
	tests := []struct {
		desc string
		in   map[string]any
		want map[string]any
	}{
		{"nil becomes empty", nil, map[string]any{}},
		{"empty stays empty", map[string]any{}, map[string]any{}},
		{
			"numbers become float64",
			map[string]any{"i": 1, "i64": int64(2), "u": uint8(3), "f32": float32(0.5), "f": 1.25},
			map[string]any{"i": float64(1), "i64": float64(2), "u": float64(3), "f32": 0.5, "f": 1.25},
		},
		{
			"typed slices and maps become generic",
			map[string]any{"s": []string{"a", "b"}, "n": []int{1}, "m": map[string]string{"k": "v"}, "mi": map[string]int{"k": 1}},
			map[string]any{"s": []any{"a", "b"}, "n": []any{float64(1)}, "m": map[string]any{"k": "v"}, "mi": map[string]any{"k": float64(1)}},
		},
		{
			"structs become maps, nil stays nil",
			map[string]any{"c": custom{A: 7}, "p": &custom{A: 8}, "z": nil, "b": true},
			map[string]any{"c": map[string]any{"a": float64(7)}, "p": map[string]any{"a": float64(8)}, "z": nil, "b": true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got := Normalize(tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Normalize() = %#v, want %#v", got, tt.want)
			}
			// Normalising twice changes nothing.
			if again := Normalize(got); !reflect.DeepEqual(again, got) {
				t.Errorf("Normalize is not idempotent: %#v then %#v", got, again)
			}
		})
	}
}

func TestNormalizeMakesDifferentlyBuiltValuesEqual(t *testing.T) {
	a := Normalize(map[string]any{"port": 443, "records": []string{"x"}})
	b := Normalize(map[string]any{"port": float64(443), "records": []any{"x"}})
	if !reflect.DeepEqual(a, b) {
		t.Errorf("Normalize(%#v) != Normalize(%#v)", a, b)
	}
}

func TestNormalizePanicsOnNonJSON(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Errorf("Normalize of a channel did not panic")
		}
	}()
	Normalize(map[string]any{"c": make(chan int)})
}

func TestDecode(t *testing.T) {
	var into struct {
		Bucket     string   `json:"bucket"`
		Versioning bool     `json:"versioning"`
		Port       int      `json:"port"`
		Records    []string `json:"records"`
	}
	err := Decode(map[string]any{"bucket": "b", "versioning": true, "port": float64(443), "records": []any{"x"}}, &into)
	if err != nil {
		t.Fatal(err)
	}
	if into.Bucket != "b" || !into.Versioning || into.Port != 443 || !reflect.DeepEqual(into.Records, []string{"x"}) {
		t.Errorf("Decode() = %+v", into)
	}
	if err := Decode(map[string]any{"port": "not a number"}, &into); err == nil {
		t.Errorf("Decode of a string into an int: want an error")
	}
}

func prim(name string, deps ...string) Primitive {
	props := map[string]any{}
	for i, d := range deps {
		// Alternate between reference and explicit dependency, so both kinds order.
		if i%2 == 0 {
			props["ref"+string(rune('a'+i))] = Ref(d, "id") + "/suffix"
		}
	}
	p := Primitive{Name: name, Type: "t", Properties: props}
	for i, d := range deps {
		if i%2 == 1 {
			p.DependsOn = append(p.DependsOn, d)
		}
	}
	return p
}

func TestLevels(t *testing.T) {
	tests := []struct {
		desc    string
		prims   []Primitive
		want    [][]string
		wantErr string
	}{
		{
			desc:  "empty graph",
			prims: nil,
			want:  nil,
		},
		{
			desc:  "independent primitives share one sorted level",
			prims: []Primitive{prim("c"), prim("a"), prim("b")},
			want:  [][]string{{"a", "b", "c"}},
		},
		{
			desc:  "chain",
			prims: []Primitive{prim("c", "b"), prim("b", "a"), prim("a")},
			want:  [][]string{{"a"}, {"b"}, {"c"}},
		},
		{
			desc: "diamond and depth grouping",
			prims: []Primitive{
				prim("bucket.primary"), prim("bucket.secondary"), prim("role"),
				prim("policy", "role", "bucket.primary", "bucket.secondary"),
				prim("replication", "bucket.primary", "policy", "role", "bucket.secondary"),
				prim("unrelated"),
			},
			want: [][]string{
				{"bucket.primary", "bucket.secondary", "role", "unrelated"},
				{"policy"},
				{"replication"},
			},
		},
		{
			desc:  "a primitive waits for its deepest dependency",
			prims: []Primitive{prim("a"), prim("b", "a"), prim("c", "b"), prim("d", "a", "c"), prim("e", "a")},
			want:  [][]string{{"a"}, {"b", "e"}, {"c"}, {"d"}},
		},
		{
			desc:    "duplicate name",
			prims:   []Primitive{prim("a"), prim("b"), prim("a")},
			wantErr: `primitive "a" is declared twice`,
		},
		{
			desc:    "dangling reference",
			prims:   []Primitive{prim("a", "ghost")},
			wantErr: `primitive "a" depends on "ghost", which is not in the graph`,
		},
		{
			desc:    "dangling explicit dependency",
			prims:   []Primitive{prim("b"), prim("a", "b", "ghost")},
			wantErr: `primitive "a" depends on "ghost", which is not in the graph`,
		},
		{
			desc:    "self reference",
			prims:   []Primitive{prim("a", "a")},
			wantErr: "dependency cycle among a",
		},
		{
			desc:    "cycle, with the names caught in it and nothing else",
			prims:   []Primitive{prim("root"), prim("x", "root", "z"), prim("y", "x"), prim("z", "y"), prim("after", "z")},
			wantErr: "dependency cycle among after, x, y, z",
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			g := Graph{Primitives: tt.prims}
			got, err := g.Levels()
			checkErr := g.Check()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Levels() error = %v, want one containing %q", err, tt.wantErr)
				}
				if checkErr == nil || checkErr.Error() != err.Error() {
					t.Errorf("Check() = %v, want %v", checkErr, err)
				}
				if got != nil {
					t.Errorf("Levels() = %q with an error, want nil", got)
				}
				return
			}
			if err != nil || checkErr != nil {
				t.Fatalf("Levels() error = %v, Check() = %v", err, checkErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Levels() = %q, want %q", got, tt.want)
			}
			assertTopological(t, g, got)
		})
	}
}

// assertTopological checks that every name appears once and after its dependencies.
func assertTopological(t *testing.T, g Graph, levels [][]string) {
	t.Helper()
	at := map[string]int{}
	for i, l := range levels {
		for _, n := range l {
			if _, dup := at[n]; dup {
				t.Errorf("%q appears twice in %q", n, levels)
			}
			at[n] = i
		}
	}
	if len(at) != len(g.Primitives) {
		t.Errorf("levels hold %d names, graph has %d primitives", len(at), len(g.Primitives))
	}
	for _, p := range g.Primitives {
		for _, d := range p.Dependencies() {
			if at[d] >= at[p.Name] {
				t.Errorf("%q (level %d) does not come after its dependency %q (level %d)", p.Name, at[p.Name], d, at[d])
			}
		}
	}
}

func TestLevelsIsDeterministic(t *testing.T) {
	var prims []Primitive
	for _, n := range []string{"q", "w", "e", "r", "t", "y", "u", "i", "o", "p"} {
		prims = append(prims, prim(n))
	}
	prims = append(prims, prim("z", "q", "p"))
	first, err := Graph{Primitives: prims}.Levels()
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		again, _ := Graph{Primitives: prims}.Levels()
		if !reflect.DeepEqual(first, again) {
			t.Fatalf("Levels() changed between calls: %q then %q", first, again)
		}
	}
}

func TestLimitKey(t *testing.T) {
	for _, tc := range []struct{ typ, region, want string }{
		{S3Bucket, "us-east-1", "aws:s3:us-east-1"},
		{S3BucketReplication, "us-west-2", "aws:s3:us-west-2"},
		{DynamoDBReplica, "eu-west-1", "aws:dynamodb:eu-west-1"},
		{LaunchTemplate, "us-east-1", "aws:ec2:us-east-1"},
		{EC2CapacityReservation, "us-east-1", "aws:ec2:us-east-1"},
		{AutoScalingGroup, "us-east-1", "aws:autoscaling:us-east-1"},
		{Route53Record, "us-east-1", "aws:route53"},
		{Route53HealthCheck, Global, "aws:route53"},
		{IAMRole, Global, "aws:iam"},
		{OrganizationsPolicy, Global, "aws:organizations"},
		{K8sDeployment, "prod-east", "k8s:prod-east"},
		{K8sPriorityClass, "prod-west", "k8s:prod-west"},
		{"memory_object", "local", "memory_object:local"},
	} {
		if got := LimitKey(tc.typ, tc.region); got != tc.want {
			t.Errorf("LimitKey(%q, %q) = %q, want %q", tc.typ, tc.region, got, tc.want)
		}
	}
	// A client knows the service and region of its request; the key must
	// be the one the engine finds from the primitive's type.
	if got := ServiceLimitKey("aws", "route53", "us-east-1"); got != LimitKey(Route53Zone, Global) {
		t.Errorf("a Route 53 request counts against %q, its primitives against %q", got, LimitKey(Route53Zone, Global))
	}
}
