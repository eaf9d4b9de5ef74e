package podman

import (
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/inpod/forward"
)

// A workflow step's container reaches the metadata API without a network: the server serves the API's routes
// (and no others) on a Unix socket in Metadata.SocketDir, which is mounted read-only into the container, and the
// container's command runs under runplane-forward (internal/inpod/forward), mounted read-only too, which listens
// on the container's own loopback and copies each connection to that socket. The step's RUNPLANE_METADATA_URL
// (and METADATA_API_URL) name http://127.0.0.1:PORT/api/v1/metadata, PORT being that of the URL the server gave
// (its own, unless --advertise-url says otherwise; DefaultMetadataPort if that one has none or a privileged one),
// so with the server's default URL a step sees the very URL it would outside a container. A step is a job whose
// Spec.ExtraEnv sets RUNPLANE_METADATA_URL. A container with the host's network (Spec.Network host) reaches the
// server as a local process does and gets none of this.

// Metadata lets workflow steps' containers reach the metadata API (Options.Metadata).
type Metadata struct {
	// SocketDir is the host directory of the server's metadata API socket (SocketName), mounted read-only at
	// /.runplane/metadata in every step's container. It must not be writable by the job's uid. A directory, not
	// the socket: a server that restarts makes its socket anew, and containers that outlived it find that one.
	SocketDir string
	// Forwarder is a statically linked binary that runs internal/inpod/forward when called runplane-forward:
	// runplane-pid1, or runplane built with CGO_ENABLED=0. It is mounted read-only at /.runplane/runplane-forward.
	// Empty: steps' containers (but those with the host's network) fail to start, saying why.
	Forwarder string
}

// SocketName is the metadata API socket's name in Metadata.SocketDir.
const SocketName = "api.sock"

// DefaultMetadataPort is the port the forwarder listens on in a container when the server's metadata URL has no
// port that a process without capabilities may listen on.
const DefaultMetadataPort = 8080

// Paths in a step's container.
const (
	forwarderPath  = "/.runplane/" + forward.Name
	socketMount    = "/.runplane/metadata"
	metadataPath   = "/api/v1/metadata"
	metadataListen = "127.0.0.1"
)

// checkMetadata checks Options.Metadata: without a forwarder, nothing (steps' containers then fail to start);
// with one, absolute paths and a forwarder that is a static executable (an image may have no C library for it).
func checkMetadata(m Metadata) error {
	if m.Forwarder == "" {
		return nil
	}
	if !filepath.IsAbs(m.SocketDir) || !filepath.IsAbs(m.Forwarder) {
		return fmt.Errorf("metadata: socket dir %q and forwarder %q: want both, absolute", m.SocketDir, m.Forwarder)
	}
	return StaticExecutable(m.Forwarder)
}

// StaticExecutable reports, as an error, why path cannot run in any image: not an executable file, or an ELF
// file that needs a dynamic loader.
func StaticExecutable(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() || info.Mode().Perm()&0o001 == 0 {
		return fmt.Errorf("%s: not a file every user may execute", path)
	}
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked: build it with CGO_ENABLED=0", path)
		}
	}
	return nil
}

// forwarding is how one step's containers reach the metadata API.
type forwarding struct {
	from   string // the metadata URL the server gave the step
	to     string // the one its containers get
	listen string // the forwarder's address
	mounts []string
}

