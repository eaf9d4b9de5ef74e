package kratix

import (
	"slices"

	"github.com/runplane/runplane/api"
)

// A pipeline's identity on Kubernetes, as Kratix gives it. A pipeline whose spec.rbac names a service account or
// lists permissions runs as a service account of its own, with its API token mounted: the one rbac.serviceAccount
// names (created if missing, never changed or deleted if it was there before), else one named
// "<promise>-<promise|resource>-<configure|delete>-<pipeline>". Its permissions become a Role and RoleBinding in
// the jobs' namespace (resourceNamespace ""), in the namespace resourceNamespace names, or a ClusterRole and
// ClusterRoleBinding for "*" (every namespace). Every other pipeline, as every other job, runs without a token.

// AllNamespaces is the resourceNamespace of a permission granted in every namespace.
const AllNamespaces = "*"

// PipelineAccess is what one pipeline of a promise runs as on Kubernetes.
type PipelineAccess struct {
	// ID is "<promise>-<type>-<action>-<pipeline>": the name of the service account runplane makes and of the
	// roles and bindings of its permissions.
	ID string
	// ServiceAccount is the account's name: ID, or the one rbac.serviceAccount names.
	ServiceAccount string
	// Existing is true when rbac.serviceAccount named the account: runplane creates it only if missing, and
	// never changes or deletes one it did not create.
	Existing bool
	// Rules are the permissions by namespace: "" the jobs' namespace, AllNamespaces every namespace.
	Rules map[string][]api.PipelinePermission
}

// NeedsAccount reports whether pipeline p runs as a service account of its own, with its token.
func NeedsAccount(p api.Pipeline) bool {
	r := p.Spec.RBAC
	return r != nil && (r.ServiceAccount != "" || len(r.Permissions) > 0)
}

// PipelineID is Kratix's id of pipeline name of promise for workflow type t and action a.
func PipelineID(promise string, t WorkflowType, a Action, pipeline string) string {
	return promise + "-" + string(t) + "-" + string(a) + "-" + pipeline
}

// ServiceAccountOf is the service account pipeline p of promise runs as for type t and action a, or "" when it
// runs as every job does (NeedsAccount is false).
func ServiceAccountOf(promise string, t WorkflowType, a Action, p api.Pipeline) string {
	if !NeedsAccount(p) {
		return ""
	}
	if p.Spec.RBAC.ServiceAccount != "" {
		return p.Spec.RBAC.ServiceAccount
	}
	return PipelineID(promise, t, a, p.Metadata.Name)
}

// Access lists what every pipeline of promise that asked for rbac runs as: promise then resource workflows,
// configure then delete, each in order. Pipelines that did not ask are not listed.
func Access(promise string, w api.PromiseWorkflows) []PipelineAccess {
	var out []PipelineAccess
	for _, g := range []struct {
		t       WorkflowType
		actions api.WorkflowActions
	}{{TypePromise, w.Promise}, {TypeResource, w.Resource}} {
		for _, a := range []struct {
			a  Action
			ps []api.Pipeline
		}{{ActionConfigure, g.actions.Configure}, {ActionDelete, g.actions.Delete}} {
			for _, p := range a.ps {
				if !NeedsAccount(p) {
					continue
				}
				pa := PipelineAccess{
					ID:             PipelineID(promise, g.t, a.a, p.Metadata.Name),
					ServiceAccount: ServiceAccountOf(promise, g.t, a.a, p),
					Existing:       p.Spec.RBAC.ServiceAccount != "",
				}
				for _, perm := range p.Spec.RBAC.Permissions {
					if pa.Rules == nil {
						pa.Rules = map[string][]api.PipelinePermission{}
					}
					pa.Rules[perm.ResourceNamespace] = append(pa.Rules[perm.ResourceNamespace], perm)
				}
				out = append(out, pa)
			}
		}
	}
	return out
}

// Namespaces are the namespaces a's rules name, sorted ("" and AllNamespaces included when used).
func (a PipelineAccess) Namespaces() []string {
	var ns []string
	for n := range a.Rules {
		ns = append(ns, n)
	}
	slices.Sort(ns)
	return ns
}
