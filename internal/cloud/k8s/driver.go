package k8s

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
	"github.com/meridianhq/terraform-provider-meridian/internal/primitive"
)

// props are the properties of every type; each kind reads its own (see the
// package documentation).
type props struct {
	Namespace string            `json:"namespace"`
	Name      string            `json:"name"`
	Labels    map[string]string `json:"labels"`
	// configmap
	Data map[string]string `json:"data"`
	// deployment
	Image       string            `json:"image"`
	Replicas    *int              `json:"replicas"`
	Ports       []int             `json:"ports"`
	Env         map[string]string `json:"env"`
	ConfigMap   string            `json:"config_map"`
	VolumeClaim string            `json:"volume_claim"`
	MountPath   string            `json:"mount_path"`
	// service
	Selector map[string]string `json:"selector"`
	Type     string            `json:"type"`
	// persistent volume claim
	Storage      string `json:"storage"`
	StorageClass string `json:"storage_class"`
	AccessMode   string `json:"access_mode"`
	// resource quota
	Hard          map[string]string `json:"hard"`
	PriorityClass string            `json:"priority_class"`
	// priority class
	Value            *int   `json:"value"`
	GlobalDefault    bool   `json:"global_default"`
	PreemptionPolicy string `json:"preemption_policy"`
	Description      string `json:"description"`
}

// kind is what differs between the object types; driver does the rest.
type kind interface {
	namespaced() bool
	forceNew() []string
	validate(p props) error
	// apply writes the object with server-side apply.
	apply(ctx context.Context, cs kubernetes.Interface, p props, labels map[string]string) error
	get(ctx context.Context, cs kubernetes.Interface, ns, name string) (metav1.Object, error)
	// list returns a page of the objects in namespace ns (all namespaces
	// for a cluster-scoped kind) and the token of the next page, if any.
	list(ctx context.Context, cs kubernetes.Interface, ns string, opts metav1.ListOptions) ([]metav1.Object, string, error)
	// observe reports the properties the object has; inputs are the
	// recorded ones, which say which optional properties were asked for.
	observe(obj metav1.Object, inputs map[string]any) map[string]any
	outputs(obj metav1.Object) map[string]string
	delete(ctx context.Context, cs kubernetes.Interface, ns, name string) error
}

// companion is a kind that keeps some of its properties in another object
// (a Deployment's env in its Secret): Read reports them from there.
type companion interface {
	observeCompanion(ctx context.Context, cs kubernetes.Interface, obj metav1.Object, inputs, out map[string]any) error
}

// waiter is a kind whose object must reach a state before a create or
// update counts as done.
type waiter interface {
	ready(ctx context.Context, c *Cloud, cs kubernetes.Interface, p props) error
}

// deleteWaiter is a kind whose deletion must finish before Delete returns.
type deleteWaiter interface {
	gone(ctx context.Context, c *Cloud, cs kubernetes.Interface, ns, name string) error
}

type driver struct {
	c    *Cloud
	kind kind
}

func (d driver) ForceNew() []string { return d.kind.forceNew() }

func (d driver) decode(properties map[string]any) (props, error) {
	var p props
	if err := primitive.Decode(properties, &p); err != nil {
		return p, err
	}
	if p.Name == "" {
		return p, errors.New("property name is required")
	}
	if d.kind.namespaced() && p.Namespace == "" {
		return p, fmt.Errorf("%s: property namespace is required", p.Name)
	}
	return p, d.kind.validate(p)
}

func (d driver) Create(ctx context.Context, req engine.Request) (engine.Result, error) {
	p, err := d.decode(req.Properties)
	if err != nil {
		return engine.Result{}, err
	}
	cs, err := d.c.Client(req.Region)
	if err != nil {
		return engine.Result{}, err
	}
	obj, err := d.kind.get(ctx, cs, p.Namespace, p.Name)
	switch err = classify(err); {
	case errors.Is(err, engine.ErrNotFound):
	case err != nil:
		return engine.Result{}, err
	case obj.GetDeletionTimestamp() != nil:
		// Left over from a destroy that did not wait: let it go first.
		if w, ok := d.kind.(deleteWaiter); ok {
			if err := w.gone(ctx, d.c, cs, p.Namespace, p.Name); err != nil {
				return engine.Result{}, err
			}
		}
	case !req.Resume:
		// Someone else's object: taking it over silently would let a
		// destroy delete it.
		return engine.Result{}, fmt.Errorf("%s already exists in cluster %q; import it or delete it first", describe(p), req.Region)
	}
	return d.apply(ctx, cs, p, req)
}

func (d driver) Update(ctx context.Context, rec engine.Record, req engine.Request) (engine.Result, error) {
	p, err := d.decode(req.Properties)
	if err != nil {
		return engine.Result{}, err
	}
	cs, err := d.c.Client(req.Region)
	if err != nil {
		return engine.Result{}, err
	}
	return d.apply(ctx, cs, p, req)
}

