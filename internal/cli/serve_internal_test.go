package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	"github.com/runplane/runplane/internal/server"
)

// serveConfig is the configuration `runplane serve args...` would start with.
func serveConfig(t *testing.T, args ...string) (server.Config, error) {
	t.Helper()
	sf := newServeFlags()
	cmd := &cobra.Command{Use: "serve"}
	sf.register(cmd)
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return sf.config(cmd)
}

// TestServeKubernetesConfig: the executor settings come from flags, then RUNPLANE_* env, then the defaults.
func TestServeKubernetesConfig(t *testing.T) {
	for _, name := range []string{"RUNPLANE_EXECUTOR", "RUNPLANE_KUBECONFIG", "RUNPLANE_NAMESPACE", "RUNPLANE_JOB_IMAGE",
		"RUNPLANE_JOB_SERVICE_ACCOUNT", "RUNPLANE_JOB_TTL", "RUNPLANE_POD_START_TIMEOUT", "RUNPLANE_IMAGE_ALLOWLIST"} {
		t.Setenv(name, "")
	}
	t.Setenv("RUNPLANE_DATA_DIR", t.TempDir())

	cfg, err := serveConfig(t)
	if err != nil {
		t.Fatal(err)
	}
	def := server.DefaultConfig()
	if cfg.Executor != "local" || cfg.JobTTL != 5*time.Minute || cfg.PodStartTimeout != 5*time.Minute ||
		cfg.Kubeconfig != "" || cfg.Namespace != "" || cfg.JobImage != "" || cfg.JobServiceAccount != "" || cfg.ImageAllowlist != nil {
		t.Errorf("defaults: executor %q, ttl %v, start timeout %v, kubeconfig %q, namespace %q, image %q, sa %q, allowlist %q; want %q, %v, %v and none",
			cfg.Executor, cfg.JobTTL, cfg.PodStartTimeout, cfg.Kubeconfig, cfg.Namespace, cfg.JobImage, cfg.JobServiceAccount,
			cfg.ImageAllowlist, def.Executor, def.JobTTL, def.PodStartTimeout)
	}

	t.Setenv("RUNPLANE_EXECUTOR", "kubernetes")
	t.Setenv("RUNPLANE_KUBECONFIG", "/env/kubeconfig")
	t.Setenv("RUNPLANE_NAMESPACE", "env-ns")
	t.Setenv("RUNPLANE_JOB_IMAGE", "ghcr.io/runplane/runplane:env")
	t.Setenv("RUNPLANE_JOB_SERVICE_ACCOUNT", "env-sa")
	t.Setenv("RUNPLANE_JOB_TTL", "1h")
	t.Setenv("RUNPLANE_POD_START_TIMEOUT", "2m")
	t.Setenv("RUNPLANE_IMAGE_ALLOWLIST", "docker.io/library/*, registry.env/**")
	type kube struct {
		Executor, Kubeconfig, Namespace, JobImage, JobServiceAccount string
		JobTTL, PodStartTimeout                                      time.Duration
		ImageAllowlist                                               []string
	}
	of := func(c server.Config) kube {
		return kube{c.Executor, c.Kubeconfig, c.Namespace, c.JobImage, c.JobServiceAccount, c.JobTTL, c.PodStartTimeout, c.ImageAllowlist}
	}
	tests := []struct {
		name string
		args []string
		want kube
	}{
		{"env", nil, kube{"kubernetes", "/env/kubeconfig", "env-ns", "ghcr.io/runplane/runplane:env", "env-sa", time.Hour, 2 * time.Minute,
			[]string{"docker.io/library/*", "registry.env/**"}}},
		{"flags win", []string{"--executor", "local", "--kubeconfig", "/flag/kubeconfig", "--namespace", "flag-ns",
			"--job-image", "runplane:flag", "--job-service-account", "flag-sa", "--job-ttl", "0s", "--pod-start-timeout", "30s",
			"--image-allowlist", "registry.flag/**,docker.io/library/busybox:1.*", "--image-allowlist", " quay.io/x/* "},
			kube{"local", "/flag/kubeconfig", "flag-ns", "runplane:flag", "flag-sa", 0, 30 * time.Second,
				[]string{"registry.flag/**", "docker.io/library/busybox:1.*", "quay.io/x/*"}}},
		{"empty allowlist flag clears the variable's", []string{"--image-allowlist", ""},
			kube{"kubernetes", "/env/kubeconfig", "env-ns", "ghcr.io/runplane/runplane:env", "env-sa", time.Hour, 2 * time.Minute, nil}},
	}
	for _, tt := range tests {
		cfg, err := serveConfig(t, tt.args...)
		if err != nil {
			t.Errorf("%s: config = %v", tt.name, err)
			continue
		}
		if diff := cmp.Diff(tt.want, of(cfg)); diff != "" {
			t.Errorf("%s: config (-want +got):\n%s", tt.name, diff)
		}
	}

	bad := []struct {
		env, value string
		args       []string
		want       string
	}{
		{"RUNPLANE_EXECUTOR", "docker", nil, `config: executor "docker": want local or kubernetes`},
		{"RUNPLANE_JOB_TTL", "-1m", nil, `RUNPLANE_JOB_TTL="-1m"`},
		{"RUNPLANE_IMAGE_ALLOWLIST", "docker.io/*,evil io/*", nil, `config: image allowlist pattern 2 "evil io/*": holds whitespace`},
		{"", "", []string{"--image-allowlist", strings.Repeat("a", 600)}, "longer than 512 characters"},
		{"", "", []string{"--namespace", "Team_A"}, `config: namespace "Team_A"`},
		{"", "", []string{"--pod-start-timeout", "0s"}, "config: pod start timeout 0s"},
	}
	for _, b := range bad {
		if b.env != "" {
			t.Setenv(b.env, b.value)
		}
		_, err := serveConfig(t, b.args...)
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s=%q %q: config = %v, want an error containing %q", b.env, b.value, b.args, err, b.want)
		}
		if b.env != "" {
			t.Setenv(b.env, "")
		}
	}
}

