package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// openIn opens a server on dir with the given listen address, logging to t.
func openIn(t *testing.T, dir, listen string, out io.Writer) (*Server, error) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Listen, cfg.DataDir, cfg.RootPassword = listen, dir, ""
	return Open(t.Context(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), out)
}

// TestOneServerPerDataDir: a second server on a data dir a live server holds refuses to start, saying why and
// naming the holder, and changes nothing; once the first is closed (or killed: the kernel drops the lock), the
// data dir can be opened again.
func TestOneServerPerDataDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first, err := openIn(t, dir, "127.0.0.1:0", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	second, err := openIn(t, dir, "127.0.0.1:0", &out)
	if err == nil {
		second.Close()
		first.Close()
		t.Fatal("a second server opened a data dir a live server holds")
	}
	if !errors.Is(err, ErrDataDirInUse) || !strings.Contains(err.Error(), "another runplane server") ||
		!strings.Contains(err.Error(), "pid ") {
		t.Errorf("second Open = %v, want ErrDataDirInUse naming the holder's pid", err)
	}
	if out.Len() != 0 {
		t.Errorf("the refused server printed %q", out.String())
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	third, err := openIn(t, dir, "127.0.0.1:0", io.Discard)
	if err != nil {
		t.Fatalf("Open after the first server closed = %v", err)
	}
	third.Close()
}

// TestBusyPortChangesNothing: a start on a port in use fails before it creates a database, keys or root, so the
// one-time root password is not printed and lost.
func TestBusyPortChangesNothing(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	var out bytes.Buffer
	s, err := openIn(t, dir, ln.Addr().String(), &out)
	if err == nil {
		s.Close()
		t.Fatal("Open on a busy port succeeded")
	}
	if !strings.Contains(err.Error(), "listen") {
		t.Errorf("Open = %v, want a listen error", err)
	}
	if out.Len() != 0 {
		t.Errorf("Open on a busy port printed %q", out.String())
	}
	for _, name := range []string{dbFile, jwtKeyFile, secretKeyFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Open on a busy port left %s (stat: %v)", name, err)
		}
	}
	// The port freed, the same data dir starts and prints root's password now.
	ln.Close()
	s, err = openIn(t, dir, "127.0.0.1:0", &out)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.Contains(out.String(), "root password: ") {
		t.Errorf("first real start printed %q, want the root password", out.String())
	}
}

// TestCleanStopRemovesWorkspaces: the shared workspace root a local server makes under /dev/shm is gone after a
// clean stop.
func TestCleanStopRemovesWorkspaces(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := openIn(t, dir, "127.0.0.1:0", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(dir, workDir)
	root := shmRootOf(t, work)
	if root == "" {
		s.Close()
		t.Skip("this host gives workspaces no shared tmpfs under /dev/shm")
	}
	ctx, stop := context.WithCancel(t.Context())
	ran := make(chan error, 1)
	go func() { ran <- s.Run(ctx) }()
	stop()
	select {
	case err := <-ran:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run did not return")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(root); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("workspace root %s still there after a clean stop (lstat: %v)", root, err)
	}
}

// shmRootOf finds the shared workspace root under /dev/shm that serves work, "" if there is none.
func shmRootOf(t *testing.T, work string) string {
	t.Helper()
	matches, _ := filepath.Glob("/dev/shm/runplane-*")
	for _, m := range matches {
		if owner, err := os.Readlink(filepath.Join(m, ".workdir")); err == nil && owner == work {
			return m
		}
	}
	return ""
}
