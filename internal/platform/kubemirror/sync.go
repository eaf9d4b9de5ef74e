package kubemirror

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// syncOne brings one object into step; c (from the cache) or s is nil where the object is absent.
func (m *Mirror) syncOne(ctx context.Context, k kind, c *unstructured.Unstructured, s *stored) error {
	if c != nil && needsAction(c, s) && !firstSight(c, s) {
		// The cache may be behind our own last write: decide on the object as the API server has it now.
		fresh, err := m.resource(k, c).Get(ctx, c.GetName(), metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			c = nil
		case err != nil:
			return err
		default:
			c = fresh
			k.normalize(c)
		}
	}
	switch {
	case c == nil && s == nil:
		return nil
	case c == nil:
		if s.Deleting {
			return nil // deleted through the REST API: it goes when its delete workflow is done
		}
		return m.createInCluster(ctx, k, s)
	case c.GetDeletionTimestamp() != nil:
		return m.deleteFromCluster(ctx, k, c, s)
	case s == nil:
		if _, _, mirrored := marker(c); mirrored {
			return m.removeFromCluster(ctx, k, c) // deleted through the REST API
		}
		return m.createInStore(ctx, k, c)
	}
	if err := m.manualReconciliation(ctx, k, c, "reconcile"); err != nil {
		return err
	}
	if !slices.Contains(c.GetFinalizers(), Finalizer) {
		return m.updateCluster(ctx, k, func(u *unstructured.Unstructured) {
			u.SetFinalizers(append(u.GetFinalizers(), Finalizer))
		})(c)
	}
	cd, sd, ok := marker(c)
	switch {
	case !ok || cd != clusterDigest(c):
		if refusal(c) != nil {
			return m.writeStatus(ctx, k, c, s) // refused at this generation: wait for the next change
		}
		return m.updateStore(ctx, k, c, s)
	case sd != s.digest():
		return m.updateFromStore(ctx, k, c, s)
	}
	return m.writeStatus(ctx, k, c, s)
}

// firstSight reports whether c is an object created in the cluster that the mirror never wrote: its first write
// (the finalizer) carries c's resourceVersion, so a cache behind the API server is refused there, and the event
// that puts the cache in step queues c again; no read of it first.
func firstSight(c *unstructured.Unstructured, s *stored) bool {
	_, _, mirrored := marker(c)
	return s == nil && !mirrored && c.GetDeletionTimestamp() == nil && !slices.Contains(c.GetFinalizers(), Finalizer)
}

// needsAction reports whether syncOne might write c (read fresh first) rather than only compare it.
func needsAction(c *unstructured.Unstructured, s *stored) bool {
	if s == nil || c.GetDeletionTimestamp() != nil || !slices.Contains(c.GetFinalizers(), Finalizer) {
		return true
	}
	if c.GetLabels()[ManualReconciliationLabel] == "true" {
		return true
	}
	cd, sd, ok := marker(c)
	return !ok || cd != clusterDigest(c) || sd != s.digest()
}

// resource is where o (of kind k) is read and written: its namespace, and its own version for a kind served in
// several (o's apiVersion, set by kind.normalize or from the store).
func (m *Mirror) resource(k kind, o *unstructured.Unstructured) dynamic.ResourceInterface {
	gvr := k.gvr
	if k.versionOf != nil {
		if gv, err := schema.ParseGroupVersion(o.GetAPIVersion()); err == nil && gv.Group == gvr.Group && gv.Version != "" {
			gvr.Version = gv.Version
		}
	}
	r := m.dc.Resource(gvr)
	if k.namespaced {
		return r.Namespace(o.GetNamespace())
	}
	return r
}

// createInCluster creates the cluster object of s, created through the REST API.
func (m *Mirror) createInCluster(ctx context.Context, k kind, s *stored) error {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetAPIVersion(k.apiVersion)
	if s.APIVersion != "" {
		u.SetAPIVersion(s.APIVersion)
	}
	u.SetKind(k.kind)
	u.SetName(s.Name)
	if k.namespaced {
		u.SetNamespace(s.Namespace)
	}
	u.SetFinalizers([]string{Finalizer})
	copyStored(u, s)
	created, err := m.resource(k, u).Create(ctx, u, metav1.CreateOptions{FieldManager: FieldManager})
	if apierrors.IsAlreadyExists(err) {
		return nil // the cache was behind: the next pass sees it
	}
	if err != nil {
		return fmt.Errorf("create in cluster: %w", err)
	}
	m.log.DebugContext(ctx, "created in the cluster", "kind", k.kind, "namespace", s.Namespace, "name", s.Name)
	return m.markAndStatus(ctx, k, created, s)
}