// TestServeLimitsConfig: the job limits come from flags, then RUNPLANE_* env, then the defaults.
func TestServeLimitsConfig(t *testing.T) {
	for _, name := range []string{"RUNPLANE_DEFAULT_TIMEOUT", "RUNPLANE_MAX_LOG_SIZE", "RUNPLANE_MAX_QUEUED_PER_OWNER"} {
		t.Setenv(name, "")
	}
	t.Setenv("RUNPLANE_DATA_DIR", t.TempDir())
	type limits struct {
		DefaultTimeout    time.Duration
		MaxLogSize        int64
		MaxQueuedPerOwner int
	}
	of := func(c server.Config) limits { return limits{c.DefaultTimeout, c.MaxLogSize, c.MaxQueuedPerOwner} }
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want limits
	}{
		{"defaults", nil, nil, limits{time.Hour, 100 << 20, 1000}},
		{"env", map[string]string{"RUNPLANE_DEFAULT_TIMEOUT": "30m", "RUNPLANE_MAX_LOG_SIZE": "1GiB", "RUNPLANE_MAX_QUEUED_PER_OWNER": "5"},
			nil, limits{30 * time.Minute, 1 << 30, 5}},
		{"flags win", map[string]string{"RUNPLANE_DEFAULT_TIMEOUT": "30m", "RUNPLANE_MAX_LOG_SIZE": "1GiB", "RUNPLANE_MAX_QUEUED_PER_OWNER": "5"},
			[]string{"--default-timeout", "2h", "--max-log-size", "2048", "--max-queued-per-owner", "7"}, limits{2 * time.Hour, 2048, 7}},
		{"zero is none", nil, []string{"--default-timeout", "0", "--max-log-size", "0", "--max-queued-per-owner", "0"}, limits{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			cfg, err := serveConfig(t, tt.args...)
			if err != nil {
				t.Fatalf("config = %v", err)
			}
			if diff := cmp.Diff(tt.want, of(cfg)); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
	bad := []struct {
		name string
		args []string
		want string
	}{
		{"log size unit", []string{"--max-log-size", "100MB"}, `--max-log-size "100MB": want a number of bytes`},
		{"log size too small", []string{"--max-log-size", "10"}, "config: max log size 10: want 0 (no cap) or at least 1024 bytes"},
		{"negative timeout", []string{"--default-timeout", "-1m"}, "config: default timeout -1m0s must not be negative"},
		{"negative queue", []string{"--max-queued-per-owner", "-1"}, "config: max queued jobs per owner -1 must not be negative"},
	}
	for _, b := range bad {
		if _, err := serveConfig(t, b.args...); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: config %q = %v, want an error containing %q", b.name, b.args, err, b.want)
		}
	}
}

func TestServeConnectionLimitsConfig(t *testing.T) {
	for _, name := range []string{"RUNPLANE_BODY_TIMEOUT", "RUNPLANE_MAX_CONNS", "RUNPLANE_MAX_CONNS_PER_ADDR"} {
		t.Setenv(name, "")
	}
	t.Setenv("RUNPLANE_DATA_DIR", t.TempDir())
	type limits struct {
		BodyTimeout              time.Duration
		MaxConns, MaxConnsPerAdr int
	}
	of := func(c server.Config) limits { return limits{c.BodyTimeout, c.MaxConns, c.MaxConnsPerAddr} }
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want limits
	}{
		{"defaults", nil, nil, limits{30 * time.Second, 4096, 256}},
		{"env", map[string]string{"RUNPLANE_BODY_TIMEOUT": "5s", "RUNPLANE_MAX_CONNS": "100", "RUNPLANE_MAX_CONNS_PER_ADDR": "10"},
			nil, limits{5 * time.Second, 100, 10}},
		{"flags win", map[string]string{"RUNPLANE_BODY_TIMEOUT": "5s", "RUNPLANE_MAX_CONNS": "100"},
			[]string{"--body-timeout", "1m", "--max-conns", "50", "--max-conns-per-addr", "0"}, limits{time.Minute, 50, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			cfg, err := serveConfig(t, tt.args...)
			if err != nil {
				t.Fatalf("config = %v", err)
			}
			if diff := cmp.Diff(tt.want, of(cfg)); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := serveConfig(t, "--max-conns", "-1"); err == nil || !strings.Contains(err.Error(), "must not be negative") {
		t.Errorf("--max-conns -1 = %v, want an error saying it must not be negative", err)
	}
}
