package engine

import (
	"context"
	"fmt"

	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// Adopt builds the records of a graph whose objects already exist, from
// their ids: each is read, in dependency order so that references resolve,
// and recorded as it is. This is how import works. An object that does not
// exist is an error, not a silent gap.
func (e *Engine) Adopt(ctx context.Context, g primitive.Graph, ids map[string]string) (State, error) {
	var st State
	levels, err := g.Levels()
	if err != nil {
		return st, err
	}
	byName := map[string]primitive.Primitive{}
	for _, p := range g.Primitives {
		byName[p.Name] = p
	}
	for _, level := range levels {
		for _, name := range level {
			p := byName[name]
			id := ids[name]
			if id == "" {
				return st, fmt.Errorf("%s: no id recorded for it", name)
			}
			d, ok := e.Drivers[p.Type]
			if !ok {
				return st, fmt.Errorf("%s: no driver for type %q", name, p.Type)
			}
			inputs, missing := primitive.Resolve(p.Properties, st.outputs)
			if len(missing) > 0 {
				return st, fmt.Errorf("%s: unresolved references %v", name, missing)
			}
			rec := Record{Name: name, Type: p.Type, Region: p.Region, ID: id, Inputs: inputs, DependsOn: p.Dependencies()}
			var obs Observation
			err := e.retry(ctx, Step{Name: name, Type: p.Type, Region: p.Region}, func() (err error) {
				obs, err = d.Read(ctx, rec)
				return err
			})
			if err != nil {
				return st, fmt.Errorf("read %s (%s %s in %s): %w", name, p.Type, id, p.Region, err)
			}
			for k, v := range primitive.Normalize(obs.Properties) {
				rec.Inputs[k] = v
			}
			tags, owner, token := stripMarks(obs.Tags)
			rec.Tags = tags
			rec.Outputs = withID(obs.Outputs, id)
			if _, marked := d.(Marked); marked {
				// An object this scope created keeps its token; any other
				// is the user's by their import, and is marked as ours by
				// the next update.
				rec.Token = token
				if owner != e.mark(name) || token == "" {
					rec.Token, rec.Unmarked = newToken(), true
				}
			}
			rec.Inputs, rec.Sensitive = primitive.Sealed(rec.Inputs, p.Sensitive, rec.Token), p.Sensitive
			st.Put(rec)
		}
	}
	return st, nil
}
