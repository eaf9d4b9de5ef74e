package release

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Access gives each definition's releases an identity of their own (Krateo's chart-inspector idea): a
// ServiceAccount in the release's namespace whose Role allows exactly the kinds the chart renders (and the Secrets
// Helm keeps releases in), with the verbs get, list, watch, create, update, patch and delete, and nothing more. It
// acts with the server's own credentials; the install step gets a kubeconfig with a short-lived token of the
// ServiceAccount. Cluster-scoped kinds are granted by a ClusterRole bound to the ServiceAccount.
//
// A grant is remembered for a while (grantReuse), so that a burst of installs of one definition writes its
// ServiceAccount, Roles and token once: a later Grant of the same kinds only checks that the ServiceAccount is the
// one the token was made for. Its methods are safe for concurrent use.
type Access struct {
	config *rest.Config
	cs     *kubernetes.Clientset
	mapper meta.ResettableRESTMapper // the kinds' resources and scopes, discovered once and again on a miss
	disco  *discoverer
	now    func() time.Time

	mu      sync.Mutex
	granted map[string]grant // namespace/name → the last grant
}

// grant is what Grant last wrote for a ServiceAccount, and the kubeconfig it made.
type grant struct {
	kinds      string    // the kinds the Role allows, as kindsKey
	uid        types.UID // the ServiceAccount's: a token is void once its account is gone
	at         time.Time // when the rules were written and the token issued
	kubeconfig []byte
}

// grantReuse is how long a grant is reused: the token it holds lives tokenLife, so a step that starts within
// grantReuse has at least tokenLife-grantReuse (55 minutes, more than a step's default timeout of 10) left.
const (
	grantReuse = 5 * time.Minute
	tokenLife  = time.Hour
)

// NewAccess returns an Access acting with config.
func NewAccess(config *rest.Config) (*Access, error) {
	cs, err := kubernetes.NewForConfig(config)
	if err != nil {
		return nil, fmt.Errorf("access: %w", err)
	}
	dc := memory.NewMemCacheClient(cs.Discovery())
	return &Access{config: config, cs: cs, mapper: restmapper.NewDeferredDiscoveryRESTMapper(dc), disco: &discoverer{dc: dc, now: time.Now},
		now: time.Now, granted: map[string]grant{}}, nil
}

var verbs = []string{"get", "list", "watch", "create", "update", "patch", "delete"}

// Grant makes (or updates) ServiceAccount name in namespace with a Role allowing kinds (apiVersion, kind pairs;
// nil keeps the rules as they are, as an uninstall needs them), and returns a kubeconfig for it.
func (a *Access) Grant(ctx context.Context, namespace, name string, kinds [][2]string) ([]byte, error) {
	key, kk := namespace+"/"+name, kindsKey(kinds)
	a.mu.Lock()
	g, ok := a.granted[key]
	a.mu.Unlock()
	if ok && a.now().Sub(g.at) < grantReuse && (kinds == nil || kk == g.kinds) {
		sa, err := a.cs.CoreV1().ServiceAccounts(namespace).Get(ctx, name, metav1.GetOptions{})
		if err == nil && sa.UID == g.uid {
			return g.kubeconfig, nil
		}
	}
	prev := g
	g, err := a.grant(ctx, namespace, name, kinds)
	if err != nil {
		a.Forget(namespace, name)
		return nil, err
	}
	if kinds == nil && ok {
		g.kinds = prev.kinds // the rules were left as the last grant wrote them
	}
	a.mu.Lock()
	a.granted[key] = g
	a.mu.Unlock()
	return g.kubeconfig, nil
}

// Forget makes the next Grant for ServiceAccount name in namespace write everything again (a step that failed
// may have met rules or a token that are no longer there).
func (a *Access) Forget(namespace, name string) {
	a.mu.Lock()
	delete(a.granted, namespace+"/"+name)
	a.mu.Unlock()
}

// kindsKey is kinds in a canonical form ("" for nil).
func kindsKey(kinds [][2]string) string {
	if kinds == nil {
		return ""
	}
	ks := make([]string, 0, len(kinds))
	for _, k := range kinds {
		ks = append(ks, k[0]+" "+k[1])
	}
	slices.Sort(ks)
	return strings.Join(slices.Compact(ks), "\n") + "\n"
}

func (a *Access) grant(ctx context.Context, namespace, name string, kinds [][2]string) (grant, error) {
	at := a.now()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace,
		Labels: map[string]string{"app.kubernetes.io/managed-by": "runplane"}}}
	made, err := a.cs.CoreV1().ServiceAccounts(namespace).Create(ctx, sa, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		made, err = a.cs.CoreV1().ServiceAccounts(namespace).Get(ctx, name, metav1.GetOptions{})
	}
	if err != nil {
		return grant{}, fmt.Errorf("access: service account %s/%s: %w", namespace, name, err)
	}
	if kinds != nil {
		if err := a.rules(ctx, namespace, name, kinds); err != nil {
			return grant{}, err
		}
	}
	exp := int64(tokenLife / time.Second)
	tok, err := a.cs.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name,
		&authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		return grant{}, fmt.Errorf("access: token of %s/%s: %w", namespace, name, err)
	}
	b, err := stepKubeconfig(a.config, namespace, name, tok.Status.Token)
	if err != nil {
		return grant{}, err
	}
	return grant{kinds: kindsKey(kinds), uid: made.UID, at: at, kubeconfig: b}, nil
}

