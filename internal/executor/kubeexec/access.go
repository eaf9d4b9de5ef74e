package kubeexec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/platform/kratix"
)

// Access gives the pipelines of promises the service accounts and permissions their spec.rbac asks for, in the
// jobs' namespace, as Kratix does (kratix.Access says what): a ServiceAccount per pipeline (or the one it names,
// created if missing), a Role and RoleBinding per namespace its permissions name ("" the jobs' namespace), and a
// ClusterRole and ClusterRoleBinding for "*". Everything it makes carries the labels LabelPromise=<promise> and
// app.kubernetes.io/managed-by=runplane; it never changes or deletes an object without them (a service account the
// promise named that was there before).
//
// The server can only grant what it holds itself (Kubernetes refuses a Role with rules its creator lacks unless
// it may "escalate"): the chart's values say what its Role may delegate.
type Access struct {
	client *Client
	ns     string
}

// LabelPromise names the promise an object was made for.
const LabelPromise = "runplane.dev/promise"

// NewAccess returns the Access of the jobs in namespace ns.
func NewAccess(c *Client, ns string) *Access { return &Access{client: c, ns: ns} }

// Sync makes the cluster hold exactly want for promise: what is missing is created, rules and subjects that
// changed are updated, and what an earlier version of the promise needed and want does not is deleted.
func (a *Access) Sync(ctx context.Context, promise string, want []kratix.PipelineAccess) error {
	d := a.desired(promise, want)
	for _, sa := range d.accounts {
		if err := a.ensureAccount(ctx, promise, sa); err != nil {
			return err
		}
	}
	for _, r := range d.roles {
		if err := a.ensureRole(ctx, promise, r.role, r.binding); err != nil {
			return err
		}
	}
	for _, r := range d.clusterRoles {
		if err := a.ensureClusterRole(ctx, promise, r.role, r.binding); err != nil {
			return err
		}
	}
	return a.collect(ctx, promise, d)
}

// Remove deletes everything Sync made for promise.
func (a *Access) Remove(ctx context.Context, promise string) error { return a.Sync(ctx, promise, nil) }

type roleObjects struct {
	role    *rbacv1.Role
	binding *rbacv1.RoleBinding
}

type clusterRoleObjects struct {
	role    *rbacv1.ClusterRole
	binding *rbacv1.ClusterRoleBinding
}

type desired struct {
	accounts     []string
	roles        []roleObjects
	clusterRoles []clusterRoleObjects
}

func (a *Access) labels(promise string) map[string]string {
	return map[string]string{LabelPromise: promise, labelManagedBy: managedBy}
}

// desired is what want needs, as objects.
func (a *Access) desired(promise string, want []kratix.PipelineAccess) desired {
	var d desired
	for _, pa := range want {
		if !slices.Contains(d.accounts, pa.ServiceAccount) {
			d.accounts = append(d.accounts, pa.ServiceAccount)
		}
		subject := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: pa.ServiceAccount, Namespace: a.ns}}
		for _, ns := range pa.Namespaces() {
			rules := policyRules(pa.Rules[ns])
			if ns == kratix.AllNamespaces {
				// Cluster-wide names are shared by every runplane on the cluster: the jobs' namespace tells them apart.
				name := "runplane-" + a.ns + "-" + pa.ID
				meta := metav1.ObjectMeta{Name: name, Labels: a.labels(promise)}
				d.clusterRoles = append(d.clusterRoles, clusterRoleObjects{
					role: &rbacv1.ClusterRole{ObjectMeta: meta, Rules: rules},
					binding: &rbacv1.ClusterRoleBinding{ObjectMeta: meta, Subjects: subject,
						RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}},
				})
				continue
			}
			if ns == "" {
				ns = a.ns
			}
			meta := metav1.ObjectMeta{Name: pa.ID, Namespace: ns, Labels: a.labels(promise)}
			d.roles = append(d.roles, roleObjects{
				role: &rbacv1.Role{ObjectMeta: meta, Rules: rules},
				binding: &rbacv1.RoleBinding{ObjectMeta: meta, Subjects: subject,
					RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: pa.ID}},
			})
		}
	}
	return d
}

