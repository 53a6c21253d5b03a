// Package k8s holds the drivers for Kubernetes primitives, one per primitive
// type, built on client-go. Objects are written with server-side apply under
// the field manager "meridian" (FieldManager), forcing ownership of the
// fields meridian sets, so a hand edit of one of them (kubectl scale) is
// reported by refresh and undone by the next apply. Nothing shells out to
// kubectl.
//
// # Regions and clusters
//
// A primitive's Region is the name of a cluster ("region-a"), the name the
// region pair uses for that region. New takes one ClusterConfig per region:
// a kubeconfig path and context, or a host, bearer token and CA.
//
// # Primitive types and the properties their drivers read
//
// Every type reads "name" and, except the cluster-scoped k8s_namespace and
// k8s_priority_class, "namespace" (both force a new object), and "labels"
// (map of string, optional) merged into the object's labels. IDs are
// "namespace/name" ("name" for cluster-scoped objects).
//
//   - k8s_namespace (Namespace): name, labels. Delete waits until the
//     namespace and everything in it are gone (Cloud.NamespaceTimeout), so
//     a create right after a destroy does not meet a Terminating namespace.
//   - k8s_configmap (ConfigMap): namespace, name, labels, data (map of string).
//   - k8s_deployment (Deployment): namespace, name, labels, image (required),
//     replicas (number, default 1), ports (list of container port numbers),
//     env (map of string; kept in the Secret EnvSecret(name), which the
//     container takes whole, never in the Deployment's spec: the values may
//     be secrets; a change rolls the pods through EnvVersionAnnotation),
//     config_map (name of a ConfigMap whose keys become
//     environment variables), volume_claim and mount_path (a claim mounted
//     into the container; mount_path defaults to /data). Its pods are
//     selected by SelectorLabel = name. Create and Update wait until the
//     Deployment is Available with every replica updated and ready
//     (Cloud.DeploymentTimeout); the error on timeout names the replicas
//     ready/desired, the conditions and the pods that are not ready.
//   - k8s_service (Service): namespace, name, labels, ports (list of port
//     numbers; each targets the same container port), selector (map of
//     string, default SelectorLabel = name, i.e. the Deployment of the same
//     name), type (ClusterIP by default). Outputs: cluster_ip, dns
//     (name.namespace.svc.cluster.local).
//   - k8s_persistent_volume_claim (PersistentVolumeClaim): namespace, name,
//     labels, storage (a quantity such as "1Gi", required), storage_class
//     (forces a new claim; empty means the cluster's default class),
//     access_mode (ReadWriteOnce by default). Output: volume (the bound
//     volume's name, once bound).
//   - k8s_resource_quota (ResourceQuota): namespace, name, labels, hard
//     (map of resource name to quantity, e.g. {"requests.cpu": "8",
//     "pods": "20"}, required; read back in the words asked when the
//     amounts are equal, "8" not "8000m"), priority_class (optional; the
//     quota then counts only pods of that PriorityClass, through a
//     scopeSelector; forces a new quota, since the API server refuses to
//     change a scope). Outputs: used.<resource> (the quota's status).
//   - k8s_priority_class (PriorityClass, cluster-scoped): name, labels,
//     value (number, required, at most 1e9), global_default (bool, default
//     false), preemption_policy (PreemptLowerPriority by default, or
//     Never), description. value and preemption_policy force a new class:
//     the API server refuses to change them.
//
// Read reports the properties above as the object has them (replicas,
// image, ports, env, data, storage, ...), so refresh shows drift such as a
// replica count changed by hand; optional properties are reported only when
// they were asked for or the object has them. A deleted object reads as
// engine.ErrNotFound. Delete of an object already gone succeeds.
//
// # Cost tags as labels
//
// Request.Tags (the cost tags the compiler put on every primitive) become
// labels on the object, and on a Deployment's pods too, since cost tools
// attribute usage by pod labels. Tag keys and values are free text (AWS
// allows spaces, ':' and '@'); labels are not, so they are normalised by
// LabelKey and LabelValue, pure functions:
//
//   - A value keeps the characters A-Z a-z 0-9 . _ -; any run of other
//     characters becomes one '-'; leading and trailing non-alphanumerics go
//     ("Payments Team" -> "Payments-Team", "a/b:c" -> "a-b-c", "---" -> "").
//   - A key is split at its first '/' or, failing that, its first ':' into
//     a prefix and a name ("meridian:resource" -> "meridian/resource"). The
//     name follows the value rules and must not end up empty
//     ("cost-centre" -> "cost-centre", "Team Name" -> "Team-Name"); the
//     prefix is lowercased into a DNS subdomain ("My Org:x" -> "my-org/x")
//     and dropped when nothing of it is left.
//   - A name or value longer than 63 characters is cut to 54 and ends with
//     '-' and the first 8 hex digits of the SHA-256 of the original, so two
//     long values that share a beginning stay distinct.
//   - Two tags that map to the same label key are an error (Labels).
//
// So the compiler's meridian:resource and meridian:region-role tags become
// the labels meridian/resource and meridian/region-role: the region role
// label needs no property of its own.
//
// Read maps the labels back onto the recorded tag keys, so refresh reports
// a tag label changed or removed by hand as drift of "tags" without a
// perpetual diff from the normalisation. ManagedByLabel is set on every
// object.
package k8s

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/meridianhq/terraform-provider-meridian/internal/engine"
)

// The primitive types of this package.
const (
	Namespace             = "k8s_namespace"
	ConfigMap             = "k8s_configmap"
	Deployment            = "k8s_deployment"
	Service               = "k8s_service"
	PersistentVolumeClaim = "k8s_persistent_volume_claim"
	ResourceQuota         = "k8s_resource_quota"
	PriorityClass         = "k8s_priority_class"
)

