package release

import (
	"context"
	"fmt"
	"slices"
	"strings"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
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
// acts with the server's own credentials (Config); the install step gets a kubeconfig with a short-lived token of
// the ServiceAccount. Cluster-scoped kinds are granted by a ClusterRole bound to the ServiceAccount.
type Access struct {
	Config *rest.Config
}

var verbs = []string{"get", "list", "watch", "create", "update", "patch", "delete"}

// Grant makes (or updates) ServiceAccount name in namespace with a Role allowing kinds (apiVersion, kind pairs;
// nil keeps the rules as they are, as an uninstall needs them), and returns a kubeconfig for it.
func (a Access) Grant(ctx context.Context, namespace, name string, kinds [][2]string) ([]byte, error) {
	cs, err := kubernetes.NewForConfig(a.Config)
	if err != nil {
		return nil, fmt.Errorf("access: %w", err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace,
		Labels: map[string]string{"app.kubernetes.io/managed-by": "runplane"}}}
	if _, err := cs.CoreV1().ServiceAccounts(namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("access: service account %s/%s: %w", namespace, name, err)
	}
	if kinds != nil {
		if err := a.rules(ctx, cs, namespace, name, kinds); err != nil {
			return nil, err
		}
	}
	exp := int64(3600)
	tok, err := cs.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name,
		&authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("access: token of %s/%s: %w", namespace, name, err)
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["cluster"] = &clientcmdapi.Cluster{Server: a.Config.Host, CertificateAuthorityData: a.Config.CAData,
		InsecureSkipTLSVerify: a.Config.Insecure}
	if a.Config.CAFile != "" && len(a.Config.CAData) == 0 {
		kc.Clusters["cluster"].CertificateAuthority = a.Config.CAFile
	}
	kc.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: tok.Status.Token}
	kc.Contexts["release"] = &clientcmdapi.Context{Cluster: "cluster", AuthInfo: name, Namespace: namespace}
	kc.CurrentContext = "release"
	return clientcmd.Write(*kc)
}

// rules writes the Role (and ClusterRole, for cluster-scoped kinds) and their bindings.
func (a Access) rules(ctx context.Context, cs *kubernetes.Clientset, namespace, name string, kinds [][2]string) error {
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(cs.Discovery()))
	ns := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: verbs}} // Helm's release storage
	var cluster []rbacv1.PolicyRule
	for _, k := range kinds {
		gv, err := schema.ParseGroupVersion(k[0])
		if err != nil {
			return fmt.Errorf("access: apiVersion %q: %w", k[0], err)
		}
		m, err := mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: k[1]}, gv.Version)
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
