package gittest

import (
	"crypto/subtle"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ServeHTTP serves bareDir read-only over git's smart HTTP protocol (git http-backend behind net/http/cgi) on
// 127.0.0.1 and returns the repository's URL. Every request must carry basic auth with password; user "" accepts
// any user name. With both user and password "" the repository is public. The server closes at t.Cleanup.
func ServeHTTP(t testing.TB, bareDir, user, password string) (url string) {
	t.Helper()
	return ServeHTTPAt(t, "127.0.0.1", bareDir, user, password)
}

// ServeHTTPAt is ServeHTTP on a port of its own at host, an address of this machine (for example one that pods
// of a local Kubernetes cluster can reach).
func ServeHTTPAt(t testing.TB, host, bareDir, user, password string) (url string) {
	t.Helper()
	return serveHTTP(t, host, bareDir, user, password, false)
}

// ServePushHTTP is ServeHTTP with pushes allowed, to user (who must be named) with password only.
func ServePushHTTP(t testing.TB, bareDir, user, password string) (url string) {
	t.Helper()
	if user == "" || password == "" {
		t.Fatal("gittest.ServePushHTTP: pushes need a user and a password")
	}
	return serveHTTP(t, "127.0.0.1", bareDir, user, password, true)
}

func serveHTTP(t testing.TB, host, bareDir, user, password string, push bool) (url string) {
	t.Helper()
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatalf("git --exec-path: %v", err)
	}
	backend := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend"),
		Dir:  filepath.Dir(bareDir),
		Env: []string{
			"GIT_PROJECT_ROOT=" + filepath.Dir(bareDir),
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1",
			"GIT_CONFIG_GLOBAL=/dev/null",
			"HOME=" + t.TempDir(),
			"PATH=" + os.Getenv("PATH"),
			"REMOTE_USER=" + user, // http-backend takes pushes from an authenticated user only
		},
		Stderr: logWriter{t}, // "Not a git repository" and such, with the test's output
	}
	public := user == "" && password == ""
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !public {
			u, p, ok := r.BasicAuth()
			if !ok || (user != "" && u != user) || subtle.ConstantTimeCompare([]byte(p), []byte(password)) != 1 {
				w.Header().Set("WWW-Authenticate", `Basic realm="gittest"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
		}
		if !push && (strings.Contains(r.URL.Path, "git-receive-pack") || r.URL.Query().Get("service") == "git-receive-pack") {
			http.Error(w, "read-only", http.StatusForbidden)
			return
		}
		backend.ServeHTTP(w, r)
	})
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: h}}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL + "/" + filepath.Base(bareDir)
}

// logWriter writes to the test log. The server is closed, ending every request, before the test completes.
type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
