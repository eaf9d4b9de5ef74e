package e2e

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/executor/executortest"
	"github.com/runplane/runplane/internal/executor/podman/podmantest"
	"github.com/runplane/runplane/internal/gitsource/gittest"
)

// The hostile-job suite: in every isolation mode that claims to be a security boundary, a job plays the attacker
// (testdata/hostile) against a real server and every attempt must fail, with the server unharmed afterwards.

// hostileAttacks are the attempts every run of testdata/hostile must report, blocked; a missing one fails the
// test as surely as a breach.
var hostileAttacks = []string{
	"read:{data}/jwt.key", "read:{data}/secret.key", "read:{data}/runplane.db", "list:{data}", "list:{data}/git",
	"list:/dev/shm", "scan-proc", "scan-files", "server-environ", "server-cmdline", "server-mem-write", "server-ptrace",
	"server-signal", "server-root", "write:{data}/pwned", "write:{marker}", "write:/usr/pwned", "write:/etc/pwned",
	"write:/pwned", "write:/etc/secret/pwned", "setuid-0", "mount", "mknod-disk", "unshare-user", "keyring", "chroot", "sysrq",
	"cgroup-escape",
}

// hostileMode is one way to run the server whose jobs must be contained.
type hostileMode struct {
	name   string
	args   []string
	asUser bool   // run the server as nobody instead of root
	image  string // the runners' image
}

func TestHostileJobs(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("the hostile-job suite needs root (it runs servers as root and as nobody)")
		}
		t.Skip("needs root")
	}
	attacker := buildHostile(t)
	modes := []hostileMode{
		{name: "namespace", args: []string{"--isolation", "namespace"}},
		{name: "launcher", args: []string{"--isolation", "launcher"}},
		{name: "unprivileged-server", args: []string{"--isolation", "namespace"}, asUser: true},
		{name: "container", args: []string{"--isolation", "container"}},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			if m.name == "container" {
				podmantest.Need(t)
				m.image = podmantest.BuildImage(t)
			}
			runHostile(t, m, attacker)
		})
	}
}

// buildHostile builds testdata/hostile as a static binary, which runs in any sandbox or image.
func buildHostile(t *testing.T) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "hostile")
	cmd := exec.Command("go", "build", "-o", out, "./testdata/hostile")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the hostile job: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func randomHex(t *testing.T) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// hostileDataDir makes a data dir the server's user owns, on a path that user can reach.
func hostileDataDir(t *testing.T, m hostileMode) (dir string, cred *syscall.Credential) {
	if !m.asUser {
		return t.TempDir(), nil
	}
	base, err := os.MkdirTemp("", "runplane-hostile-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	dir = filepath.Join(base, "data")
	const nobody = 65534
	for _, step := range []error{os.Chmod(base, 0o711), os.Mkdir(dir, 0o700), os.Chown(dir, nobody, nobody),
		os.Chmod(filepath.Dir(binary), 0o755), os.MkdirAll("/etc/secret", 0o755)} {
		if step != nil {
			t.Fatal(step)
		}
	}
	return dir, &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}}
}

