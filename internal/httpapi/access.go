package httpapi

import (
	"net/http"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/auth"
	"github.com/runplane/runplane/internal/rbac"
)

// access answers what the caller's roles allow, per resource: the web UI decides from it which links and pages
// to offer without trying requests it may not make. It reads only the caller's own grants.
func (h *Handler) access(w http.ResponseWriter, r *http.Request) error {
	p, ok := auth.PrincipalFrom(r.Context())
	if !ok {
		return auth.ErrUnauthenticated
	}
	out := api.CallerAccess{UserID: p.UserID, Username: p.Username, Provider: p.Provider, Resources: map[string]api.Access{}}
	for _, res := range api.Resources {
		switch {
		case rbac.Any(p.Grants, api.AccessWrite, res):
			out.Resources[res] = api.AccessWrite
		case rbac.Any(p.Grants, api.AccessRead, res):
			out.Resources[res] = api.AccessRead
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
