package httpapi

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/auth"
)

// TestStateStoreSecretRefAccess: a git state store's secretRef names the runner whose secret it pushes with, so
// naming one needs write access to that runner (403 otherwise); a store that keeps the name it had needs nothing.
func TestStateStoreSecretRefAccess(t *testing.T) {
	t.Parallel()
	st := sealedStore(t)
	h := &Handler{st: st, reconciler: NopReconciler{}, log: slog.New(slog.DiscardHandler)}
	admin := auth.Principal{Username: "root", Grants: []api.Role{{Resource: "*", ResourceIDs: []string{"*"}, Access: api.AccessWrite}}}
	platform := auth.Principal{Username: "platform", Grants: []api.Role{
		{Resource: api.ResourceStateStores, ResourceIDs: []string{"*"}, Access: api.AccessWrite},
		{Resource: api.ResourceRunners, ResourceIDs: []string{"deploy"}, Access: api.AccessWrite}}}
	store := func(ref string) string {
		return `{"kind": "GitStateStore", "name": "git", "url": "https://git.example.com/state.git", "secretRef": {"name": "` + ref + `"}}`
	}
	for _, tc := range []struct {
		name   string
		who    auth.Principal
		fn     handlerFunc
		body   string
		status int
	}{
		{"another runner's secret", platform, h.createStateStore, store("ci"), http.StatusForbidden},
		{"a runner it may write", platform, h.createStateStore, store("deploy"), http.StatusOK},
		{"admin moves it to another", admin, h.replaceStateStore, store("ci"), http.StatusOK},
		{"unchanged reference", platform, h.replaceStateStore, store("ci"), http.StatusOK},
		{"unchanged reference sent to another URL", platform, h.replaceStateStore,
			`{"kind": "GitStateStore", "name": "git", "url": "https://attacker.example.com/x.git", "secretRef": {"name": "ci"}}`, http.StatusForbidden},
		{"back to one it may write", platform, h.replaceStateStore, store("deploy"), http.StatusOK},
		{"then one it may not", platform, h.replaceStateStore, store("ops"), http.StatusForbidden},
	} {
		r := httptest.NewRequestWithContext(auth.WithPrincipal(t.Context(), tc.who), "POST", "/x", strings.NewReader(tc.body))
		r.SetPathValue("id", "git")
		w := httptest.NewRecorder()
		status := http.StatusOK
		if err := tc.fn(w, r); err != nil {
			status, _ = classify(err)
		}
		if status != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, status, tc.status)
		}
	}
}