func runHostile(t *testing.T, m hostileMode, attacker []byte) {
	data, cred := hostileDataDir(t, m)
	srv, err := launchServeAs(t, cred, data, nil, m.args...)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(srv.output.String(), "NOT a security boundary") {
		t.Fatalf("the server says its jobs are not contained in mode %s:\n%s", m.name, srv.output)
	}
	c := login(t, srv.url)
	ctx := t.Context()
	victimSecret, attackerSecret := "victim-"+randomHex(t), "attacker-"+randomHex(t)

	// The repositories are served over HTTP: a server running as nobody cannot read the test's files.
	victimRepo := gittest.ServeHTTP(t, gittest.NewRepo(t, map[string]string{"README": "victim\n"}), "", "")
	attackerRepo := gittest.ServeHTTP(t, gittest.NewRepo(t, map[string]string{
		"hostile": string(attacker),
		// Repository-controlled git configuration the server must never act on.
		".gitattributes":          "* filter=pwn diff=pwn\n*.txt export-subst ident\n",
		".githooks/post-checkout": "#!/bin/sh\ntouch /tmp/runplane-hook-ran\n",
		"info.txt":                "$Format:%H$ $Id$\n",
	}), "", "")
	for _, r := range []api.Runner{
		{Name: "victim", GitURL: victimRepo, Image: m.image, Secret: map[string]string{"VICTIM_KEY": victimSecret}},
		{Name: "attacker", GitURL: attackerRepo, Image: m.image, Secret: map[string]string{"ATTACKER_KEY": attackerSecret}},
	} {
		if _, err := c.CreateRunner(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, task := range []api.Task{
		{Name: "victim", Runner: "victim", Command: "echo ready; sleep 120"},
		{Name: "attack", Runner: "attacker", Command: "chmod +x hostile && ./hostile"},
		{Name: "innocent", Runner: "attacker", Command: "cat info.txt; ls -a"},
	} {
		if _, err := c.CreateTask(ctx, task); err != nil {
			t.Fatal(err)
		}
	}
	keysBefore := readKeys(t, data)

	victim, _, err := c.Submit(ctx, "victim", nil, client.SubmitOptions{Wait: new(time.Duration)})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the victim job to run", 30*time.Second, func() (bool, error) {
		j, err := c.GetJob(ctx, victim.ID)
		return j.Status == api.JobRunning, err
	})

	marker := filepath.Join(t.TempDir(), "marker")
	leftover := "hostile-" + randomHex(t)
	input, _ := json.Marshal(map[string]any{
		"server_pid": srv.cmd.Process.Pid, "data_dir": data, "host_marker": marker, "leftover": leftover,
		"secrets":     []string{victimSecret, rootPassword},
		"extra_paths": []string{filepath.Join(data, "logs", victim.ID+".log")},
	})
	wait := 2 * time.Minute
	job, finished, err := c.Submit(ctx, "attack", input, client.SubmitOptions{Wait: &wait})
	if err != nil || !finished {
		t.Fatalf("attack job: finished %v, %v", finished, err)
	}
	log := jobLog(t, c, job.ID)
	checkAttacks(t, log, data, marker)
	for _, s := range []string{victimSecret, rootPassword, attackerSecret} {
		if strings.Contains(log, s) {
			t.Errorf("a secret reached the attacker's log")
		}
	}
	if _, err := os.Lstat(marker); err == nil {
		os.Remove(marker)
		t.Errorf("the job created %s on the host", marker)
	}
	waitFor(t, "the process the job left behind to be gone", 10*time.Second, func() (bool, error) {
		return len(executortest.ProcessesWithEnv("RP_LEFTOVER", leftover)) == 0, nil
	})

	// kill(-1, SIGKILL) reaches the job's own processes only.
	kill, _ := json.Marshal(map[string]any{"mode": "killall"})
	if _, _, err := c.Submit(ctx, "attack", kill, client.SubmitOptions{Wait: &wait}); err != nil {
		t.Fatal(err)
	}

	// The server and the other job are unharmed.
	if err := srv.cmd.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatalf("the server is gone: %v", err)
	}
	if j, err := c.GetJob(ctx, victim.ID); err != nil || j.Status != api.JobRunning {
		t.Errorf("victim job after the attacks: %s, %v; want it still running", j.Status, err)
	}
	if !bytes.Equal(readKeys(t, data), keysBefore) {
		t.Errorf("the server's keys changed")
	}
	ok, finished, err := c.Submit(ctx, "innocent", nil, client.SubmitOptions{Wait: &wait})
	if err != nil || !finished || ok.Status != api.JobSucceeded {
		t.Fatalf("innocent job after the attacks: %+v, %v", ok, err)
	}
	if log := jobLog(t, c, ok.ID); !strings.Contains(log, "$Format:%H$ $Id$") {
		t.Errorf("the checkout was not the commit's bytes (export-subst or ident applied):\n%s", log)
	}
	if _, err := os.Lstat("/tmp/runplane-hook-ran"); err == nil {
		t.Errorf("a hook from the repository ran")
	}
	if _, err := c.Cancel(ctx, victim.ID); err != nil {
		t.Error(err)
	}
	login(t, srv.url)
}

// checkAttacks fails the test for every breach the hostile job reported and every attack it did not report.
func checkAttacks(t *testing.T, log, data, marker string) {
	t.Helper()
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		name, rest, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "HOSTILE "), " ")
		if !ok || !strings.HasPrefix(sc.Text(), "HOSTILE ") {
			continue
		}
		seen[name] = true
		if strings.HasPrefix(rest, "BREACH") {
			t.Errorf("attack %s succeeded: %s", name, rest)
		}
	}
	if !strings.Contains(log, "HOSTILE done") {
		t.Errorf("the hostile job did not finish its attacks:\n%s", log)
	}
	for _, a := range hostileAttacks {
		a = strings.NewReplacer("{data}", data, "{marker}", marker).Replace(a)
		if !seen[a] {
			t.Errorf("attack %s was not tried", a)
		}
	}
	var names []string
	for n := range seen {
		names = append(names, n)
	}
	slices.Sort(names)
	t.Logf("%d attacks, all blocked unless reported above: %s", len(names), strings.Join(names, " "))
}

func jobLog(t *testing.T, c *client.Client, id string) string {
	t.Helper()
	rc, err := c.Log(t.Context(), id, false)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(rc); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func readKeys(t *testing.T, data string) []byte {
	t.Helper()
	var all []byte
	for _, k := range []string{"jwt.key", "secret.key"} {
		b, err := os.ReadFile(filepath.Join(data, k))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}