// stepKubeconfig is a kubeconfig for ServiceAccount name in namespace holding token, for the cluster of config.
// It is a step's input file, read where the step runs (a pod, a sandbox): the cluster's CA goes in as data, never
// as the path of a file of the server's (an in-cluster server's CA is a file of its own pod).
func stepKubeconfig(config *rest.Config, namespace, name, token string) ([]byte, error) {
	ca := config.CAData
	if len(ca) == 0 && config.CAFile != "" {
		b, err := os.ReadFile(config.CAFile)
		if err != nil {
			return nil, fmt.Errorf("access: the cluster's CA: %w", err)
		}
		ca = b
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["cluster"] = &clientcmdapi.Cluster{Server: config.Host, CertificateAuthorityData: ca, InsecureSkipTLSVerify: config.Insecure}
	kc.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: token}
	kc.Contexts["release"] = &clientcmdapi.Context{Cluster: "cluster", AuthInfo: name, Namespace: namespace}
	kc.CurrentContext = "release"
	return clientcmd.Write(*kc)
}

// mapping is kind's resource, discovered again once when the cached discovery does not know it (a CRD installed
// since).
func (a *Access) mapping(gk schema.GroupKind, version string) (*meta.RESTMapping, error) {
	m, err := a.mapper.RESTMapping(gk, version)
	if meta.IsNoMatchError(err) {
		a.mapper.Reset()
		m, err = a.mapper.RESTMapping(gk, version)
	}
	return m, err
}

// rules writes the Role (and ClusterRole, for cluster-scoped kinds) and their bindings.
func (a *Access) rules(ctx context.Context, namespace, name string, kinds [][2]string) error {
	cs := a.cs
	ns := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: verbs}} // Helm's release storage
	var cluster []rbacv1.PolicyRule
	for _, k := range kinds {
		gv, err := schema.ParseGroupVersion(k[0])
		if err != nil {
			return fmt.Errorf("access: apiVersion %q: %w", k[0], err)
		}
		m, err := a.mapping(schema.GroupKind{Group: gv.Group, Kind: k[1]}, gv.Version)
		if err != nil {
			return fmt.Errorf("access: kind %s %s the chart renders: %w", k[0], k[1], err)
		}
		r := rbacv1.PolicyRule{APIGroups: []string{gv.Group}, Resources: []string{m.Resource.Resource}, Verbs: verbs}
		if m.Scope.Name() == meta.RESTScopeNameRoot {
			cluster = append(cluster, r)
		} else if !slices.ContainsFunc(ns, func(p rbacv1.PolicyRule) bool {
			return p.APIGroups[0] == gv.Group && p.Resources[0] == m.Resource.Resource
		}) {
			ns = append(ns, r)
		}
	}
	subject := []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: namespace}}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}, Rules: ns}
	if err := upsert(ctx, func() error {
		_, err := cs.RbacV1().Roles(namespace).Create(ctx, role, metav1.CreateOptions{})
		return err
	},
		func() error {
			_, err := cs.RbacV1().Roles(namespace).Update(ctx, role, metav1.UpdateOptions{})
			return err
		}); err != nil {
		return fmt.Errorf("access: role %s/%s: %w", namespace, name, err)
	}
	rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}, Subjects: subject,
		RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name}}
	if _, err := cs.RbacV1().RoleBindings(namespace).Create(ctx, rb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("access: role binding %s/%s: %w", namespace, name, err)
	}
	if len(cluster) == 0 {
		return nil
	}
	cname := strings.Join([]string{name, namespace}, "-")
	cr := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: cname}, Rules: cluster}
	if err := upsert(ctx, func() error { _, err := cs.RbacV1().ClusterRoles().Create(ctx, cr, metav1.CreateOptions{}); return err },
		func() error { _, err := cs.RbacV1().ClusterRoles().Update(ctx, cr, metav1.UpdateOptions{}); return err }); err != nil {
		return fmt.Errorf("access: cluster role %s: %w", cname, err)
	}
	crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: cname}, Subjects: subject,
		RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: cname}}
	if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("access: cluster role binding %s: %w", cname, err)
	}
	return nil
}

// upsert creates, or updates what exists.
func upsert(_ context.Context, create, update func() error) error {
	err := create()
	if apierrors.IsAlreadyExists(err) {
		return update()
	}
	return err
}
