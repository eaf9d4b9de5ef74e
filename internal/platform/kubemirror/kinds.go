package kubemirror

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// Store is what the mirror reads of runplane's store. It never writes it: writes go through the REST API.
type Store interface {
	GetPromise(ctx context.Context, name string) (store.Promise, error)
	ListPromises(ctx context.Context) ([]store.Promise, error)
	GetResourceRequest(ctx context.Context, promise, namespace, name string) (store.ResourceRequest, error)
	ListResourceRequests(ctx context.Context, promise, namespace string) ([]store.ResourceRequest, error)
	GetDestination(ctx context.Context, name string) (api.Destination, error)
	ListDestinations(ctx context.Context) ([]api.Destination, error)
	GetStateStore(ctx context.Context, name string) (api.StateStore, error)
	ListStateStores(ctx context.Context) ([]api.StateStore, error)
	GetCompositionDefinition(ctx context.Context, namespace, name string) (store.CompositionDefinition, error)
	ListCompositionDefinitions(ctx context.Context, namespace string) ([]store.CompositionDefinition, error)
	GetComposition(ctx context.Context, resource, namespace, name string) (store.Composition, error)
	ListCompositions(ctx context.Context, resource, namespace string) ([]store.Composition, error)
}

// kind is one kind of object kept in step: where it lives in the cluster and in the REST API.
type kind struct {
	name       string // for logs and messages
	gvr        schema.GroupVersionResource
	apiVersion string
	kind       string
	namespaced bool
	// list reads the store's objects of the kind, by key (namespace/name); get reads one (nil if absent).
	list func(ctx context.Context) (map[string]*stored, error)
	get  func(ctx context.Context, namespace, name string) (*stored, error)
	// collection is the REST path objects are created at (POST); item the path of one (PUT, DELETE).
	collection func(namespace string) string
	item       func(namespace, name string) string
	// versioned: updates carry the store's version (metadata.resourceVersion); actions: the object has
	// reconcile and retry routes.
	versioned, actions bool
	// versionOf, for a kind served in several versions that share one stored object (a composition's type:
	// conversion None, so the API server shows every object at whatever version it is asked for), is the version
	// the object was written at; the mirror reads and writes each object at its own version.
	versionOf func(u *unstructured.Unstructured) string
}

// normalize sets c's apiVersion to the version it was written at (kinds with versionOf; others keep theirs).
func (k kind) normalize(c *unstructured.Unstructured) {
	if c != nil && k.versionOf != nil {
		c.SetAPIVersion(k.gvr.Group + "/" + k.versionOf(c))
	}
}