// markAndStatus records that c and s are in step, then writes s's status to c.
func (m *Mirror) markAndStatus(ctx context.Context, k kind, c *unstructured.Unstructured, s *stored) error {
	cd := clusterDigest(c)
	setMarker(c, cd, s.digest())
	updated, err := m.resource(k, c).Update(ctx, c, metav1.UpdateOptions{FieldManager: FieldManager})
	if err != nil {
		return ignoreConflict(err)
	}
	return m.writeStatus(ctx, k, updated, s)
}

// createInStore stores an object created in the cluster, through the REST API.
func (m *Mirror) createInStore(ctx context.Context, k kind, c *unstructured.Unstructured) error {
	if !slices.Contains(c.GetFinalizers(), Finalizer) {
		err := m.updateCluster(ctx, k, func(u *unstructured.Unstructured) {
			u.SetFinalizers(append(u.GetFinalizers(), Finalizer))
		})(c)
		if err != nil || !slices.Contains(c.GetFinalizers(), Finalizer) {
			return err // refused (the object changed meanwhile): its next event queues it again
		}
		// c is as the API server stored it, finalizer included: store it now rather than on that write's event.
	}
	if refusal(c) != nil {
		return nil // refused at this generation: wait for the next change
	}
	_, err := m.api.call(ctx, http.MethodPost, k.collection(c.GetNamespace()), manifest(c, 0), nil)
	if err != nil {
		return m.refused(ctx, k, c, nil, err)
	}
	s, err := m.storedOne(ctx, k, c)
	if err != nil || s == nil {
		return err
	}
	m.log.InfoContext(ctx, "stored from the cluster", "kind", k.kind, "namespace", c.GetNamespace(), "name", c.GetName())
	return m.markAndStatus(ctx, k, c, s)
}

// updateStore stores the cluster object's spec, labels and annotations over s, at s's version.
func (m *Mirror) updateStore(ctx context.Context, k kind, c *unstructured.Unstructured, s *stored) error {
	var version int64
	if k.versioned {
		version = s.Version
	}
	if _, err := m.api.call(ctx, http.MethodPut, k.item(c.GetNamespace(), c.GetName()), manifest(c, version), nil); err != nil {
		return m.refused(ctx, k, c, s, err)
	}
	ns, err := m.storedOne(ctx, k, c)
	if err != nil || ns == nil {
		return err
	}
	return m.markAndStatus(ctx, k, c, ns)
}

// updateFromStore writes s's spec, labels and annotations to the cluster object.
func (m *Mirror) updateFromStore(ctx context.Context, k kind, c *unstructured.Unstructured, s *stored) error {
	u := c.DeepCopy()
	copyStored(u, s)
	if s.APIVersion != "" {
		u.SetAPIVersion(s.APIVersion) // moved to another version through the REST API: written at it
	}
	updated, err := m.resource(k, u).Update(ctx, u, metav1.UpdateOptions{FieldManager: FieldManager})
	if err != nil {
		return ignoreConflict(err)
	}
	return m.markAndStatus(ctx, k, updated, s)
}

// refused handles the REST API's refusal of a cluster object: a refusal of the object itself becomes its
// Accepted=False condition (the object stays, and is tried again when it changes); anything else is an error,
// tried again on the next pass.
func (m *Mirror) refused(ctx context.Context, k kind, c *unstructured.Unstructured, s *stored, err error) error {
	var ae *apiError
	if !errors.As(err, &ae) || ae.Status < 400 || ae.Status >= 500 {
		return err
	}
	reason := "Invalid"
	if !ae.invalid() {
		reason = "Conflict" // may pass later (a promise becoming available): tried again with backoff
	}
	m.log.InfoContext(ctx, "refused a cluster object", "kind", k.kind, "namespace", c.GetNamespace(), "name", c.GetName(), "reason", ae.Msg)
	var status map[string]any
	if s != nil {
		status = s.Status
	}
	status = withCondition(status, map[string]any{
		"type": ConditionAccepted, "status": "False", "reason": reason, "message": ae.Msg,
		"observedGeneration": c.GetGeneration(), "lastTransitionTime": metav1.Now().UTC().Format("2006-01-02T15:04:05Z"),
	})
	if err := m.putStatus(ctx, k, c, status); err != nil {
		return err
	}
	if reason == "Conflict" {
		return err
	}
	return nil
}

// writeStatus writes s's status to c (with the mirror's refusal of c's current generation, if any).
func (m *Mirror) writeStatus(ctx context.Context, k kind, c *unstructured.Unstructured, s *stored) error {
	if s == nil {
		return nil
	}
	status := s.Status
	if r := refusal(c); r != nil {
		status = withCondition(status, r)
	}
	return m.putStatus(ctx, k, c, status)
}

