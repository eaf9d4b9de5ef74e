package release

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/restmapper"
)

// DiscoveryFile is the optional input file with what the server knows of the cluster's APIs (Discovery): with
// it, the step asks the API server for none of what Helm would otherwise discover in every process (the server
// version and every group's resources for the chart's capabilities, then the same again for its REST mapping).
const DiscoveryFile = "discovery.json"

// Discovery is what the step needs of the cluster's discovery: Helm's capabilities (the Kubernetes version and
// the API versions a chart's templates may test), and the resources of the API groups the chart renders (the REST
// mapping of its objects). A kind it does not map is discovered by the step as before (a CRD newer than the file).
type Discovery struct {
	KubeVersion common.KubeVersion              `json:"kubeVersion"`
	APIVersions []string                        `json:"apiVersions"`
	Groups      []*restmapper.APIGroupResources `json:"groups"`
}

// discoveryReuse is how long the server's discovery is reused before it asks again: as long as one burst of
// installs, short enough that a CRD installed meanwhile is soon in the capabilities of the next.
const discoveryReuse = 30 * time.Second

// discoverer keeps the cluster's discovery for a while.
type discoverer struct {
	dc  discovery.CachedDiscoveryInterface
	now func() time.Time

	mu  sync.Mutex
	at  time.Time
	ver common.KubeVersion
}

// Discovery returns the Discovery file for a chart that renders kinds (apiVersion, kind pairs).
func (a *Access) Discovery(_ context.Context, kinds [][2]string) ([]byte, error) {
	d := a.disco
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.at.IsZero() || d.now().Sub(d.at) > discoveryReuse {
		d.dc.Invalidate()
		v, err := d.dc.ServerVersion()
		if err != nil {
			return nil, fmt.Errorf("discovery: server version: %w", err)
		}
		d.ver, d.at = common.KubeVersion{Version: v.GitVersion, Major: v.Major, Minor: v.Minor}, d.now()
	}
	versions, err := action.GetVersionSet(d.dc)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	all, err := restmapper.GetAPIGroupResources(d.dc)
	if err != nil && !discovery.IsGroupDiscoveryFailedError(err) {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	groups := map[string]bool{}
	for _, k := range kinds {
		if gv, err := schema.ParseGroupVersion(k[0]); err == nil {
			groups[gv.Group] = true
		}
	}
	out := Discovery{KubeVersion: d.ver, APIVersions: versions}
	for _, g := range all {
		if groups[g.Group.Name] {
			out.Groups = append(out.Groups, g)
		}
	}
	return json.Marshal(out)
}

// fallbackMapper maps with first and, for what first does not know, with then.
type fallbackMapper struct{ first, then meta.RESTMapper }

var _ meta.RESTMapper = fallbackMapper{}

func (m fallbackMapper) KindFor(r schema.GroupVersionResource) (schema.GroupVersionKind, error) {
	k, err := m.first.KindFor(r)
	if meta.IsNoMatchError(err) {
		return m.then.KindFor(r)
	}
	return k, err
}

func (m fallbackMapper) KindsFor(r schema.GroupVersionResource) ([]schema.GroupVersionKind, error) {
	k, err := m.first.KindsFor(r)
	if meta.IsNoMatchError(err) {
		return m.then.KindsFor(r)
	}
	return k, err
}

func (m fallbackMapper) ResourceFor(r schema.GroupVersionResource) (schema.GroupVersionResource, error) {
	res, err := m.first.ResourceFor(r)
	if meta.IsNoMatchError(err) {
		return m.then.ResourceFor(r)
	}
	return res, err
}

func (m fallbackMapper) ResourcesFor(r schema.GroupVersionResource) ([]schema.GroupVersionResource, error) {
	res, err := m.first.ResourcesFor(r)
	if meta.IsNoMatchError(err) {
		return m.then.ResourcesFor(r)
	}
	return res, err
}

func (m fallbackMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	r, err := m.first.RESTMapping(gk, versions...)
	if meta.IsNoMatchError(err) {
		return m.then.RESTMapping(gk, versions...)
	}
	return r, err
}

func (m fallbackMapper) RESTMappings(gk schema.GroupKind, versions ...string) ([]*meta.RESTMapping, error) {
	r, err := m.first.RESTMappings(gk, versions...)
	if meta.IsNoMatchError(err) {
		return m.then.RESTMappings(gk, versions...)
	}
	return r, err
}

func (m fallbackMapper) ResourceSingularizer(resource string) (string, error) {
	s, err := m.first.ResourceSingularizer(resource)
	if err != nil {
		return m.then.ResourceSingularizer(resource)
	}
	return s, err
}