func key(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

var (
	promiseGVR   = schema.GroupVersionResource{Group: "platform.kratix.io", Version: "v1alpha1", Resource: "promises"}
	destGVR      = schema.GroupVersionResource{Group: "platform.kratix.io", Version: "v1alpha1", Resource: "destinations"}
	gitStoreGVR  = schema.GroupVersionResource{Group: "platform.kratix.io", Version: "v1alpha1", Resource: "gitstatestores"}
	dirStoreGVR  = schema.GroupVersionResource{Group: "platform.runplane.dev", Version: "v1alpha1", Resource: "directorystatestores"}
	staticGVRs   = []schema.GroupVersionResource{promiseGVR, destGVR, gitStoreGVR, dirStoreGVR, definitionGVR}
	pathEscape   = url.PathEscape
	promisesPath = "/promises"
)

func promiseKind(st Store) kind {
	return kind{
		name: "promise", gvr: promiseGVR, apiVersion: api.KratixAPIVersion, kind: api.KindPromise,
		versioned: true, actions: true,
		collection: func(string) string { return promisesPath },
		item:       func(_, name string) string { return promisesPath + "/" + pathEscape(name) },
		list: func(ctx context.Context) (map[string]*stored, error) {
			all, err := st.ListPromises(ctx)
			return byKey(all, err, storedPromise)
		},
		get: func(ctx context.Context, _, name string) (*stored, error) {
			p, err := st.GetPromise(ctx, name)
			return orAbsent(storedPromise, p, err)
		},
	}
}

func storedPromise(p store.Promise) *stored {
	s := &stored{Name: p.Metadata.Name, Labels: p.Metadata.Labels, Annotations: p.Metadata.Annotations,
		Spec: p.Spec, Status: asMap(p.Status), Version: p.Version}
	s.Deleting = p.Status.Kratix != nil && p.Status.Kratix.DeletionTimestamp != nil
	return s
}

// orAbsent converts what a store's Get returned: nil for ErrNotFound.
func orAbsent[T any](conv func(T) *stored, v T, err error) (*stored, error) {
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return conv(v), nil
}

// requestKind is the kind of a promise's requests, served at gvr.
func requestKind(st Store, promise string, gvr schema.GroupVersionResource, kindName string, namespaced bool) kind {
	base := "/resources/" + pathEscape(promise)
	return kind{
		name: "resource request of promise " + promise, gvr: gvr, apiVersion: gvr.GroupVersion().String(), kind: kindName,
		namespaced: namespaced, versioned: true, actions: true,
		collection: func(ns string) string { return base + nsQuery(ns) },
		item:       func(ns, name string) string { return base + "/" + pathEscape(name) + nsQuery(ns) },
		list: func(ctx context.Context) (map[string]*stored, error) {
			all, err := st.ListResourceRequests(ctx, promise, "")
			return byKey(all, err, storedRequest)
		},
		get: func(ctx context.Context, ns, name string) (*stored, error) {
			r, err := st.GetResourceRequest(ctx, promise, ns, name)
			return orAbsent(storedRequest, r, err)
		},
	}
}

func storedRequest(r store.ResourceRequest) *stored {
	s := &stored{Name: r.Metadata.Name, Namespace: r.Metadata.Namespace, Labels: r.Metadata.Labels,
		Annotations: r.Metadata.Annotations, Version: r.Version}
	if len(r.Spec) > 0 {
		s.Spec = json.RawMessage(r.Spec)
	}
	_ = json.Unmarshal(r.Status, &s.Status)
	if k, ok := s.Status["kratix"].(map[string]any); ok && k["deletionTimestamp"] != nil {
		s.Deleting = true
	}
	return s
}

func nsQuery(ns string) string {
	if ns == "" {
		return ""
	}
	return "?namespace=" + url.QueryEscape(ns)
}

func destinationKind(st Store) kind {
	return kind{
		name: "destination", gvr: destGVR, apiVersion: api.KratixAPIVersion, kind: api.KindDestination,
		collection: func(string) string { return "/destinations" },
		item:       func(_, name string) string { return "/destinations/" + pathEscape(name) },
		list: func(ctx context.Context) (map[string]*stored, error) {
			all, err := st.ListDestinations(ctx)
			return byKey(all, err, storedDestination)
		},
		get: func(ctx context.Context, _, name string) (*stored, error) {
			d, err := st.GetDestination(ctx, name)
			return orAbsent(storedDestination, d, err)
		},
	}
}

func storedDestination(d api.Destination) *stored {
	spec := map[string]any{"path": d.Path, "stateStoreRef": d.StateStoreRef, "filepath": d.Filepath}
	if d.StrictMatchLabels {
		spec["strictMatchLabels"] = true
	}
	if d.Cleanup != "" {
		spec["cleanup"] = d.Cleanup
	}
	if d.InitWorkloads != nil {
		spec["initWorkloads"] = d.InitWorkloads
	}
	return &stored{Name: d.Name, Labels: d.Labels, Spec: spec, Status: readyStatus()}
}

// stateStoreKind is GitStateStore or DirectoryStateStore. Credentials runplane holds never reach the cluster:
// a GitStateStore object names a Secret (spec.secretRef) instead.
func stateStoreKind(st Store, kindName string) kind {
	gvr, apiVersion := gitStoreGVR, api.KratixAPIVersion
	if kindName == api.KindDirectoryStateStore {
		gvr, apiVersion = dirStoreGVR, api.RunplaneAPIVersion
	}
	return kind{
		name: kindName, gvr: gvr, apiVersion: apiVersion, kind: kindName,
		collection: func(string) string { return "/state_stores" },
		item:       func(_, name string) string { return "/state_stores/" + pathEscape(name) },
		list: func(ctx context.Context) (map[string]*stored, error) {
			all, err := st.ListStateStores(ctx)
			if err != nil {
				return nil, err
			}
			out := map[string]*stored{}
			for _, s := range all {
				if s.Kind == kindName {
					out[key("", s.Name)] = storedStateStore(s)
				}
			}
			return out, nil
		},
		get: func(ctx context.Context, _, name string) (*stored, error) {
			s, err := st.GetStateStore(ctx, name)
			if err == nil && s.Kind != kindName {
				return nil, nil // a store of the other kind has the name
			}
			return orAbsent(storedStateStore, s, err)
		},
	}
}

func storedStateStore(s api.StateStore) *stored {
	spec := map[string]any{"path": s.Path}
	if s.Kind == api.KindGitStateStore {
		spec["url"], spec["branch"], spec["authMethod"] = s.URL, s.Branch, s.AuthMethod
		if s.SecretRef != nil {
			spec["secretRef"] = s.SecretRef
		}
		if s.GitAuthor != (api.GitAuthor{}) {
			spec["gitAuthor"] = s.GitAuthor
		}
	}
	return &stored{Name: s.Name, Spec: spec, Status: readyStatus()}
}

// readyStatus is the status of a destination or state store runplane stored: Ready, as Kratix shows it.
func readyStatus() map[string]any {
	return map[string]any{"status": "Ready", "conditions": []any{map[string]any{
		"type": "Ready", "status": "True", "reason": "Stored", "message": "stored in runplane"}}}
}

func asMap(v any) map[string]any {
	b, _ := json.Marshal(v)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

// byKey is what a list of the store returned (all, or its error err), each object in its cluster form (conv), by
// key(namespace, name).
func byKey[T any](all []T, err error, conv func(T) *stored) (map[string]*stored, error) {
	if err != nil {
		return nil, err
	}
	out := make(map[string]*stored, len(all))
	for _, o := range all {
		s := conv(o)
		out[key(s.Namespace, s.Name)] = s
	}
	return out, nil
}
