// Package podmantest gives tests what the podman executor needs: podman itself (a test skips without it, unless
// it runs in CI) and a busybox image built on this machine (no registry is reachable from our machines). Only
// _test.go files may import it.
package podmantest

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Image is the name of the test image: busybox-static's applets in /bin, nothing else.
const Image = "localhost/runplane-test-busybox:1"

// Runtime and global flags that work on our VMs (see podman-on-one-vm.md).
var Global = []string{"--runtime", "/usr/sbin/runc", "--cgroup-manager", "cgroupfs"}

// Need skips t when podman or what it needs (root, runc, busybox-static) is missing, except in CI (env CI set),
// where a test that needs podman must run: then it fails.
func Need(t testing.TB) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	for _, bin := range []string{"podman", "runc"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, bin)
		}
	}
	if _, err := busybox(); err != nil {
		missing = append(missing, "busybox-static")
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("podman tests need %s (apt-get install -y podman runc busybox-static); CI is set, so they may not skip", strings.Join(missing, ", "))
	}
	t.Skipf("podman tests need %s (apt-get install -y podman runc busybox-static)", strings.Join(missing, ", "))
}

var (
	imageOnce sync.Once
	imageErr  error
)

// BuildImage makes Image in podman's store (root's) from busybox-static unless it is there, once per test binary,
// and returns its name.
func BuildImage(t testing.TB) string {
	t.Helper()
	Need(t)
	imageOnce.Do(func() { imageErr = build() })
	if imageErr != nil {
		t.Fatalf("build test image: %v", imageErr)
	}
	return Image
}

// busybox returns the path of a statically linked busybox (one without an ELF interpreter): it runs in an image
// that has nothing else.
func busybox() (string, error) {
	for _, p := range []string{"/bin/busybox", "/usr/bin/busybox"} {
		f, err := elf.Open(p)
		if err != nil {
			continue
		}
		static := true
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				static = false
			}
		}
		f.Close()
		if static {
			return p, nil
		}
	}
	return "", fmt.Errorf("no statically linked busybox")
}

func podman(args ...string) *exec.Cmd {
	return exec.Command("podman", append(append([]string(nil), Global...), args...)...)
}

func build() error {
	if podman("image", "exists", Image).Run() == nil {
		return nil
	}
	bb, err := busybox()
	if err != nil {
		return err
	}
	root, err := os.MkdirTemp("", "runplane-test-rootfs-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	bin := filepath.Join(root, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		return err
	}
	data, err := os.ReadFile(bb)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(bin, "busybox"), data, 0o755); err != nil {
		return err
	}
	list, err := exec.Command(bb, "--list").Output()
	if err != nil {
		return fmt.Errorf("busybox --list: %w", err)
	}
	for _, applet := range strings.Fields(string(list)) {
		if applet != "busybox" {
			if err := os.Symlink("busybox", filepath.Join(bin, applet)); err != nil {
				return err
			}
		}
	}
	tar := exec.Command("tar", "-C", root, "-c", ".")
	imp := podman("import", "-", Image)
	pipe, err := tar.StdoutPipe()
	if err != nil {
		return err
	}
	imp.Stdin = pipe
	var stderr bytes.Buffer
	imp.Stderr = &stderr
	if err := tar.Start(); err != nil {
		return err
	}
	if err := imp.Run(); err != nil {
		_ = tar.Wait()
		return fmt.Errorf("podman import: %v: %s", err, stderr.Bytes())
	}
	return tar.Wait()
}

// RemoveLabelled removes every container labelled key=value (a test's own), running or not.
func RemoveLabelled(t testing.TB, key, value string) {
	t.Helper()
	out, err := podman("ps", "-aq", "--filter", "label="+key+"="+value).Output()
	if err != nil {
		t.Logf("podman ps: %v", err)
		return
	}
	if ids := strings.Fields(string(out)); len(ids) > 0 {
		if out, err := podman(append([]string{"rm", "-f", "-t", "0"}, ids...)...).CombinedOutput(); err != nil {
			t.Logf("podman rm: %v: %s", err, out)
		}
	}
}

// BuildEntrypointImage makes an image from Image with the given ENTRYPOINT (a JSON array) unless it exists, and
// returns its name.
func BuildEntrypointImage(t testing.TB, entrypoint string) string {
	t.Helper()
	BuildImage(t)
	sum := sha256.Sum256([]byte(entrypoint))
	name := "localhost/runplane-test-entrypoint:" + hex.EncodeToString(sum[:6])
	if podman("image", "exists", name).Run() == nil {
		return name
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "Containerfile")
	if err := os.WriteFile(file, []byte("FROM "+Image+"\nENTRYPOINT "+entrypoint+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := podman("build", "--pull=never", "-t", name, "-f", file, dir).CombinedOutput(); err != nil {
		t.Fatalf("podman build: %v: %s", err, out)
	}
	return name
}

// WaitExited waits until container name has exited.
func WaitExited(t testing.TB, name string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		out, err := podman("container", "inspect", "--format", "{{.State.Status}}", name).Output()
		if err == nil && strings.TrimSpace(string(out)) == "exited" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("container %s: not exited after a minute (%s, %v)", name, out, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Forwarder builds runplane-pid1 statically (CGO_ENABLED=0, as releases are) into a directory of t's and returns
// its path: the binary the podman executor mounts into workflow steps' containers as runplane-forward
// (podman.Metadata.Forwarder). The test binary cannot serve: built with cgo, it needs a C library images lack.
func Forwarder(t testing.TB) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "runplane-pid1")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "github.com/runplane/runplane/cmd/runplane-pid1")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build runplane-pid1: %v: %s", err, b)
	}
	return out
}

// MetadataSocket serves h on a Unix socket made as the server makes its metadata API's: in a new directory of
// t's, mode 0755 (the job's uid may enter, not write), socket mode 0666; it returns the directory. h is served
// until the test ends.
func MetadataSocket(t testing.TB, h http.Handler, name string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, name), 0o666); err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return dir
}
