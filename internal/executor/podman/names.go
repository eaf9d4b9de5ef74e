package podman

import (
	"crypto/rand"
	"encoding/hex"
	"strings"

	"github.com/runplane/runplane/internal/executor"
)

// A container's name is namePrefix + the job id made safe (at most 40 characters) + "-" + 8 random hex digits;
// its handle is handlePrefix + the name, and its directory under WorkDir has the name too.
const (
	namePrefix   = "runplane-"
	handlePrefix = "podman:"
)

func newName(jobID string) string {
	var b strings.Builder
	b.WriteString(namePrefix)
	for _, r := range jobID {
		if b.Len() >= len(namePrefix)+40 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	b.WriteString("-" + hex.EncodeToString(rnd[:]))
	return b.String()
}

// validName reports whether name could have been made by newName (and is safe as a path element).
func validName(name string) bool {
	if !strings.HasPrefix(name, namePrefix) || len(name) > 100 {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

func handleOf(name string) executor.Handle { return executor.Handle(handlePrefix + name) }

// nameOf returns the container name of h, or false if h is not a handle of this executor.
func nameOf(h executor.Handle) (string, bool) {
	name, ok := strings.CutPrefix(string(h), handlePrefix)
	return name, ok && validName(name)
}

// podmanReads reports whether podman itself (or a library it uses) reads environment variable name. Job variables
// reach podman through its own environment, so such a name cannot be passed to a job: it would change what podman
// does (CONTAINER_HOST would even send the job to another machine).
func podmanReads(name string) bool {
	switch name {
	case "TMPDIR", "TZ", "NOTIFY_SOCKET", "REGISTRY_AUTH_FILE", "SSL_CERT_FILE", "SSL_CERT_DIR",
		"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "no_proxy", "all_proxy",
		"DBUS_SESSION_BUS_ADDRESS", "GODEBUG", "GOGC", "GOMAXPROCS", "GOMEMLIMIT", "GOTRACEBACK", "GORACE",
		"LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES":
		return true
	}
	for _, p := range []string{"CONTAINERS_", "CONTAINER_", "_CONTAINERS", "PODMAN_", "BUILDAH_", "STORAGE_", "DOCKER_", "XDG_", "SSH_", "CONMON_"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
