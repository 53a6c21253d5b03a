package state_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/state"
)

// BenchmarkS3Append journals one record's change on stacks of 200 and 2000
// records kept in S3 (moto): the cost of a change should not grow with the
// state. go test ./internal/state -run '^$' -bench S3Append -benchtime 200x
func BenchmarkS3Append(b *testing.B) {
	ctx := context.Background()
	client := motoBucket(b, "bench")
	for _, n := range []int{200, 2000} {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			st, _ := state.S3Store{Client: client, Bucket: "bench"}.Stack(fmt.Sprintf("bench-%d", n))
			var d state.Document
			for i := range n {
				d.Records = append(d.Records, engine.Record{Name: fmt.Sprintf("obj.%05d", i), Type: "t", Region: "r", ID: fmt.Sprint(i), Inputs: map[string]any{"payload": strings.Repeat("x", 100)}})
			}
			// The function runs more than once: load before saving over it.
			if _, err := st.Load(ctx); err != nil {
				b.Fatal(err)
			}
			if err := st.Save(ctx, d); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				if err := st.Append(ctx, engine.Changes{Put: []engine.Record{{Name: fmt.Sprintf("new.%d", i), Type: "t", Region: "r", ID: "x"}}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
