package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor/podman"
	"github.com/runplane/runplane/internal/inpod/pid1"
)

// In the container isolation mode, workflow steps' containers have no network, so the server also serves the
// metadata API on a Unix socket, metadataDir/api.sock in the data dir, which the podman executor mounts read-only
// into each step's container, where a forwarder on the container's loopback leads to it (executor/podman,
// metadata.go). Only the metadata API's routes are served there: whatever else a container asks for is 404, so
// the socket gives a container no more of the server than its step token does over the network.

// metadataDir is the data dir's directory of the metadata API socket: mode 0755, root's, so that the job's uid
// can reach the socket (0666) but not replace it.
const metadataDir = "metadata"

// metadataPrefix is the path of the metadata API's routes: the one path the socket serves under.
const metadataPrefix = "/api/v1/metadata/"

// metadataForwarder finds the static binary the podman executor mounts into steps' containers as
// runplane-forward: runplane-pid1 next to this executable, else this executable itself, whichever is statically
// linked; "" (and a warning) if neither is.
func metadataForwarder(log *slog.Logger) string {
	self, err := os.Executable()
	if err == nil {
		self, err = filepath.EvalSymlinks(self)
	}
	if err != nil {
		log.Warn("workflow steps cannot reach the metadata API in the container isolation mode: no runplane-pid1 found", "err", err)
		return ""
	}
	var why []string
	for _, p := range []string{filepath.Join(filepath.Dir(self), pid1.Name), self} {
		err := podman.StaticExecutable(p)
		if err == nil {
			return p
		}
		why = append(why, err.Error())
	}
	log.Warn("workflow steps cannot reach the metadata API in the container isolation mode, and will not start: put runplane-pid1, built with CGO_ENABLED=0, next to runplane", "why", strings.Join(why, "; "))
	return ""
}

// metadataSocket serves the metadata API on the Unix socket of the container isolation mode.
type metadataSocket struct {
	ln  net.Listener
	srv *http.Server
}

// openMetadataSocket makes dir (0755) and listens on dir/api.sock (0666), replacing a socket an earlier server
// left there: step containers that outlived it find the new one, at the same path.
func openMetadataSocket(dir string, h http.Handler, log *slog.Logger) (*metadataSocket, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("server: metadata socket: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, fmt.Errorf("server: metadata socket: %w", err)
	}
	p := filepath.Join(dir, podman.SocketName)
	if len(p) >= 108 { // sun_path
		return nil, fmt.Errorf("server: metadata socket %s: longer than a Unix socket's path may be (107 bytes): use a shorter data dir", p)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("server: metadata socket: %w", err)
	}
	ln, err := net.Listen("unix", p)
	if err != nil {
		return nil, fmt.Errorf("server: metadata socket: %w", err)
	}
	if err := os.Chmod(p, 0o666); err != nil {
		ln.Close()
		return nil, fmt.Errorf("server: metadata socket: %w", err)
	}
	return &metadataSocket{ln: ln, srv: &http.Server{
		Handler:           metadataOnly(h),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}}, nil
}

// run serves until ctx ends, then lets requests in flight finish (up to shutdownTimeout).
func (m *metadataSocket) run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- m.srv.Serve(m.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("server: metadata socket: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := m.srv.Shutdown(sctx); err != nil {
		_ = m.srv.Close()
	}
	return nil
}

// metadataOnly passes on to h the requests for the metadata API's routes, as they come (a path that is not clean
// is refused: the mux would redirect it elsewhere), and answers every other 404. The requests come from no
// address and through no proxy.
func metadataOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if r.Method == http.MethodConnect || path.Clean(p) != p || !strings.HasPrefix(p, metadataPrefix) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(api.Error{Error: "not found: this socket serves the metadata API (" + metadataPrefix + "...) only"})
			return
		}
		r.RemoteAddr = "metadata-socket"
		for _, k := range []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Real-Ip"} {
			r.Header.Del(k)
		}
		h.ServeHTTP(w, r)
	})
}