func (d driver) apply(ctx context.Context, cs kubernetes.Interface, p props, req engine.Request) (engine.Result, error) {
	labels, err := objectLabels(p.Labels, req.Tags)
	if err != nil {
		return engine.Result{}, fmt.Errorf("%s: %w", describe(p), err)
	}
	if err := d.kind.apply(ctx, cs, p, labels); err != nil {
		return engine.Result{}, fmt.Errorf("apply %s: %w", describe(p), classify(err))
	}
	if w, ok := d.kind.(waiter); ok {
		if err := w.ready(ctx, d.c, cs, p); err != nil {
			return engine.Result{}, err
		}
	}
	obj, err := d.kind.get(ctx, cs, p.Namespace, p.Name)
	if err != nil {
		return engine.Result{}, fmt.Errorf("read %s after apply: %w", describe(p), classify(err))
	}
	return engine.Result{ID: id(p.Namespace, p.Name), Outputs: d.outputs(obj)}, nil
}

func (d driver) outputs(obj metav1.Object) map[string]string {
	out := map[string]string{"name": obj.GetName()}
	if d.kind.namespaced() {
		out["namespace"] = obj.GetNamespace()
	}
	maps.Copy(out, d.kind.outputs(obj))
	return out
}

func (d driver) Read(ctx context.Context, rec engine.Record) (engine.Observation, error) {
	ns, name := d.locate(rec)
	cs, err := d.c.Client(rec.Region)
	if err != nil {
		return engine.Observation{}, err
	}
	obj, err := d.kind.get(ctx, cs, ns, name)
	if err != nil {
		return engine.Observation{}, classify(err)
	}
	if obj.GetDeletionTimestamp() != nil {
		return engine.Observation{}, fmt.Errorf("%w: %s is being deleted", engine.ErrNotFound, id(ns, name))
	}
	return d.observe(ctx, cs, rec, obj)
}

// observe reports what Read reports of obj, the object of rec.
func (d driver) observe(ctx context.Context, cs kubernetes.Interface, rec engine.Record, obj metav1.Object) (engine.Observation, error) {
	observed := d.kind.observe(obj, rec.Inputs)
	if c, ok := d.kind.(companion); ok {
		if err := c.observeCompanion(ctx, cs, obj, rec.Inputs, observed); err != nil {
			return engine.Observation{}, err
		}
	}
	observed["name"] = obj.GetName()
	if d.kind.namespaced() {
		observed["namespace"] = obj.GetNamespace()
	}
	if asked, ok := rec.Inputs["labels"].(map[string]any); ok {
		have := map[string]any{}
		for k := range asked {
			if v, ok := obj.GetLabels()[k]; ok {
				have[k] = v
			}
		}
		observed["labels"] = have
	}
	return engine.Observation{
		Properties: observed,
		Tags:       tagsFromLabels(rec.Tags, obj.GetLabels()),
		Outputs:    d.outputs(obj),
	}, nil
}

// locate finds namespace and name in the recorded inputs, or else in the ID.
func (d driver) locate(rec engine.Record) (string, string) {
	var p props
	_ = primitive.Decode(rec.Inputs, &p)
	if p.Name != "" {
		return p.Namespace, p.Name
	}
	if ns, name, ok := strings.Cut(rec.ID, "/"); ok {
		return ns, name
	}
	return "", rec.ID
}

func (d driver) Delete(ctx context.Context, rec engine.Record) error {
	ns, name := d.locate(rec)
	cs, err := d.c.Client(rec.Region)
	if err != nil {
		return err
	}
	err = classify(d.kind.delete(ctx, cs, ns, name))
	if err != nil && !errors.Is(err, engine.ErrNotFound) {
		return fmt.Errorf("delete %s: %w", id(ns, name), err)
	}
	if w, ok := d.kind.(deleteWaiter); ok {
		return w.gone(ctx, d.c, cs, ns, name)
	}
	return nil
}

func id(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

func describe(p props) string { return id(p.Namespace, p.Name) }

// objectLabels are the cost tags as labels, the primitive's own labels
// (which win: they are explicit) and the managed-by mark.
func objectLabels(own, tags map[string]string) (map[string]string, error) {
	out, err := Labels(tags)
	if err != nil {
		return nil, err
	}
	maps.Copy(out, own)
	out[ManagedByLabel] = FieldManager
	return out, nil
}

// tagsFromLabels reports the recorded tags as the object's labels show
// them: a tag whose label still holds its normalised value is reported as
// recorded; one whose label was changed is reported with the label's
// value; one whose label is gone is left out.
func tagsFromLabels(recorded, labels map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range recorded {
		lk, err := LabelKey(k)
		if err != nil {
			continue
		}
		lv, ok := labels[lk]
		switch {
		case !ok:
		case lv == LabelValue(v):
			out[k] = v
		default:
			out[k] = lv
		}
	}
	return out
}

// report sets out[key] when the property was asked for or the object has
// a value other than the default, so an unset optional property never
// shows as drift.
func report(out, inputs map[string]any, key string, value any, isDefault bool) {
	if _, asked := inputs[key]; asked || !isDefault {
		out[key] = value
	}
}
