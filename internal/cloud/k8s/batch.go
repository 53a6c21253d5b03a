package k8s

import (
	"context"
	"fmt"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
)

// listPage is how many objects one list call returns at most.
const listPage = 500

// managedSelector selects the objects meridian applied.
var managedSelector = ManagedByLabel + "=" + FieldManager

// ReadAll lists the kind's objects that carry the managed-by label, one
// list per namespace (one for a cluster-scoped kind) and 500 objects, and
// reports each as Read does. A record whose object the list did not return
// (its label removed by hand, an object adopted before meridian labelled
// it, or a deleted one) is read with Read, so that only a GET can say an
// object is gone.
func (d driver) ReadAll(ctx context.Context, recs []engine.Record) (_ map[string]engine.Observation, err error) {
	cs, err := d.c.Client(recs[0].Region)
	if err != nil {
		return nil, err
	}
	byNS := map[string][]engine.Record{}
	for _, rec := range recs {
		ns, _ := d.locate(rec)
		if !d.kind.namespaced() {
			ns = ""
		}
		byNS[ns] = append(byNS[ns], rec)
	}
	namespaces := sortedKeys(byNS)
	seen := map[string]engine.Observation{}
	var mu sync.Mutex
	err = engine.ForEach(ctx, len(namespaces), func(ctx context.Context, i int) error {
		ns := namespaces[i]
		objs := map[string]metav1.Object{}
		opts := metav1.ListOptions{LabelSelector: managedSelector, Limit: listPage}
		for {
			page, cont, err := d.kind.list(ctx, cs, ns, opts)
			if err != nil {
				return fmt.Errorf("list %s: %w", id(ns, "*"), classify(err))
			}
			for _, obj := range page {
				objs[obj.GetName()] = obj
			}
			if cont == "" {
				break
			}
			opts.Continue = cont
		}
		for _, rec := range byNS[ns] {
			_, name := d.locate(rec)
			if obj, ok := objs[name]; ok && obj.GetDeletionTimestamp() == nil {
				obs, err := d.observe(ctx, cs, rec, obj)
				if err != nil {
					return err
				}
				mu.Lock()
				seen[rec.Name] = obs
				mu.Unlock()
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return engine.ReadMissing(ctx, recs, seen, d.Read)
}

// objects turns the items of a typed list into objects.
func objects[T any, P interface {
	*T
	metav1.Object
}](items []T) []metav1.Object {
	out := make([]metav1.Object, len(items))
	for i := range items {
		out[i] = P(&items[i])
	}
	return out
}

func (namespaceKind) list(ctx context.Context, cs kubernetes.Interface, _ string, opts metav1.ListOptions) ([]metav1.Object, string, error) {
	l, err := cs.CoreV1().Namespaces().List(ctx, opts)
	if err != nil {
		return nil, "", err
	}
	return objects(l.Items), l.Continue, nil
}

func (configMapKind) list(ctx context.Context, cs kubernetes.Interface, ns string, opts metav1.ListOptions) ([]metav1.Object, string, error) {
	l, err := cs.CoreV1().ConfigMaps(ns).List(ctx, opts)
	if err != nil {
		return nil, "", err
	}
	return objects(l.Items), l.Continue, nil
}

func (deploymentKind) list(ctx context.Context, cs kubernetes.Interface, ns string, opts metav1.ListOptions) ([]metav1.Object, string, error) {
	l, err := cs.AppsV1().Deployments(ns).List(ctx, opts)
	if err != nil {
		return nil, "", err
	}
	return objects(l.Items), l.Continue, nil
}

func (serviceKind) list(ctx context.Context, cs kubernetes.Interface, ns string, opts metav1.ListOptions) ([]metav1.Object, string, error) {
	l, err := cs.CoreV1().Services(ns).List(ctx, opts)
	if err != nil {
		return nil, "", err
	}
	return objects(l.Items), l.Continue, nil
}

func (claimKind) list(ctx context.Context, cs kubernetes.Interface, ns string, opts metav1.ListOptions) ([]metav1.Object, string, error) {
	l, err := cs.CoreV1().PersistentVolumeClaims(ns).List(ctx, opts)
	if err != nil {
		return nil, "", err
	}
	return objects(l.Items), l.Continue, nil
}

func (quotaKind) list(ctx context.Context, cs kubernetes.Interface, ns string, opts metav1.ListOptions) ([]metav1.Object, string, error) {
	l, err := cs.CoreV1().ResourceQuotas(ns).List(ctx, opts)
	if err != nil {
		return nil, "", err
	}
	return objects(l.Items), l.Continue, nil
}

func (priorityClassKind) list(ctx context.Context, cs kubernetes.Interface, _ string, opts metav1.ListOptions) ([]metav1.Object, string, error) {
	l, err := cs.SchedulingV1().PriorityClasses().List(ctx, opts)
	if err != nil {
		return nil, "", err
	}
	return objects(l.Items), l.Continue, nil
}
