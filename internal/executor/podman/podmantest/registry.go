package podmantest

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

// Registry is a real OCI distribution server (go-containerregistry's) on 127.0.0.1 over plain HTTP, behind HTTP
// basic authentication: every request without the right user and password is answered 401 with a Basic
// challenge, as a private registry does. Podman reaches it with --tls-verify=false.
type Registry struct {
	Host     string // 127.0.0.1:<port>
	User     string
	Password string
}

// NewRegistry starts a registry that accepts user and password, stopped at the end of the test.
func NewRegistry(t testing.TB, user, password string) *Registry {
	t.Helper()
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(want)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="runplane-test"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return &Registry{Host: strings.TrimPrefix(srv.URL, "http://"), User: user, Password: password}
}

// AuthConfig is a docker config.json with credentials for r: what a runner's image_pull_secret holds.
func (r *Registry) AuthConfig(user, password string) string {
	b, _ := json.Marshal(map[string]any{"auths": map[string]any{
		r.Host: map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + password))},
	}})
	return string(b)
}

// Push pushes the test image (BuildImage) to r as repo:tag and returns its reference there. The reference is
// not in podman's local store afterwards (podman push adds no name), so running it needs a pull; the test removes
// the name at its end in case a job pulled it.
func (r *Registry) Push(t testing.TB, repo string) string {
	t.Helper()
	BuildImage(t)
	ref := r.Host + "/" + repo
	auth := filepath.Join(t.TempDir(), "auth.json")
	if err := os.WriteFile(auth, []byte(r.AuthConfig(r.User, r.Password)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := podman("push", "--quiet", "--tls-verify=false", "--authfile", auth, Image, ref).CombinedOutput(); err != nil {
		t.Fatalf("podman push %s: %v: %s", ref, err, out)
	}
	t.Cleanup(func() { _ = podman("rmi", "--ignore", ref).Run() })
	if podman("image", "exists", ref).Run() == nil {
		t.Fatalf("%s is in podman's local store after the push: a job would not pull it", ref)
	}
	return ref
}