// TestStateStoreSecretRefAccessInCluster: with a cluster, a secretRef names a Kubernetes Secret that the server
// reads with its own identity, in any namespace, so only an admin may name one; write access to a runner of the
// same name grants nothing; a store that keeps the Secret it named needs nothing.
func TestStateStoreSecretRefAccessInCluster(t *testing.T) {
	t.Parallel()
	st := sealedStore(t)
	h := &Handler{st: st, reconciler: NopReconciler{}, log: slog.New(slog.DiscardHandler), secretsInCluster: true}
	admin := auth.Principal{Username: "root", Grants: []api.Role{{Resource: "*", ResourceIDs: []string{"*"}, Access: api.AccessWrite}}}
	platform := auth.Principal{Username: "platform", Grants: []api.Role{
		{Resource: api.ResourceStateStores, ResourceIDs: []string{"*"}, Access: api.AccessWrite},
		{Resource: api.ResourceRunners, ResourceIDs: []string{"*"}, Access: api.AccessWrite}}}
	storeAt := func(url, ns, name string) string {
		return `{"kind": "GitStateStore", "name": "git", "url": "` + url + `", "secretRef": {"name": "` +
			name + `", "namespace": "` + ns + `"}}`
	}
	store := func(ns, name string) string { return storeAt("https://git.example.com/state.git", ns, name) }
	for _, tc := range []struct {
		name   string
		who    auth.Principal
		fn     handlerFunc
		body   string
		status int
		msg    string
	}{
		{"a writer of every runner names a Secret", platform, h.createStateStore, store("default", "git-creds"), http.StatusForbidden,
			"Kubernetes Secret default/git-creds"},
		{"admin names it", admin, h.createStateStore, store("", "git-creds"), http.StatusOK, ""},
		{"unchanged reference, namespace spelled out", platform, h.replaceStateStore, store("default", "git-creds"), http.StatusOK, ""},
		{"the same name in another namespace", platform, h.replaceStateStore, store("kube-system", "git-creds"), http.StatusForbidden,
			"Kubernetes Secret kube-system/git-creds"},
		{"the same reference sent to another URL", platform, h.replaceStateStore,
			storeAt("https://attacker.example.com/x.git", "default", "git-creds"), http.StatusForbidden, "change the URL"},
		{"admin moves it", admin, h.replaceStateStore, store("kube-system", "git-creds"), http.StatusOK, ""},
	} {
		r := httptest.NewRequestWithContext(auth.WithPrincipal(t.Context(), tc.who), "POST", "/x", strings.NewReader(tc.body))
		r.SetPathValue("id", "git")
		w := httptest.NewRecorder()
		status, msg := http.StatusOK, ""
		if err := tc.fn(w, r); err != nil {
			var e api.Error
			status, e = classify(err)
			msg = e.Error
		}
		if status != tc.status || !strings.Contains(msg, tc.msg) {
			t.Errorf("%s: %d %q, want %d %q", tc.name, status, msg, tc.status, tc.msg)
		}
	}
}

// TestStateStoreCredentialsFollowTheURL: an update that keeps stored credentials by sending the mask back may not
// change the URL they are sent to (400 naming credentials); sent again, or with the URL unchanged, it may.
func TestStateStoreCredentialsFollowTheURL(t *testing.T) {
	t.Parallel()
	st := sealedStore(t)
	h := &Handler{st: st, reconciler: NopReconciler{}, log: slog.New(slog.DiscardHandler)}
	writer := auth.Principal{Username: "platform", Grants: []api.Role{{Resource: api.ResourceStateStores, ResourceIDs: []string{"*"}, Access: api.AccessWrite}}}
	store := func(url, password string) string {
		return `{"kind": "GitStateStore", "name": "git", "url": "` + url + `", "credentials": {"username": "bot", "password": "` + password + `"}}`
	}
	const home, other = "https://git.example.com/state.git", "https://attacker.example.com/x.git"
	for _, tc := range []struct {
		name   string
		fn     handlerFunc
		body   string
		status int
	}{
		{"create", h.createStateStore, store(home, "s3cret-pass"), http.StatusOK},
		{"kept, same URL", h.replaceStateStore, store(home, api.Mask), http.StatusOK},
		{"kept, another URL", h.replaceStateStore, store(other, api.Mask), http.StatusBadRequest},
		{"sent again, another URL", h.replaceStateStore, store(other, "new-pass"), http.StatusOK},
	} {
		r := httptest.NewRequestWithContext(auth.WithPrincipal(t.Context(), writer), "POST", "/x", strings.NewReader(tc.body))
		r.SetPathValue("id", "git")
		status, msg := http.StatusOK, ""
		if err := tc.fn(httptest.NewRecorder(), r); err != nil {
			var e api.Error
			status, e = classify(err)
			msg = e.Error
		}
		if status != tc.status || (status == http.StatusBadRequest && !strings.Contains(msg, "credentials")) {
			t.Errorf("%s: %d %q, want %d", tc.name, status, msg, tc.status)
		}
	}
	stored, err := st.GetStateStore(t.Context(), "git")
	if err != nil || stored.URL != other || stored.Credentials == nil || stored.Credentials.Password != "new-pass" {
		t.Errorf("stored %+v, %v; want the other URL with the password sent again", stored, err)
	}
}
