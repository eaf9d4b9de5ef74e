package podman

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
)

// network is podman's --network for a task's network: none, podman's default bridge for private (a network
// namespace of the job's own behind NAT, without the host's loopback), or the host's. A task that sets none gets
// Options.Network.
func (e *Executor) network(n string) string {
	switch n {
	case api.NetworkNone:
		return "none"
	case api.NetworkPrivate:
		return "bridge"
	case api.NetworkHost:
		return "host"
	}
	return e.opts.Network
}

// writeAuthFile writes the runner's pull secret into the attempt's directory (private to root), mode 0600, for
// `podman create --authfile` and returns its path; without one it returns Options.AuthFile. The caller removes
// the file once podman create returns. Credentials never go into argv or an environment: podman reads them from
// the file, and only for the registries its "auths" name.
func (e *Executor) writeAuthFile(spec executor.Spec, dir string) (string, error) {
	if spec.PullSecret == "" {
		return e.opts.AuthFile, nil
	}
	p := filepath.Join(dir, authName)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("image pull secret: %w", err)
	}
	_, werr := f.WriteString(spec.PullSecret)
	if err := errors.Join(werr, f.Close()); err != nil {
		_ = os.Remove(p)
		return "", fmt.Errorf("image pull secret: %w", err)
	}
	return p, nil
}

// scrub returns err with every one of secrets replaced by api.Mask in its message (podman does not repeat
// credentials, but a message that did would reach the job's reason). err is kept for errors.Is and As.
func scrub(err error, secrets []string) error {
	msg := err.Error()
	clean := msg
	for _, s := range secrets {
		if s != "" {
			clean = strings.ReplaceAll(clean, s, api.Mask)
		}
	}
	if clean == msg {
		return err
	}
	return &scrubbed{msg: clean, err: err}
}

type scrubbed struct {
	msg string
	err error
}

func (s *scrubbed) Error() string { return s.msg }
func (s *scrubbed) Unwrap() error { return s.err }
