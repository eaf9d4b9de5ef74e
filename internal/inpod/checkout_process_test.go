//go:build linux

package inpod_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/internal/gitsource/gittest"
	"github.com/runplane/runplane/internal/inpod"
	"github.com/runplane/runplane/internal/inpod/pid1"
)

// podUID is the user the Kubernetes executor runs pods as.
const podUID = 65532

// TestCheckoutProcess runs `runplane pod checkout` as a process the way the init container does: the environment
// holds only its RUNPLANE_* variables (no HOME), and, when the test runs as root, it runs as user 65532 against a
// Secret volume owned by root and readable only through its group (fsGroup).
func TestCheckoutProcess(t *testing.T) {
	t.Parallel()
	repo := newTestRepo(t)
	secrets := map[string]string{"API_KEY": "k3y", "PASSWORD": "pw"}

	base := t.TempDir()
	asPodUser := os.Geteuid() == 0
	if asPodUser {
		// The pod user must reach the directories t.TempDir made for root.
		if err := os.Chmod(filepath.Dir(base), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	dir := func(name string) string {
		p := filepath.Join(base, name)
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if asPodUser {
			if err := os.Chown(p, podUID, podUID); err != nil {
				t.Fatal(err)
			}
		}
		return p
	}
	ws, tools, bin, dst := dir("workspace"), dir("tools"), dir("bin"), dir("secret")
	src := filepath.Join(base, "secret-src")
	makeSecretVolume(t, src, secrets)
	if asPodUser {
		err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
			if err == nil {
				err = os.Lchown(p, 0, podUID)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(src, 0o750); err != nil {
			t.Fatal(err)
		}
	}
	tlog := filepath.Join(dir("log"), "termination-log")
	exe := copyTestBinary(t, bin)
	// runplane's image has the small runplane-pid1 next to runplane: that is what goes into the pod.
	pid1Want := []byte("#!/bin/sh\n# stands for runplane-pid1\n")
	if err := os.WriteFile(filepath.Join(bin, pid1.Name), pid1Want, 0o755); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(exe)
	cmd.Dir = "/"
	cmd.Env = []string{
		testMainEnv + "=checkout",
		"PATH=/usr/local/bin:/usr/bin:/bin",
		inpod.EnvGitURL + "=" + repo.private,
		inpod.EnvGitBranch + "=dev",
		inpod.EnvGitToken + "=" + realToken,
		inpod.EnvWorkspace + "=" + ws,
		inpod.EnvTools + "=" + tools,
		inpod.EnvSecretsSrc + "=" + src,
		inpod.EnvSecretsDst + "=" + dst,
		pid1.EnvTerminationLog + "=" + tlog,
	}
	if asPodUser {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: podUID, Gid: podUID}}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pod checkout (as uid %d): %v; stderr: %s", uidOf(asPodUser), err, stderr.Bytes())
	}

	r := checkoutResult{stdout: stdout.String(), stderr: stderr.String(), tlog: readFile(t, tlog)}
	r.noSecrets(t)
	commit := gittest.Head(t, repo.bare, "dev")
	if want := fmt.Sprintf("checked out dev at %s\n", commit); r.stdout != want || r.stderr != "" {
		t.Errorf("stdout, stderr = %q, %q; want %q, none", r.stdout, r.stderr, want)
	}
	if want := "commit " + commit; r.tlog != want {
		t.Errorf("termination log = %q, want %q", r.tlog, want)
	}
	if diff := cmp.Diff(devFiles, tree(t, ws)); diff != "" {
		t.Errorf("workspace (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(secrets, secretFiles(t, dst)); diff != "" {
		t.Errorf("secrets (-want +got):\n%s", diff)
	}
	if got, err := os.ReadFile(filepath.Join(tools, pid1.Name)); err != nil || !bytes.Equal(got, pid1Want) {
		t.Errorf("tools copy: %q, %v; want a copy of the %s next to the executable", got, err, pid1.Name)
	}
	for _, p := range []string{filepath.Join(ws, "run.sh"), filepath.Join(dst, "API_KEY"), filepath.Join(tools, pid1.Name)} {
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		if int(st.Uid) != uidOf(asPodUser) {
			t.Errorf("%s is owned by uid %d, want %d", p, st.Uid, uidOf(asPodUser))
		}
	}
}

func uidOf(asPodUser bool) int {
	if asPodUser {
		return podUID
	}
	return os.Geteuid()
}

// copyTestBinary copies the test binary into dir (which any user may read), so that another user can run it.
func copyTestBinary(t *testing.T, dir string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	syscall.ForkLock.RLock() // see inpod.CopyPID1
	defer syscall.ForkLock.RUnlock()
	in, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	p := filepath.Join(dir, strings.TrimSuffix(filepath.Base(self), ".test")+"-copy.test")
	out, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}