func policyRules(ps []api.PipelinePermission) []rbacv1.PolicyRule {
	out := make([]rbacv1.PolicyRule, 0, len(ps))
	for _, p := range ps {
		out = append(out, rbacv1.PolicyRule{APIGroups: p.APIGroups, Resources: p.Resources, ResourceNames: p.ResourceNames,
			Verbs: p.Verbs, NonResourceURLs: p.NonResourceURLs})
	}
	return out
}

// ours reports whether m was made by Access for promise.
func ours(m metav1.ObjectMeta, promise string) bool {
	return m.Labels[LabelPromise] == promise && m.Labels[labelManagedBy] == managedBy
}

func (a *Access) ensureAccount(ctx context.Context, promise, name string) error {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: a.ns, Labels: a.labels(promise)}}
	_, err := a.client.ServiceAccounts(a.ns).Create(ctx, sa, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("kubernetes: promise %s: create service account %s: %w", promise, name, err)
	}
	return nil // one that exists is used as it is
}

func (a *Access) ensureRole(ctx context.Context, promise string, r *rbacv1.Role, b *rbacv1.RoleBinding) error {
	roles, bindings := a.client.Roles(r.Namespace), a.client.RoleBindings(r.Namespace)
	what := fmt.Sprintf("promise %s: role %s/%s", promise, r.Namespace, r.Name)
	if err := ensure(ctx, what, roles.Get, roles.Create, roles.Patch, r, promise, map[string]any{"rules": r.Rules}); err != nil {
		return err
	}
	return ensure(ctx, what+" binding", bindings.Get, bindings.Create, bindings.Patch, b, promise, map[string]any{"subjects": b.Subjects})
}

func (a *Access) ensureClusterRole(ctx context.Context, promise string, r *rbacv1.ClusterRole, b *rbacv1.ClusterRoleBinding) error {
	roles, bindings := a.client.ClusterRoles(), a.client.ClusterRoleBindings()
	what := fmt.Sprintf("promise %s: cluster role %s", promise, r.Name)
	if err := ensure(ctx, what, roles.Get, roles.Create, roles.Patch, r, promise, map[string]any{"rules": r.Rules}); err != nil {
		return err
	}
	return ensure(ctx, what+" binding", bindings.Get, bindings.Create, bindings.Patch, b, promise, map[string]any{"subjects": b.Subjects})
}

// object is what ensure needs of an RBAC object.
type object interface {
	GetName() string
	GetLabels() map[string]string
}

// ensure creates obj, or, if an object of its name exists, merge-patches it with patch when it is promise's, and
// fails when it is not (runplane never takes another's role over).
func ensure[T object](ctx context.Context, what string,
	get func(context.Context, string, metav1.GetOptions) (T, error),
	create func(context.Context, T, metav1.CreateOptions) (T, error),
	patchFn func(context.Context, string, types.PatchType, []byte, metav1.PatchOptions) (T, error),
	obj T, promise string, patch map[string]any,
) error {
	_, err := create(ctx, obj, metav1.CreateOptions{})
	if err == nil {
		return nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("kubernetes: %s: create: %w", what, err)
	}
	cur, err := get(ctx, obj.GetName(), metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("kubernetes: %s: %w", what, err)
	}
	l := cur.GetLabels()
	if l[LabelPromise] != promise || l[labelManagedBy] != managedBy {
		return fmt.Errorf("kubernetes: %s exists and is not this promise's: not changed", what)
	}
	b, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	if _, err := patchFn(ctx, obj.GetName(), types.MergePatchType, b, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("kubernetes: %s: update: %w", what, err)
	}
	return nil
}

