package k8s

import (
	"context"
	"fmt"
	"math"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	schedulingv1ac "k8s.io/client-go/applyconfigurations/scheduling/v1"
	"k8s.io/client-go/kubernetes"
)

// ---- resource quota

type quotaKind struct{}

func (quotaKind) namespaced() bool { return true }

// The API server refuses to change a quota's scope selector.
func (quotaKind) forceNew() []string { return []string{"namespace", "name", "priority_class"} }

func (quotaKind) validate(p props) error {
	if len(p.Hard) == 0 {
		return fmt.Errorf("%s: property hard needs at least one resource (e.g. {\"requests.cpu\": \"8\"})", describe(p))
	}
	for _, r := range sortedKeys(p.Hard) {
		if _, err := resource.ParseQuantity(p.Hard[r]); err != nil {
			return fmt.Errorf("%s: hard %s = %q is not a quantity: %w", describe(p), r, p.Hard[r], err)
		}
	}
	return nil
}

func (quotaKind) apply(ctx context.Context, cs kubernetes.Interface, p props, labels map[string]string) error {
	hard := corev1.ResourceList{}
	for r, q := range p.Hard {
		hard[corev1.ResourceName(r)] = resource.MustParse(q)
	}
	spec := corev1ac.ResourceQuotaSpec().WithHard(hard)
	if p.PriorityClass != "" {
		spec.WithScopeSelector(corev1ac.ScopeSelector().WithMatchExpressions(
			corev1ac.ScopedResourceSelectorRequirement().WithScopeName(corev1.ResourceQuotaScopePriorityClass).
				WithOperator(corev1.ScopeSelectorOpIn).WithValues(p.PriorityClass)))
	}
	_, err := cs.CoreV1().ResourceQuotas(p.Namespace).Apply(ctx,
		corev1ac.ResourceQuota(p.Name, p.Namespace).WithLabels(labels).WithSpec(spec), applyOptions)
	return err
}

func (quotaKind) get(ctx context.Context, cs kubernetes.Interface, ns, name string) (metav1.Object, error) {
	return cs.CoreV1().ResourceQuotas(ns).Get(ctx, name, metav1.GetOptions{})
}

func (quotaKind) observe(obj metav1.Object, inputs map[string]any) map[string]any {
	q := obj.(*corev1.ResourceQuota)
	asked, _ := inputs["hard"].(map[string]any)
	hard := map[string]string{}
	for r, have := range q.Spec.Hard {
		v := have.String()
		// "8" asked and "8000m" stored are the same amount: report the
		// words that were asked, not a perpetual diff.
		if s, ok := asked[string(r)].(string); ok {
			if want, err := resource.ParseQuantity(s); err == nil && want.Cmp(have) == 0 {
				v = s
			}
		}
		hard[string(r)] = v
	}
	out := map[string]any{"hard": hard}
	class := quotaPriorityClass(q)
	report(out, inputs, "priority_class", class, class == "")
	return out
}

// quotaPriorityClass is the class a quota's scope selector names, or "" for
// a quota without one (or with a selector meridian does not write).
func quotaPriorityClass(q *corev1.ResourceQuota) string {
	if q.Spec.ScopeSelector == nil {
		return ""
	}
	for _, m := range q.Spec.ScopeSelector.MatchExpressions {
		if m.ScopeName == corev1.ResourceQuotaScopePriorityClass && m.Operator == corev1.ScopeSelectorOpIn && len(m.Values) == 1 {
			return m.Values[0]
		}
	}
	return ""
}

// The quota's use is what a capacity review compares with its limits.
func (quotaKind) outputs(obj metav1.Object) map[string]string {
	q := obj.(*corev1.ResourceQuota)
	out := map[string]string{}
	for r, used := range q.Status.Used {
		out["used."+string(r)] = used.String()
	}
	return out
}

func (quotaKind) delete(ctx context.Context, cs kubernetes.Interface, ns, name string) error {
	return cs.CoreV1().ResourceQuotas(ns).Delete(ctx, name, deleteOptions())
}

// ---- priority class

type priorityClassKind struct{}

// maxUserPriority is the highest value a class that is not a system class
// may have (scheduling.HighestUserDefinablePriority).
const maxUserPriority = 1_000_000_000

func (priorityClassKind) namespaced() bool { return false }

// The API server refuses to change a class's value or preemption policy.
func (priorityClassKind) forceNew() []string { return []string{"name", "value", "preemption_policy"} }

func (priorityClassKind) validate(p props) error {
	if p.Value == nil {
		return fmt.Errorf("%s: property value is required", p.Name)
	}
	if *p.Value > maxUserPriority {
		return fmt.Errorf("%s: value %d is above %d, the highest a class outside the system ones may have", p.Name, *p.Value, maxUserPriority)
	}
	if *p.Value < math.MinInt32 {
		return fmt.Errorf("%s: value %d is below the lowest 32-bit integer", p.Name, *p.Value)
	}
	switch corev1.PreemptionPolicy(p.PreemptionPolicy) {
	case "", corev1.PreemptLowerPriority, corev1.PreemptNever:
	default:
		return fmt.Errorf("%s: preemption_policy %q is not PreemptLowerPriority or Never", p.Name, p.PreemptionPolicy)
	}
	return nil
}

func preemptionPolicy(p props) corev1.PreemptionPolicy {
	if p.PreemptionPolicy == "" {
		return corev1.PreemptLowerPriority
	}
	return corev1.PreemptionPolicy(p.PreemptionPolicy)
}

func (priorityClassKind) apply(ctx context.Context, cs kubernetes.Interface, p props, labels map[string]string) error {
	pc := schedulingv1ac.PriorityClass(p.Name).WithLabels(labels).WithValue(int32(*p.Value)).
		WithGlobalDefault(p.GlobalDefault).WithPreemptionPolicy(preemptionPolicy(p))
	if p.Description != "" {
		pc.WithDescription(p.Description)
	}
	_, err := cs.SchedulingV1().PriorityClasses().Apply(ctx, pc, applyOptions)
	return err
}

func (priorityClassKind) get(ctx context.Context, cs kubernetes.Interface, _, name string) (metav1.Object, error) {
	return cs.SchedulingV1().PriorityClasses().Get(ctx, name, metav1.GetOptions{})
}

func (priorityClassKind) observe(obj metav1.Object, inputs map[string]any) map[string]any {
	pc := obj.(*schedulingv1.PriorityClass)
	out := map[string]any{"value": int(pc.Value)}
	report(out, inputs, "global_default", pc.GlobalDefault, !pc.GlobalDefault)
	policy := corev1.PreemptLowerPriority
	if pc.PreemptionPolicy != nil {
		policy = *pc.PreemptionPolicy
	}
	report(out, inputs, "preemption_policy", string(policy), policy == corev1.PreemptLowerPriority)
	report(out, inputs, "description", pc.Description, pc.Description == "")
	return out
}

func (priorityClassKind) outputs(metav1.Object) map[string]string { return nil }

func (priorityClassKind) delete(ctx context.Context, cs kubernetes.Interface, _, name string) error {
	return cs.SchedulingV1().PriorityClasses().Delete(ctx, name, deleteOptions())
}
