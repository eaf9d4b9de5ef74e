package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/auth"
	"github.com/runplane/runplane/internal/store"
)

// destRecorder is a recorder that is also a DestinationReconciler.
type destRecorder struct {
	recorder
}

func (r *destRecorder) ReconcileDestination(_ context.Context, c Change, d api.Destination) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "destination "+string(c)+" "+d.Name+" cleanup "+d.Cleanup)
	if c == ChangeDeleting {
		return r.deleting
	}
	return nil
}

// TestDestinationReconcilerSeam: the destination routes tell a reconciler that would know of each stored change
// (created, updated, deleting before the delete, deleted after), and a failed deleting keeps the destination.
func TestDestinationReconcilerSeam(t *testing.T) {
	t.Parallel()
	st := sealedStore(t)
	if err := st.CreateStateStore(t.Context(), api.StateStore{Kind: api.KindDirectoryStateStore, Name: "local", Path: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	rec := &destRecorder{}
	h := &Handler{st: st, reconciler: rec, log: slog.New(slog.DiscardHandler)}
	admin := auth.Principal{Username: "root", Grants: []api.Role{{Resource: "*", ResourceIDs: []string{"*"}, Access: api.AccessWrite}}}
	call := func(fn handlerFunc, method, body string) int {
		t.Helper()
		r := httptest.NewRequestWithContext(auth.WithPrincipal(t.Context(), admin), method, "/x", strings.NewReader(body))
		r.SetPathValue("id", "dev")
		w := httptest.NewRecorder()
		if err := fn(w, r); err != nil {
			status, _ := classify(err)
			return status
		}
		return w.Code
	}
	dest := `{"name": "dev", "stateStoreRef": {"kind": "DirectoryStateStore", "name": "local"}, "cleanup": "%s"}`
	rec.deleting = errors.New("the state store is unreachable")
	for _, s := range []struct {
		fn     handlerFunc
		method string
		body   string
		status int
	}{
		{h.createDestination, "POST", strings.Replace(dest, "%s", "none", 1), 200},
		{h.replaceDestination, "PUT", strings.Replace(dest, "%s", "all", 1), 200},
		{h.deleteDestination, "DELETE", "", http.StatusInternalServerError},
	} {
		if got := call(s.fn, s.method, s.body); got != s.status {
			t.Fatalf("%s = %d, want %d", s.method, got, s.status)
		}
	}
	if _, err := st.GetDestination(t.Context(), "dev"); err != nil {
		t.Fatalf("after a failed cleanup, GetDestination = %v, want the destination kept", err)
	}
	rec.deleting = nil
	if got := call(h.deleteDestination, "DELETE", ""); got != 200 {
		t.Fatalf("DELETE = %d, want 200", got)
	}
	if _, err := st.GetDestination(t.Context(), "dev"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after the delete, GetDestination = %v, want not found", err)
	}
	want := []string{"destination created dev cleanup none", "destination updated dev cleanup all",
		"destination deleting dev cleanup all", "destination deleting dev cleanup all", "destination deleted dev cleanup all"}
	if strings.Join(rec.calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("reconciler was told:\n%s\nwant:\n%s", strings.Join(rec.calls, "\n"), strings.Join(want, "\n"))
	}
}