// collect deletes what Sync made for promise earlier and d no longer holds. Roles are looked for in every
// namespace where the server may list them, else in the jobs' namespace and those d names; cluster roles only
// where it may list them (it could not have made any otherwise).
func (a *Access) collect(ctx context.Context, promise string, d desired) error {
	sel := metav1.ListOptions{LabelSelector: LabelPromise + "=" + promise + "," + labelManagedBy + "=" + managedBy}
	var errs []error
	keep := func(kind, ns, name string) bool {
		switch kind {
		case "sa":
			return slices.Contains(d.accounts, name)
		case "role":
			return slices.ContainsFunc(d.roles, func(r roleObjects) bool { return r.role.Namespace == ns && r.role.Name == name })
		}
		return slices.ContainsFunc(d.clusterRoles, func(r clusterRoleObjects) bool { return r.role.Name == name })
	}
	gone := func(err error) error {
		if err == nil || apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	sas, err := a.client.ServiceAccounts(a.ns).List(ctx, sel)
	if err != nil {
		return fmt.Errorf("kubernetes: promise %s: list service accounts: %w", promise, err)
	}
	for _, sa := range sas.Items {
		if ours(sa.ObjectMeta, promise) && !keep("sa", a.ns, sa.Name) {
			errs = append(errs, gone(a.client.ServiceAccounts(a.ns).Delete(ctx, sa.Name, metav1.DeleteOptions{})))
		}
	}
	namespaces := []string{metav1.NamespaceAll}
	if _, err := a.client.Roles(metav1.NamespaceAll).List(ctx, metav1.ListOptions{Limit: 1}); apierrors.IsForbidden(err) {
		namespaces = []string{a.ns}
		for _, r := range d.roles {
			if !slices.Contains(namespaces, r.role.Namespace) {
				namespaces = append(namespaces, r.role.Namespace)
			}
		}
	}
	for _, ns := range namespaces {
		bindings, err := a.client.RoleBindings(ns).List(ctx, sel)
		if err != nil {
			return fmt.Errorf("kubernetes: promise %s: list role bindings: %w", promise, err)
		}
		for _, b := range bindings.Items {
			if ours(b.ObjectMeta, promise) && !keep("role", b.Namespace, b.Name) {
				errs = append(errs, gone(a.client.RoleBindings(b.Namespace).Delete(ctx, b.Name, metav1.DeleteOptions{})))
			}
		}
		roles, err := a.client.Roles(ns).List(ctx, sel)
		if err != nil {
			return fmt.Errorf("kubernetes: promise %s: list roles: %w", promise, err)
		}
		for _, r := range roles.Items {
			if ours(r.ObjectMeta, promise) && !keep("role", r.Namespace, r.Name) {
				errs = append(errs, gone(a.client.Roles(r.Namespace).Delete(ctx, r.Name, metav1.DeleteOptions{})))
			}
		}
	}
	cbs, err := a.client.ClusterRoleBindings().List(ctx, sel)
	if apierrors.IsForbidden(err) {
		return errors.Join(errs...)
	}
	if err != nil {
		return fmt.Errorf("kubernetes: promise %s: list cluster role bindings: %w", promise, err)
	}
	for _, b := range cbs.Items {
		if ours(b.ObjectMeta, promise) && len(b.Subjects) > 0 && b.Subjects[0].Namespace == a.ns && !keep("cluster", "", b.Name) {
			errs = append(errs, gone(a.client.ClusterRoleBindings().Delete(ctx, b.Name, metav1.DeleteOptions{})))
		}
	}
	crs, err := a.client.ClusterRoles().List(ctx, sel)
	if err != nil && !apierrors.IsForbidden(err) {
		return fmt.Errorf("kubernetes: promise %s: list cluster roles: %w", promise, err)
	}
	if err == nil {
		prefix := "runplane-" + a.ns + "-"
		for _, r := range crs.Items {
			if ours(r.ObjectMeta, promise) && len(r.Name) > len(prefix) && r.Name[:len(prefix)] == prefix && !keep("cluster", "", r.Name) {
				errs = append(errs, gone(a.client.ClusterRoles().Delete(ctx, r.Name, metav1.DeleteOptions{})))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("kubernetes: promise %s: delete what it no longer needs: %w", promise, err)
	}
	return nil
}