// forwardingOf returns the forwarding of spec's containers; nil for a job that is not a workflow step, or that
// has the host's network.
func (e *Executor) forwardingOf(spec executor.Spec) (*forwarding, error) {
	from := ""
	for _, kv := range spec.ExtraEnv {
		if v, ok := strings.CutPrefix(kv, api.EnvMetadataURL+"="); ok {
			from = v
		}
	}
	if from == "" || e.network(spec.Network) == "host" {
		return nil, nil
	}
	if e.opts.Metadata.Forwarder == "" {
		return nil, errors.New("workflow step: the metadata API cannot reach its container: the server found no static runplane-pid1 to forward it with (put one, built with CGO_ENABLED=0, next to runplane)")
	}
	port := DefaultMetadataPort
	if u, err := url.Parse(from); err == nil {
		if p, err := strconv.Atoi(u.Port()); err == nil && p >= 1024 && p <= 65535 {
			port = p
		}
	}
	listen := net.JoinHostPort(metadataListen, strconv.Itoa(port))
	return &forwarding{
		from:   from,
		to:     "http://" + listen + metadataPath,
		listen: listen,
		mounts: []string{
			"--volume", e.opts.Metadata.Forwarder + ":" + forwarderPath + ":ro",
			"--volume", e.opts.Metadata.SocketDir + ":" + socketMount + ":ro",
		},
	}, nil
}

// env returns env with the metadata URLs the server gave replaced by the container's.
func (f *forwarding) env(env []string) []string {
	out := make([]string, len(env))
	for i, kv := range env {
		name, v, _ := strings.Cut(kv, "=")
		if (name == api.EnvMetadataURL || name == api.EnvRelayURL) && v == f.from {
			kv = name + "=" + f.to
		}
		out[i] = kv
	}
	return out
}

// entrypoint is podman's --entrypoint that runs argv under the forwarder: a JSON array, which podman takes as the
// whole entrypoint.
func (f *forwarding) entrypoint(argv []string) string {
	ep := append([]string{forwarderPath, "--listen", f.listen, "--socket", socketMount + "/" + SocketName, "--"}, argv...)
	b, _ := json.Marshal(ep)
	return string(b)
}

// imageConfig is what this executor reads of `podman image inspect`.
type imageConfig struct {
	Config struct {
		Entrypoint []string
		Cmd        []string
	}
}

// imageCommand returns what image runs when a container names no command: its entrypoint and command, pulling it
// first as `podman create` would (Options.Pull, with authFile).
func (e *Executor) imageCommand(ctx context.Context, image, authFile string) (entrypoint, cmd []string, err error) {
	inspect := func() ([]byte, error) {
		return e.run(ctx, e.opts.CallTimeout, nil, "image", "inspect", "--format", "json", image)
	}
	out, err := inspect()
	if e.opts.Pull == "always" || (err != nil && e.opts.Pull != "never") {
		args := []string{"pull", "--quiet"}
		if authFile != "" {
			args = append(args, "--authfile", authFile)
		}
		if e.opts.SkipTLSVerify {
			args = append(args, "--tls-verify=false")
		}
		if _, err := e.run(ctx, e.opts.CreateTimeout, nil, append(args, "--", image)...); err != nil {
			return nil, nil, err
		}
		out, err = inspect()
	}
	if err != nil {
		return nil, nil, err
	}
	var cfg []imageConfig
	if err := json.Unmarshal(out, &cfg); err != nil || len(cfg) != 1 {
		return nil, nil, fmt.Errorf("podman image inspect %s: unexpected output %.200q", image, out)
	}
	entrypoint = cfg[0].Config.Entrypoint
	if len(entrypoint) == 1 && entrypoint[0] == "" {
		entrypoint = nil // podman's way of saying none
	}
	return entrypoint, cfg[0].Config.Cmd, nil
}

// forwardedArgv is what container c runs, as podman would work it out: its command, else its image's entrypoint;
// then its args, else (with neither command nor args) its image's command.
func (e *Executor) forwardedArgv(ctx context.Context, c api.Container, image, authFile string) ([]string, error) {
	if len(c.Command) > 0 {
		return append(append([]string(nil), c.Command...), c.Args...), nil
	}
	ep, cmd, err := e.imageCommand(ctx, image, authFile)
	if err != nil {
		return nil, err
	}
	if len(c.Args) > 0 {
		cmd = c.Args
	}
	argv := append(append([]string(nil), ep...), cmd...)
	if len(argv) == 0 {
		return nil, errors.New("no command: the container names none and its image has no entrypoint or command")
	}
	return argv, nil
}
