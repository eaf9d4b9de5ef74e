package podman_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/executor/podman"
	"github.com/runplane/runplane/internal/executor/podman/podmantest"
)

// metadataEcho answers every request with what it got: method, path, token and body. It plays the server's
// metadata API socket.
var metadataEcho = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	fmt.Fprintf(w, "got %s %s %s %s", r.Method, r.URL.Path, r.Header.Get("Authorization"), body)
})

// stepExecutor is an executor whose steps' containers reach handler on a Unix socket through the forwarder.
func stepExecutor(t *testing.T, h http.Handler) *podman.Executor {
	t.Helper()
	podmantest.Need(t)
	fwd := podmantest.Forwarder(t)
	dir := podmantest.MetadataSocket(t, h, podman.SocketName)
	return newExecutor(t, func(o *podman.Options) {
		o.Metadata = podman.Metadata{SocketDir: dir, Forwarder: fwd}
	})
}

// stepSpec is a workflow step's spec: its metadata URL and token as the run engine gives them.
func stepSpec(t *testing.T, url, command string) (executor.Spec, interface{ String() string }) {
	s, out := spec(t, command)
	s.ExtraEnv = []string{api.EnvMetadataURL + "=" + url, api.EnvRelayURL + "=" + url}
	s.Secrets = map[string]string{api.EnvStepToken: "step-token-1"}
	return s, out
}

// stepScript calls the metadata API with busybox wget (which knows GET and POST only; the echo server takes any).
const stepScript = `echo "url=$RUNPLANE_METADATA_URL relay=$METADATA_API_URL"
wget -q -O- --header "Authorization: Bearer $RUNPLANE_STEP_TOKEN" --post-data 'hello' "$RUNPLANE_METADATA_URL/outputs/greeting"; echo`

// TestStepReachesMetadataAPI: a workflow step's container, with no network, reaches a real HTTP server on the
// metadata socket through the forwarder on its own loopback, at the URL the server gave when that is on
// loopback with an unprivileged port, else at http://127.0.0.1:DefaultMetadataPort. Its command runs as it would
// without the forwarder (single command, chain container with a command, chain container running its image's
// entrypoint with args), the exit code comes back, and the hardening is the same.
func TestStepReachesMetadataAPI(t *testing.T) {
	ex := stepExecutor(t, metadataEcho)
	const local = "http://127.0.0.1:41234/api/v1/metadata"
	answer := "got POST /api/v1/metadata/outputs/greeting Bearer step-token-1 hello"
	entry := podmantest.BuildEntrypointImage(t, `["/bin/sh", "-c", "`+strings.ReplaceAll(strings.ReplaceAll(stepScript, `"`, `\"`), "\n", `\n`)+`; echo \"args: $*\"; exit 4", "sh"]`)
	tests := []struct {
		name       string
		url        string
		containers []api.Container
		command    string
		wantURL    string
		wantCode   int
		want       []string
	}{
		{name: "command", url: local, command: stepScript + "\nexit 3", wantURL: local, wantCode: 3, want: []string{answer}},
		{name: "advertised elsewhere", url: "https://runplane.example.com/api/v1/metadata", command: stepScript,
			wantURL: fmt.Sprintf("http://127.0.0.1:%d/api/v1/metadata", podman.DefaultMetadataPort), want: []string{answer}},
		{name: "privileged port", url: "http://127.0.0.1:80/api/v1/metadata", command: stepScript,
			wantURL: fmt.Sprintf("http://127.0.0.1:%d/api/v1/metadata", podman.DefaultMetadataPort), want: []string{answer}},
		{name: "chain container with a command", url: local, containers: []api.Container{
			{Name: "first", Command: []string{"sh", "-c", stepScript}},
			{Name: "second", Command: []string{"sh", "-c", `wget -q -O- "$RUNPLANE_METADATA_URL/spec"; echo " $0 $1"`}, Args: []string{"arg0", "arg1"}},
		}, wantURL: local, want: []string{answer, "got GET /api/v1/metadata/spec   arg0 arg1"}},
		{name: "chain container running its image's entrypoint", url: local, containers: []api.Container{
			{Name: "entry", Image: entry, Args: []string{"a", "b"}},
		}, wantURL: local, wantCode: 4, want: []string{answer, "args: a b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, out := stepSpec(t, tc.url, tc.command)
			if tc.containers != nil {
				s.Command, s.Containers = "", tc.containers
			}
			r := run(t, ex, s)
			got := out.String()
			if r.ExitCode != tc.wantCode {
				t.Errorf("exit %d (%s), want %d; output:\n%s", r.ExitCode, r.Reason, tc.wantCode, got)
			}
			if want := "url=" + tc.wantURL + " relay=" + tc.wantURL; !strings.Contains(got, want) {
				t.Errorf("output\n%s\nlacks %q", got, want)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("output\n%s\nlacks the server's answer %q", got, w)
				}
			}
		})
	}
}

