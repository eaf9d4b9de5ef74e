package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/runplane/runplane/internal/cli"
)

// lockedBuffer is a bytes.Buffer the server's goroutines may log to concurrently.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestServe(t *testing.T) {
	h := &harness{t: t, cfgDir: t.TempDir()}
	t.Setenv("XDG_CONFIG_HOME", h.cfgDir)
	t.Setenv("RUNPLANE_SERVER", "")
	t.Setenv("RUNPLANE_TOKEN", "")
	envDir := filepath.Join(t.TempDir(), "from-env")
	flagDir := filepath.Join(t.TempDir(), "from-flag")
	// Flags win over env, env over defaults.
	t.Setenv("RUNPLANE_DATA_DIR", envDir)
	t.Setenv("RUNPLANE_LISTEN", "127.0.0.1:1")
	t.Setenv("RUNPLANE_ROOT_PASSWORD", "password-from-env")
	t.Setenv("RUNPLANE_LOG_FORMAT", "text")

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr lockedBuffer
	exit := make(chan int, 1)
	go func() {
		exit <- cli.Run(ctx, []string{"serve", "--listen", "127.0.0.1:0", "--data-dir", flagDir, "--log-format", "json",
			"--log-level", "debug", "--max-concurrent-jobs", "2"}, strings.NewReader(""), pw, &stderr)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	for lines.Scan() {
		if u, ok := strings.CutPrefix(lines.Text(), "runplane listening on "); ok {
			h.url = u
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if h.url == "" {
		t.Fatalf("serve never said it was listening; exit %d, stderr:\n%s", <-exit, stderr.String())
	}

	h.ok("password-from-env\n", "login", "--server", h.url, "-u", "root", "--password-stdin")
	if v, ok := os.LookupEnv("RUNPLANE_ROOT_PASSWORD"); ok {
		t.Errorf("RUNPLANE_ROOT_PASSWORD=%q is still in the server's environment, for every process it starts to inherit", v)
	}
	if got := h.ok("", "get", "runners", "-o", "json"); got != "[]\n" {
		t.Errorf("get runners on a fresh server = %q", got)
	}
	if entries, err := os.ReadDir(flagDir); err != nil || len(entries) == 0 {
		t.Errorf("--data-dir %s: %v entries, %v; want the server's files", flagDir, len(entries), err)
	}
	if _, err := os.Stat(envDir); !os.IsNotExist(err) {
		t.Errorf("RUNPLANE_DATA_DIR %s was used despite --data-dir (stat: %v)", envDir, err)
	}

	cancel()
	if code := <-exit; code != 0 {
		t.Errorf("serve exit %d after its context ended, want 0; stderr:\n%s", code, stderr.String())
	}
	logs := strings.TrimSpace(stderr.String())
	if logs == "" {
		t.Fatal("serve logged nothing at debug level")
	}
	for _, line := range strings.Split(logs, "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("--log-format json wrote a non-JSON line: %q", line)
		}
	}
}

func TestServeFlagErrors(t *testing.T) {
	t.Setenv("RUNPLANE_DATA_DIR", t.TempDir())
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--log-format", "xml"}, "Error: --log-format \"xml\": want text or json\n"},
		{[]string{"serve", "--log-level", "loud"}, "Error: --log-level \"loud\": want debug, info, warn or error\n"},
		{[]string{"serve", "--max-concurrent-jobs", "many"}, "Error: invalid argument \"many\" for \"--max-concurrent-jobs\""},
		{[]string{"serve", "--root-password", "x"}, "Error: unknown flag: --root-password\n"},
		{[]string{"serve", "--token-ttl", "10s"}, "Error: config: token TTL 10s: want at least 1m\n"},
		{[]string{"serve", "--store", "mysql://x"}, "Error: config: store: want \"sqlite\" or a postgres://"},
		{[]string{"serve", "extra"}, "Error: unknown command \"extra\" for \"runplane serve\"\n"},
		{[]string{"serve", "--executor", "docker"}, "Error: config: executor \"docker\": want local or kubernetes\n"},
		{[]string{"serve", "--job-ttl", "-1s"}, "Error: config: job TTL -1s: want 0 to "},
		{[]string{"serve", "--job-service-account", "Bad SA"}, "Error: config: job service account \"Bad SA\""},
		{[]string{"serve", "--image-allowlist", "docker.io/library/*", "--image-allowlist", "registry.corp/***"},
			"Error: config: image allowlist pattern 2 \"registry.corp/***\": runs three '*' together"},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		code := cli.Run(t.Context(), tt.args, strings.NewReader(""), &out, &errOut)
		if code != 1 || !strings.HasPrefix(errOut.String(), tt.want) {
			t.Errorf("runplane %v: exit %d, stderr %q; want 1 and %q", tt.args, code, errOut.String(), tt.want)
		}
	}
}
