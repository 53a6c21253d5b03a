package blueprint

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/agext/levenshtein"
)

// instanceFamilies are the EC2 instance families meridian knows exist. A
// type is a family and a size ("m5.large"); knowing the families lets a
// misspelt type be reported as one, instead of as a type the price table
// lacks, which sends the user to write a price for a type that does not exist.
var instanceFamilies = strings.Fields(`
	a1 t2 t3 t3a t4g
	m4 m5 m5a m5ad m5d m5dn m5n m5zn m6a m6g m6gd m6i m6id m6idn m6in m7a m7g m7gd m7i m7i-flex m8g
	c4 c5 c5a c5ad c5d c5n c6a c6g c6gd c6gn c6i c6id c6in c7a c7g c7gd c7gn c7i c7i-flex c8g
	r4 r5 r5a r5ad r5b r5d r5dn r5n r6a r6g r6gd r6i r6id r6idn r6in r7a r7g r7gd r7i r7iz r8g
	x1 x1e x2gd x2idn x2iedn x2iezn x8g z1d u-3tb1 u-6tb1
	d2 d3 d3en h1 i3 i3en i4g i4i im4gn is4gen
	g4ad g4dn g5 g5g g6 g6e gr6 p3 p3dn p4d p4de p5 p5e inf1 inf2 trn1 trn1n dl1 f1 vt1 hpc6a hpc7g mac1 mac2
`)

var instanceSize = regexp.MustCompile(`^(nano|micro|small|medium|large|[0-9]*xlarge|metal|metal-[0-9]+xl)$`)

var commonSizes = []string{"medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "metal"}

// KnownInstanceType says whether t names an EC2 instance type: a known
// family and a size, or any type the price table prices.
func KnownInstanceType(t string, prices PriceTable) bool {
	for _, types := range prices.Prices {
		if _, ok := types[t]; ok {
			return true
		}
	}
	family, size, ok := strings.Cut(t, ".")
	return ok && slices.Contains(instanceFamilies, family) && instanceSize.MatchString(size)
}

// SuggestInstanceTypes are the names closest to a type that does not exist,
// the priced ones first: at most three, within two edits.
func SuggestInstanceTypes(t string, prices PriceTable) []string {
	var priced, other []string
	for _, types := range prices.Prices {
		for name := range types {
			priced = append(priced, name)
		}
	}
	family, size, _ := strings.Cut(t, ".")
	for _, f := range instanceFamilies {
		other = append(other, f+"."+size)
	}
	for _, s := range commonSizes {
		other = append(other, family+"."+s)
	}
	type candidate struct {
		name string
		cost int
	}
	var cs []candidate
	seen := map[string]bool{}
	for i, names := range [][]string{priced, other} {
		for _, name := range names {
			if seen[name] || !KnownInstanceType(name, prices) {
				continue
			}
			seen[name] = true
			if d := levenshtein.Distance(t, name, nil); d <= 2 {
				cs = append(cs, candidate{name, 2*d + i}) // a priced type wins a tie
			}
		}
	}
	slices.SortFunc(cs, func(a, b candidate) int {
		if a.cost != b.cost {
			return a.cost - b.cost
		}
		return strings.Compare(a.name, b.name)
	})
	var out []string
	for _, c := range cs[:min(3, len(cs))] {
		out = append(out, c.name)
	}
	return out
}

// unknownInstanceType is the detail of the problem a misspelt type makes.
func unknownInstanceType(t string, prices PriceTable) string {
	msg := fmt.Sprintf("%q is not an EC2 instance type (a family and a size, such as m5.large).", t)
	if s := SuggestInstanceTypes(t, prices); len(s) > 0 {
		msg += " Did you mean " + strings.Join(s, " or ") + "?"
	}
	return msg
}