// TestStepHardening: a step's container is as hardened as any job's (same user, capabilities, seccomp, read-only
// root), the forwarder and socket are read-only, and the container has no network but its loopback.
func TestStepHardening(t *testing.T) {
	ex := stepExecutor(t, metadataEcho)
	s, out := stepSpec(t, "http://127.0.0.1:41234/api/v1/metadata", hardeningScript+`
if touch /.runplane/metadata/x 2>/dev/null; then echo socketdir:writable; else echo socketdir:readonly; fi
if cp /bin/busybox /.runplane/runplane-forward 2>/dev/null; then echo forwarder:writable; else echo forwarder:readonly; fi
ls /sys/class/net | tr '\n' ' '; echo`)
	r := run(t, ex, s)
	plain, plainOut := spec(t, hardeningScript)
	run(t, ex, plain)
	got := out.String()
	if r.ExitCode != 0 {
		t.Fatalf("exit %d (%s): %s", r.ExitCode, r.Reason, got)
	}
	if !strings.HasPrefix(got, plainOut.String()) {
		t.Errorf("a step's container:\n%s\nwant the hardening of any job's:\n%s", got, plainOut.String())
	}
	for _, w := range []string{"socketdir:readonly", "forwarder:readonly", "\nlo \n"} {
		if !strings.Contains(got, w) {
			t.Errorf("step's container:\n%s\nlacks %q", got, w)
		}
	}
}

// TestStepStop: Stop reaches a step's command through catatonit and the forwarder: it ends at SIGTERM.
func TestStepStop(t *testing.T) {
	ex := stepExecutor(t, metadataEcho)
	s, out := stepSpec(t, "http://127.0.0.1:41234/api/v1/metadata", `trap 'echo got-term; exit 143' TERM; echo started; while :; do sleep 0.1; done`)
	h, err := ex.Start(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the step to start", func() bool { return strings.Contains(out.String(), "started") })
	if err := ex.Stop(t.Context(), h, 30*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	r := wait(t, ex, h)
	if r.ExitCode != 143 || r.Reason != "signal: terminated" || !strings.Contains(out.String(), "got-term") {
		t.Errorf("stopped step: exit %d, reason %q, output %q; want 143, signal: terminated, got-term", r.ExitCode, r.Reason, out.String())
	}
}

// TestStepWithoutForwarder: without Options.Metadata, a step's container does not start (its command could not
// reach the API it was promised), and says why; a step with the host's network needs no forwarder.
func TestStepWithoutForwarder(t *testing.T) {
	ex := newExecutor(t, nil)
	s, _ := stepSpec(t, "http://127.0.0.1:41234/api/v1/metadata", "true")
	if h, err := ex.Start(t.Context(), s); err == nil || !strings.Contains(err.Error(), "runplane-pid1") {
		t.Errorf("Start of a step without a forwarder = %s, %v; want an error naming runplane-pid1", h, err)
	}
	s.Network = api.NetworkHost
	if r := run(t, ex, s); r.ExitCode != 0 {
		t.Errorf("a step with the host's network: exit %d (%s), want 0", r.ExitCode, r.Reason)
	}
}

// TestMetadataOptions: New refuses a forwarder that cannot run in any image.
func TestMetadataOptions(t *testing.T) {
	podmantest.Need(t)
	tests := []struct {
		name string
		m    podman.Metadata
	}{
		{"dynamically linked", podman.Metadata{SocketDir: t.TempDir(), Forwarder: "/usr/bin/podman"}},
		{"missing", podman.Metadata{SocketDir: t.TempDir(), Forwarder: "/no/such/runplane-pid1"}},
		{"relative", podman.Metadata{SocketDir: "sock", Forwarder: "runplane-pid1"}},
		{"forwarder only", podman.Metadata{Forwarder: podmantest.Forwarder(t)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := podman.New(podman.Options{WorkDir: t.TempDir(), Metadata: tc.m}); err == nil {
				t.Errorf("New with Metadata %+v: nil error, want a refusal", tc.m)
			}
		})
	}
}

// TestStepSocketReplaced: a step's container finds the socket a restarted server makes anew at the same path (the
// directory is mounted, not the socket), as a container that outlives a server restart must.
func TestStepSocketReplaced(t *testing.T) {
	podmantest.Need(t)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	serve := func(name string) *http.Server {
		p := filepath.Join(dir, podman.SocketName)
		_ = os.Remove(p)
		ln, err := net.Listen("unix", p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o666); err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, name) })}
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() { _ = srv.Close() })
		return srv
	}
	first := serve("first-server")
	fwd := podmantest.Forwarder(t)
	ex := newExecutor(t, func(o *podman.Options) { o.Metadata = podman.Metadata{SocketDir: dir, Forwarder: fwd} })
	s, out := stepSpec(t, "http://127.0.0.1:41234/api/v1/metadata",
		`while :; do wget -q -O- "$RUNPLANE_METADATA_URL/spec"; echo; sleep 0.1; done`)
	h, err := ex.Start(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ex.Stop(t.Context(), h, time.Second) }()
	waitFor(t, "the first server's answer", func() bool { return strings.Contains(out.String(), "first-server") })
	_ = first.Close()
	serve("second-server")
	waitFor(t, "the second server's answer", func() bool { return strings.Contains(out.String(), "second-server") })
}
