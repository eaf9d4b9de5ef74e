package kubeexec_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor/kubeexec"
	"github.com/runplane/runplane/internal/platform/kratix"
)

// TestAccessSync: Sync makes a pipeline's service account and the Roles, RoleBindings, ClusterRole and
// ClusterRoleBinding of its permissions; a second Sync with less deletes what is no longer needed and updates what
// changed; an account the promise named that existed before is used and never deleted; an object of the same name
// that is not the promise's is refused, not taken over; Remove leaves nothing.
func TestAccessSync(t *testing.T) {
	c := needCluster(t)
	ns, other := c.Namespace(t), c.Namespace(t)
	a := kubeexec.NewAccess(c.Exec, ns)
	ctx := t.Context()
	own := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "ops"}}
	if _, err := c.Client.CoreV1().ServiceAccounts(ns).Create(ctx, own, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	read := api.PipelinePermission{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}}
	list := api.PipelinePermission{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"list"}}
	first := []kratix.PipelineAccess{
		{ID: "p-resource-configure-a", ServiceAccount: "p-resource-configure-a", Rules: map[string][]api.PipelinePermission{
			"": {read}, other: {read}, kratix.AllNamespaces: {list}}},
		{ID: "p-resource-delete-b", ServiceAccount: "ops", Existing: true, Rules: map[string][]api.PipelinePermission{"": {read}}},
	}
	if err := a.Sync(ctx, "p", first); err != nil {
		t.Fatal(err)
	}
	cluster := "runplane-" + ns + "-p-resource-configure-a"
	exists := func(kind, namespace, name string) bool {
		t.Helper()
		var err error
		switch kind {
		case "sa":
			_, err = c.Client.CoreV1().ServiceAccounts(namespace).Get(ctx, name, metav1.GetOptions{})
		case "role":
			_, err = c.Client.RbacV1().Roles(namespace).Get(ctx, name, metav1.GetOptions{})
			if err == nil {
				_, err = c.Client.RbacV1().RoleBindings(namespace).Get(ctx, name, metav1.GetOptions{})
			}
		case "cluster":
			_, err = c.Client.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{})
			if err == nil {
				_, err = c.Client.RbacV1().ClusterRoleBindings().Get(ctx, name, metav1.GetOptions{})
			}
		}
		if err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
		return err == nil
	}
	want := func(when string, objs map[[3]string]bool) {
		t.Helper()
		for o, w := range objs {
			if got := exists(o[0], o[1], o[2]); got != w {
				t.Errorf("%s: %s %s/%s exists %v, want %v", when, o[0], o[1], o[2], got, w)
			}
		}
	}
	want("first sync", map[[3]string]bool{
		{"sa", ns, "p-resource-configure-a"}: true, {"sa", ns, "ops"}: true,
		{"role", ns, "p-resource-configure-a"}: true, {"role", other, "p-resource-configure-a"}: true,
		{"role", ns, "p-resource-delete-b"}: true, {"cluster", "", cluster}: true,
	})
	rb, err := c.Client.RbacV1().RoleBindings(other).Get(ctx, "p-resource-configure-a", metav1.GetOptions{})
	if err != nil || len(rb.Subjects) != 1 || rb.Subjects[0].Name != "p-resource-configure-a" || rb.Subjects[0].Namespace != ns {
		t.Errorf("binding in %s: %v, %+v; want the pipeline's account in %s", other, err, rb.Subjects, ns)
	}

	// Less: the first pipeline's rules shrink to its namespace's, now list; the second pipeline is gone.
	second := []kratix.PipelineAccess{{ID: "p-resource-configure-a", ServiceAccount: "p-resource-configure-a",
		Rules: map[string][]api.PipelinePermission{"": {list}}}}
	if err := a.Sync(ctx, "p", second); err != nil {
		t.Fatal(err)
	}
	want("second sync", map[[3]string]bool{
		{"sa", ns, "p-resource-configure-a"}: true, {"sa", ns, "ops"}: true,
		{"role", ns, "p-resource-configure-a"}: true, {"role", other, "p-resource-configure-a"}: false,
		{"role", ns, "p-resource-delete-b"}: false, {"cluster", "", cluster}: false,
	})
	role, err := c.Client.RbacV1().Roles(ns).Get(ctx, "p-resource-configure-a", metav1.GetOptions{})
	if err != nil || len(role.Rules) != 1 || role.Rules[0].Verbs[0] != "list" {
		t.Errorf("role after an update: %v, %+v; want the list rule", err, role.Rules)
	}

	// Not ours: refused.
	foreign := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "q-resource-configure-a"}}
	if _, err := c.Client.RbacV1().Roles(ns).Create(ctx, foreign, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = a.Sync(ctx, "q", []kratix.PipelineAccess{{ID: "q-resource-configure-a", ServiceAccount: "q-resource-configure-a",
		Rules: map[string][]api.PipelinePermission{"": {read}}}})
	if err == nil || !strings.Contains(err.Error(), "not this promise's") {
		t.Errorf("Sync over a foreign role = %v, want it refused", err)
	}

	if err := a.Remove(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	want("remove", map[[3]string]bool{
		{"sa", ns, "p-resource-configure-a"}: false, {"sa", ns, "ops"}: true, {"role", ns, "p-resource-configure-a"}: false,
	})
	if err := a.Remove(ctx, "q"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client.RbacV1().Roles(ns).Get(ctx, "q-resource-configure-a", metav1.GetOptions{}); err != nil {
		t.Errorf("the foreign role after Remove: %v, want it kept", err)
	}
}
