package kubeexec

import (
	"context"
	"fmt"
	"net/http"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
)

// Client talks to the two API groups the executor uses, core/v1 and batch/v1, over one HTTP client and one rate
// limiter. It is client-go's generated clientset cut down to those groups on purpose: the clientset (and its
// informer factory) imports every API group Kubernetes has, which made runplane's cold build several minutes
// longer for types it never uses. Requests are the clientset's own (same paths, protobuf preferred, same options).
type Client struct {
	core, batch, rbac rest.Interface
}

// scheme knows core/v1 and batch/v1 (and meta/v1's options and Status in each).
var (
	scheme         = runtime.NewScheme()
	codecs         = serializer.NewCodecFactory(scheme)
	parameterCodec = runtime.NewParameterCodec(scheme)
)

func init() {
	metav1.AddToGroupVersion(scheme, schema.GroupVersion{Version: "v1"})
	utilruntime.Must(corev1.AddToScheme(scheme))
	utilruntime.Must(batchv1.AddToScheme(scheme))
	utilruntime.Must(rbacv1.AddToScheme(scheme))
}

// NewClient returns a Client for the cluster rc describes, as kubernetes.NewForConfig would.
func NewClient(rc *rest.Config) (*Client, error) {
	cfg := *rc
	if cfg.UserAgent == "" {
		cfg.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	httpClient, err := rest.HTTPClientFor(&cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %w", err)
	}
	// One limiter for both groups, as the clientset shares one.
	if cfg.RateLimiter == nil && cfg.QPS > 0 {
		if cfg.Burst <= 0 {
			return nil, fmt.Errorf("kubernetes: burst must be greater than 0 when QPS is set")
		}
		cfg.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(cfg.QPS, cfg.Burst)
	}
	core, err := groupClient(cfg, httpClient, "/api", corev1.SchemeGroupVersion)
	if err != nil {
		return nil, err
	}
	batch, err := groupClient(cfg, httpClient, "/apis", batchv1.SchemeGroupVersion)
	if err != nil {
		return nil, err
	}
	rbac, err := groupClient(cfg, httpClient, "/apis", rbacv1.SchemeGroupVersion)
	if err != nil {
		return nil, err
	}
	return &Client{core: core, batch: batch, rbac: rbac}, nil
}

func groupClient(cfg rest.Config, httpClient *http.Client, apiPath string, gv schema.GroupVersion) (*rest.RESTClient, error) {
	cfg.GroupVersion = &gv
	cfg.APIPath = apiPath
	cfg.NegotiatedSerializer = rest.CodecFactoryForGeneratedClient(scheme, codecs).WithoutConversion()
	c, err := rest.RESTClientForConfigAndClient(&cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %s client: %w", gv, err)
	}
	return c, nil
}

// Jobs are the batch/v1 Jobs of namespace ns.
func (c *Client) Jobs(ns string) objects[*batchv1.Job, *batchv1.JobList] {
	return objects[*batchv1.Job, *batchv1.JobList]{client: c.batch, ns: ns, name: "jobs",
		newObj: func() *batchv1.Job { return new(batchv1.Job) }, newList: func() *batchv1.JobList { return new(batchv1.JobList) }}
}

// Pods are the Pods of namespace ns.
func (c *Client) Pods(ns string) objects[*corev1.Pod, *corev1.PodList] {
	return objects[*corev1.Pod, *corev1.PodList]{client: c.core, ns: ns, name: "pods",
		newObj: func() *corev1.Pod { return new(corev1.Pod) }, newList: func() *corev1.PodList { return new(corev1.PodList) }}
}

// Secrets are the Secrets of namespace ns.
func (c *Client) Secrets(ns string) objects[*corev1.Secret, *corev1.SecretList] {
	return objects[*corev1.Secret, *corev1.SecretList]{client: c.core, ns: ns, name: "secrets",
		newObj: func() *corev1.Secret { return new(corev1.Secret) }, newList: func() *corev1.SecretList { return new(corev1.SecretList) }}
}

// Events are the Events of namespace ns.
func (c *Client) Events(ns string) objects[*corev1.Event, *corev1.EventList] {
	return objects[*corev1.Event, *corev1.EventList]{client: c.core, ns: ns, name: "events",
		newObj: func() *corev1.Event { return new(corev1.Event) }, newList: func() *corev1.EventList { return new(corev1.EventList) }}
}

// ServiceAccounts are the ServiceAccounts of namespace ns.
func (c *Client) ServiceAccounts(ns string) objects[*corev1.ServiceAccount, *corev1.ServiceAccountList] {
	return objects[*corev1.ServiceAccount, *corev1.ServiceAccountList]{client: c.core, ns: ns, name: "serviceaccounts",
		newObj:  func() *corev1.ServiceAccount { return new(corev1.ServiceAccount) },
		newList: func() *corev1.ServiceAccountList { return new(corev1.ServiceAccountList) }}
}

// Roles are the Roles of namespace ns ("": of all namespaces, to list).
func (c *Client) Roles(ns string) objects[*rbacv1.Role, *rbacv1.RoleList] {
	return objects[*rbacv1.Role, *rbacv1.RoleList]{client: c.rbac, ns: ns, name: "roles",
		newObj: func() *rbacv1.Role { return new(rbacv1.Role) }, newList: func() *rbacv1.RoleList { return new(rbacv1.RoleList) }}
}

// RoleBindings are the RoleBindings of namespace ns ("": of all namespaces, to list).
func (c *Client) RoleBindings(ns string) objects[*rbacv1.RoleBinding, *rbacv1.RoleBindingList] {
	return objects[*rbacv1.RoleBinding, *rbacv1.RoleBindingList]{client: c.rbac, ns: ns, name: "rolebindings",
		newObj:  func() *rbacv1.RoleBinding { return new(rbacv1.RoleBinding) },
		newList: func() *rbacv1.RoleBindingList { return new(rbacv1.RoleBindingList) }}
}

// ClusterRoles are the cluster's ClusterRoles.
func (c *Client) ClusterRoles() objects[*rbacv1.ClusterRole, *rbacv1.ClusterRoleList] {
	return objects[*rbacv1.ClusterRole, *rbacv1.ClusterRoleList]{client: c.rbac, name: "clusterroles",
		newObj:  func() *rbacv1.ClusterRole { return new(rbacv1.ClusterRole) },
		newList: func() *rbacv1.ClusterRoleList { return new(rbacv1.ClusterRoleList) }}
}

// ClusterRoleBindings are the cluster's ClusterRoleBindings.
func (c *Client) ClusterRoleBindings() objects[*rbacv1.ClusterRoleBinding, *rbacv1.ClusterRoleBindingList] {
	return objects[*rbacv1.ClusterRoleBinding, *rbacv1.ClusterRoleBindingList]{client: c.rbac, name: "clusterrolebindings",
		newObj:  func() *rbacv1.ClusterRoleBinding { return new(rbacv1.ClusterRoleBinding) },
		newList: func() *rbacv1.ClusterRoleBindingList { return new(rbacv1.ClusterRoleBindingList) }}
}

// PodLogs is the request for pod's log in namespace ns (Stream reads it).
func (c *Client) PodLogs(ns, pod string, opts *corev1.PodLogOptions) *rest.Request {
	return c.core.Get().Namespace(ns).Name(pod).Resource("pods").SubResource("log").VersionedParams(opts, parameterCodec)
}

// objects is one kind of namespaced object in one namespace: the calls of client-go's generated typed clients
// that the executor makes, made the same way.
type objects[T, L runtime.Object] struct {
	client  rest.Interface
	ns      string
	name    string // plural, as in the URL
	newObj  func() T
	newList func() L
}

func (r objects[T, L]) Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error) {
	out := r.newObj()
	err := r.client.Get().UseProtobufAsDefault().NamespaceIfScoped(r.ns, r.ns != "").Resource(r.name).Name(name).
		VersionedParams(&opts, parameterCodec).Do(ctx).Into(out)
	return out, err
}