func (m *Mirror) putStatus(ctx context.Context, k kind, c *unstructured.Unstructured, status map[string]any) error {
	want := normal(status)
	if equalJSON(want, normal(c.Object["status"])) {
		return nil
	}
	u := c.DeepCopy()
	u.Object["status"] = want
	_, err := m.resource(k, u).UpdateStatus(ctx, u, metav1.UpdateOptions{FieldManager: FieldManager})
	return ignoreConflict(err)
}

// deleteFromCluster runs a delete asked for in the cluster: runplane deletes the object (its delete workflow
// first); the finalizer goes when the store no longer has it.
func (m *Mirror) deleteFromCluster(ctx context.Context, k kind, c *unstructured.Unstructured, s *stored) error {
	if s == nil {
		return m.dropFinalizer(ctx, k, c)
	}
	if s.Deleting {
		if err := m.manualReconciliation(ctx, k, c, "retry"); err != nil {
			return err
		}
		return m.writeStatus(ctx, k, c, s)
	}
	status, err := m.api.call(ctx, http.MethodDelete, k.item(c.GetNamespace(), c.GetName()), nil, nil)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Status != http.StatusNotFound {
			// Refused (a promise with requests, a state store in use): shown, and asked again with backoff.
			if err := m.putStatus(ctx, k, c, withCondition(s.Status, map[string]any{
				"type": ConditionAccepted, "status": "False", "reason": "DeleteRefused", "message": ae.Msg,
				"observedGeneration": c.GetGeneration(), "lastTransitionTime": metav1.Now().UTC().Format("2006-01-02T15:04:05Z"),
			})); err != nil {
				return err
			}
			return fmt.Errorf("delete refused: %w", err)
		}
		if !errors.As(err, &ae) {
			return err
		}
	}
	if status == http.StatusAccepted {
		return nil // the delete workflow runs; the next passes copy its status and drop the finalizer after it
	}
	return m.dropFinalizer(ctx, k, c)
}

// removeFromCluster deletes the cluster object of an object deleted through the REST API.
func (m *Mirror) removeFromCluster(ctx context.Context, k kind, c *unstructured.Unstructured) error {
	if err := m.dropFinalizer(ctx, k, c); err != nil {
		return err
	}
	uid := c.GetUID()
	err := m.resource(k, c).Delete(ctx, c.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

func (m *Mirror) dropFinalizer(ctx context.Context, k kind, c *unstructured.Unstructured) error {
	if !slices.Contains(c.GetFinalizers(), Finalizer) {
		return nil
	}
	return m.updateCluster(ctx, k, func(u *unstructured.Unstructured) {
		u.SetFinalizers(slices.DeleteFunc(u.GetFinalizers(), func(f string) bool { return f == Finalizer }))
	})(c)
}

// manualReconciliation honours kratix.io/manual-reconciliation=true: it asks for the action (reconcile, or
// retry of a failed delete) and removes the label.
func (m *Mirror) manualReconciliation(ctx context.Context, k kind, c *unstructured.Unstructured, action string) error {
	if c.GetLabels()[ManualReconciliationLabel] != "true" || !k.actions {
		return nil
	}
	path := k.item(c.GetNamespace(), c.GetName())
	base, query, _ := cutQuery(path)
	if _, err := m.api.call(ctx, http.MethodPost, base+"/"+action+query, nil, nil); err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			return err
		}
		m.log.WarnContext(ctx, "manual reconciliation refused", "kind", k.kind, "name", c.GetName(), "reason", ae.Msg)
	}
	err := m.updateCluster(ctx, k, func(u *unstructured.Unstructured) {
		l := u.GetLabels()
		delete(l, ManualReconciliationLabel)
		u.SetLabels(l)
	})(c)
	if err != nil {
		return err
	}
	c.SetLabels(filtered(c.GetLabels(), clusterOnlyLabel))
	return nil
}

func cutQuery(p string) (string, string, bool) {
	for i := range p {
		if p[i] == '?' {
			return p[:i], p[i:], true
		}
	}
	return p, "", false
}

// updateCluster returns a function that writes c with change applied (a conflict is left to the next pass).
func (m *Mirror) updateCluster(ctx context.Context, k kind, change func(*unstructured.Unstructured)) func(*unstructured.Unstructured) error {
	return func(c *unstructured.Unstructured) error {
		u := c.DeepCopy()
		change(u)
		updated, err := m.resource(k, u).Update(ctx, u, metav1.UpdateOptions{FieldManager: FieldManager})
		if err != nil {
			return ignoreConflict(err)
		}
		*c = *updated
		return nil
	}
}

// storedOne reads the store's object for c again.
func (m *Mirror) storedOne(ctx context.Context, k kind, c *unstructured.Unstructured) (*stored, error) {
	return k.get(ctx, c.GetNamespace(), c.GetName())
}

func ignoreConflict(err error) error {
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func equalJSON(a, b any) bool { return reflect.DeepEqual(a, b) }
