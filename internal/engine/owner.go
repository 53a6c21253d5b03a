package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
)

// Every object the engine creates through a Marked driver carries two tags
// that prove whose it is: OwnerTag names the engine's scope and the
// primitive (a stack's or a terraform resource's, see Engine.Scope), and
// TokenTag is the token of the record that created it. A create that meets
// an existing object adopts it only when its OwnerTag is this primitive's
// (a create cut short by a crash, even one whose record was lost with the
// process); a delete goes ahead only when both tags match the record.
const (
	OwnerTag = "meridian:owner"
	TokenTag = "meridian:token"
)

// Marked is implemented by drivers whose objects carry tags, so that they
// carry the ownership marks too. The engine adds the marks to the tags of
// every Create and Update request of such a driver, strips them from what
// its Read observes, and reads the object before a delete to check them.
// Drivers of objects that cannot carry tags (a bucket's replication
// configuration, an inline policy, a record set) are owned through their
// parent, which is marked and was claimed when it was created.
type Marked interface {
	Marked()
}

// ErrNotOwned is wrapped by errors about an object that exists but whose
// marks do not prove that this primitive created it.
var ErrNotOwned = errors.New("not created by this resource")

// Claim decides whether a create may adopt an object it found already
// existing, given the tags that object carries: it may when the object's
// OwnerTag is the one req carries. Otherwise it returns an error wrapping
// ErrNotOwned that says what to do; the driver must return it before it
// changes anything.
func Claim(req Request, what string, have map[string]string) error {
	want := req.Tags[OwnerTag]
	if want != "" && have[OwnerTag] == want {
		return nil
	}
	return notOwned(what, have)
}

func notOwned(what string, have map[string]string) error {
	owner := "it carries no meridian ownership mark"
	if o := have[OwnerTag]; o != "" {
		owner = fmt.Sprintf("its %s mark is %q", OwnerTag, o)
	}
	return fmt.Errorf("%s already exists and %w (%s): meridian does not change or delete what it cannot prove it created. Import it (meridian import, terraform import) to manage it, or choose another name: %w",
		what, ErrNotOwned, owner, ErrExists)
}

// ErrExists is wrapped by errors about a name that is already taken.
var ErrExists = errors.New("the name is taken")

// mark returns the owner mark of the primitive named name in this engine's scope.
func (e *Engine) mark(name string) string {
	if e.Scope == "" {
		return name
	}
	return e.Scope + "/" + name
}

// withMarks returns tags plus the ownership marks of rec.
func (e *Engine) withMarks(d Driver, name, token string, tags map[string]string) map[string]string {
	if _, ok := d.(Marked); !ok {
		return tags
	}
	out := maps.Clone(tags)
	if out == nil {
		out = map[string]string{}
	}
	out[OwnerTag] = e.mark(name)
	out[TokenTag] = token
	return out
}

// stripMarks returns tags without the ownership marks, and the marks.
func stripMarks(tags map[string]string) (map[string]string, string, string) {
	if tags == nil {
		return nil, "", ""
	}
	owner, token := tags[OwnerTag], tags[TokenTag]
	if owner == "" && token == "" {
		return tags, "", ""
	}
	out := maps.Clone(tags)
	delete(out, OwnerTag)
	delete(out, TokenTag)
	return out, owner, token
}

// Finder is implemented by drivers that can look for the object a create
// cut short may have made, without making one: by its name, or by the
// OwnerTag among the objects of its kind for types whose ids the cloud
// generates. It reports found = false when there is no such object, and an
// error wrapping ErrNotOwned when the object it finds does not carry req's
// OwnerTag. The engine calls it to resolve a pending create that is no
// longer wanted, rather than creating the object in order to delete it.
type Finder interface {
	Find(ctx context.Context, req Request) (res Result, found bool, err error)
}

// DataHolder is implemented by drivers whose objects hold data (a bucket's
// objects, a table's items, a vault's recovery points). HoldsData says what
// the object holds ("objects", "items", "3 recovery points"), or "" when it
// is empty, so that plans can refuse to delete or replace data unless the
// resource allows it.
type DataHolder interface {
	HoldsData(ctx context.Context, rec Record) (string, error)
}

// InUse is implemented by drivers whose objects the cloud refuses to delete
// while other objects use them: Route 53 answers HealthCheckInUse and
// HostedZoneNotEmpty, IAM DeleteConflict. Replacing such an object
// replaces what depends on it too, dependents deleted first.
type InUse interface {
	InUse()
}