func (r objects[T, L]) List(ctx context.Context, opts metav1.ListOptions) (L, error) {
	out := r.newList()
	err := r.client.Get().UseProtobufAsDefault().NamespaceIfScoped(r.ns, r.ns != "").Resource(r.name).
		VersionedParams(&opts, parameterCodec).Timeout(timeout(opts)).Do(ctx).Into(out)
	return out, err
}

func (r objects[T, L]) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	opts.Watch = true
	return r.client.Get().UseProtobufAsDefault().NamespaceIfScoped(r.ns, r.ns != "").Resource(r.name).
		VersionedParams(&opts, parameterCodec).Timeout(timeout(opts)).Watch(ctx)
}

func (r objects[T, L]) Create(ctx context.Context, obj T, opts metav1.CreateOptions) (T, error) {
	out := r.newObj()
	err := r.client.Post().UseProtobufAsDefault().NamespaceIfScoped(r.ns, r.ns != "").Resource(r.name).
		VersionedParams(&opts, parameterCodec).Body(obj).Do(ctx).Into(out)
	return out, err
}

func (r objects[T, L]) Patch(ctx context.Context, name string, pt types.PatchType, data []byte, opts metav1.PatchOptions) (T, error) {
	out := r.newObj()
	err := r.client.Patch(pt).UseProtobufAsDefault().NamespaceIfScoped(r.ns, r.ns != "").Resource(r.name).Name(name).
		VersionedParams(&opts, parameterCodec).Body(data).Do(ctx).Into(out)
	return out, err
}

func (r objects[T, L]) Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error {
	return r.client.Delete().UseProtobufAsDefault().NamespaceIfScoped(r.ns, r.ns != "").Resource(r.name).Name(name).
		Body(&opts).Do(ctx).Error()
}

func timeout(opts metav1.ListOptions) time.Duration {
	if opts.TimeoutSeconds == nil {
		return 0
	}
	return time.Duration(*opts.TimeoutSeconds) * time.Second
}