// Types lists every primitive type the drivers handle.
var Types = []string{Namespace, ConfigMap, Deployment, Service, PersistentVolumeClaim, ResourceQuota, PriorityClass}

const (
	// FieldManager owns the fields meridian applies.
	FieldManager = "meridian"
	// SelectorLabel selects a Deployment's pods (value: the Deployment's name).
	SelectorLabel = "app.kubernetes.io/name"
	// ManagedByLabel marks the objects meridian applied.
	ManagedByLabel = "app.kubernetes.io/managed-by"
)

// ClusterConfig says how to reach one cluster: Kubeconfig (and Context,
// default the current one), or Host with Token and CA.
type ClusterConfig struct {
	Kubeconfig string
	Context    string
	Host       string
	Token      string
	// CAData is the PEM of the CA that signed the API server's certificate;
	// CAFile is read instead when CAData is empty.
	CAData []byte
	CAFile string
}

// RESTConfig turns a ClusterConfig into a client-go configuration.
func (cc ClusterConfig) RESTConfig() (*rest.Config, error) {
	var (
		cfg *rest.Config
		err error
	)
	switch {
	case cc.Kubeconfig != "" && cc.Host != "":
		return nil, errors.New("set either a kubeconfig (and context) or a host, token and CA, not both")
	case cc.Kubeconfig != "":
		rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: cc.Kubeconfig}
		overrides := &clientcmd.ConfigOverrides{CurrentContext: cc.Context}
		cfg, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("kubeconfig %s, context %q: %w", cc.Kubeconfig, cc.Context, err)
		}
	case cc.Host != "":
		cfg = &rest.Config{Host: cc.Host, BearerToken: cc.Token,
			TLSClientConfig: rest.TLSClientConfig{CAData: cc.CAData, CAFile: cc.CAFile}}
	default:
		return nil, errors.New("no kubeconfig and no host")
	}
	cfg.UserAgent = "meridian"
	// The engine runs up to ten steps at once; client-go's default of 5
	// requests a second would throttle waits and reads.
	cfg.QPS, cfg.Burst = 50, 100
	return cfg, nil
}

// Cloud holds a client per region (cluster).
type Cloud struct {
	clients map[string]kubernetes.Interface
	// DeploymentTimeout bounds the wait for a Deployment to become Available.
	DeploymentTimeout time.Duration
	// NamespaceTimeout bounds the wait for a deleted namespace to be gone.
	NamespaceTimeout time.Duration
	// poll is the interval of every wait.
	poll time.Duration
}

// New builds a Cloud from one ClusterConfig per region name.
func New(clusters map[string]ClusterConfig) (*Cloud, error) {
	configs := map[string]*rest.Config{}
	for _, region := range sortedKeys(clusters) {
		cfg, err := clusters[region].RESTConfig()
		if err != nil {
			return nil, fmt.Errorf("cluster %q: %w", region, err)
		}
		configs[region] = cfg
	}
	return NewFromREST(configs)
}

// NewFromREST builds a Cloud from one client-go configuration per region.
func NewFromREST(configs map[string]*rest.Config) (*Cloud, error) {
	if len(configs) == 0 {
		return nil, errors.New("no clusters configured")
	}
	c := &Cloud{clients: map[string]kubernetes.Interface{}, DeploymentTimeout: 5 * time.Minute,
		NamespaceTimeout: 5 * time.Minute, poll: 500 * time.Millisecond}
	for region, cfg := range configs {
		cs, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return nil, fmt.Errorf("cluster %q: %w", region, err)
		}
		c.clients[region] = cs
	}
	return c, nil
}

// Regions lists the configured region names.
func (c *Cloud) Regions() []string { return sortedKeys(c.clients) }

// Client returns the clientset of a region's cluster.
func (c *Cloud) Client(region string) (kubernetes.Interface, error) {
	cs, ok := c.clients[region]
	if !ok {
		return nil, fmt.Errorf("no Kubernetes cluster configured for region %q (configured: %s)", region, strings.Join(c.Regions(), ", "))
	}
	return cs, nil
}

// Drivers returns a driver for every Kubernetes primitive type.
func (c *Cloud) Drivers() engine.Drivers {
	return engine.Drivers{
		Namespace:             driver{c, namespaceKind{}},
		ConfigMap:             driver{c, configMapKind{}},
		Deployment:            driver{c, deploymentKind{}},
		Service:               driver{c, serviceKind{}},
		PersistentVolumeClaim: driver{c, claimKind{}},
		ResourceQuota:         driver{c, quotaKind{}},
		PriorityClass:         driver{c, priorityClassKind{}},
	}
}

// classify turns API errors into the engine's vocabulary: not found, or
// retryable (throttling, timeouts, 5xx).
func classify(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%w: %v", engine.ErrNotFound, err)
	case apierrors.IsTooManyRequests(err), apierrors.IsServerTimeout(err), apierrors.IsTimeout(err),
		apierrors.IsServiceUnavailable(err), apierrors.IsInternalError(err):
		return engine.Retryable(err)
	}
	var status apierrors.APIStatus
	if errors.As(err, &status) && status.Status().Code >= http.StatusInternalServerError {
		return engine.Retryable(err)
	}
	return err
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// wait polls check until it reports done, fails, or timeout passes; then
// the error is the one describe gives.
func (c *Cloud) wait(ctx context.Context, timeout time.Duration, check func(context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		done, err := check(ctx)
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(c.poll):
		}
	}
}
