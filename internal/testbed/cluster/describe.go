package cluster

import (
	"fmt"
	"strings"
)

// String describes the set for test logs.
func (s *Set) String() string {
	var parts []string
	for _, n := range s.Names() {
		c, _ := s.Cluster(n)
		parts = append(parts, fmt.Sprintf("%s=%s", n, c.Server()))
	}
	return strings.Join(parts, " ")
}
