//go:build linux

package local

import (
	"os"
	"path/filepath"
	"testing"
)

// shmTestBase returns a directory under shmBase for tests, or skips when shmBase is no tmpfs large enough.
func shmTestBase(t *testing.T) string {
	t.Helper()
	if !isTmpfs(shmBase, shmMinSize) {
		t.Skipf("%s is not a tmpfs of at least %d bytes", shmBase, shmMinSize)
	}
	base, err := os.MkdirTemp(shmBase, "rp-test-base-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	return base
}

// diskDir returns a temp directory that is not on a tmpfs (on hosts whose /tmp is a tmpfs, as on Debian 13, one in
// this package's directory), or skips.
func diskDir(t *testing.T) string {
	t.Helper()
	if d := t.TempDir(); !isTmpfs(d, shmMinSize) {
		return d
	}
	d, err := os.MkdirTemp(".", "testdata-disk-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	if isTmpfs(d, shmMinSize) {
		t.Skip("no directory off tmpfs to test with")
	}
	abs, err := filepath.Abs(d)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

func TestSharedWorkspaceRoot(t *testing.T) {
	t.Parallel()
	base := shmTestBase(t)
	workDir := diskDir(t)
	root, err := sharedWorkspaceRoot(base, workDir)
	if err != nil || filepath.Dir(root) != base {
		t.Fatalf("sharedWorkspaceRoot(%s, %s) = %q, %v; want a directory in %s", base, workDir, root, err, base)
	}
	stale := filepath.Join(root, "job-a.0a1b2c")
	if err := os.MkdirAll(filepath.Join(stale, "dir"), 0o700); err != nil {
		t.Fatal(err)
	}
	again, err := sharedWorkspaceRoot(base, workDir)
	if err != nil || again != root {
		t.Fatalf("sharedWorkspaceRoot again = %q, %v; want %q", again, err, root)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale workspace %s: %v, want it removed", stale, err)
	}

	// A root that is not private to us is refused.
	other := diskDir(t)
	root, err = sharedWorkspaceRoot(base, other)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(root, 0o777); err != nil {
		t.Fatal(err)
	}
	if got, err := sharedWorkspaceRoot(base, other); err == nil {
		t.Errorf("sharedWorkspaceRoot with a world-writable root = %q, nil; want an error", got)
	}

	// A WorkDir on a tmpfs is its own root.
	if got, err := sharedWorkspaceRoot(base, base); err != nil || got != base {
		t.Errorf("sharedWorkspaceRoot(%s, %s) = %q, %v; want the tmpfs WorkDir itself", base, base, got, err)
	}
}

func TestCollectShmRoots(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	live := t.TempDir()
	mk := func(name, owner string) string {
		root := filepath.Join(base, name)
		if err := os.MkdirAll(filepath.Join(root, "ws.000000"), 0o700); err != nil {
			t.Fatal(err)
		}
		if owner != "" {
			if err := os.Symlink(owner, filepath.Join(root, shmOwnerLink)); err != nil {
				t.Fatal(err)
			}
		}
		return root
	}
	tests := []struct {
		root     string
		wantGone bool
	}{
		{mk(shmPrefix+"orphan", filepath.Join(live, "removed-workdir")), true},
		{mk(shmPrefix+"live", live), false},
		{mk(shmPrefix+"unowned", ""), false},
		{mk("not-ours", filepath.Join(live, "removed-workdir")), false},
	}
	collectShmRoots(base)
	for _, tc := range tests {
		_, err := os.Stat(tc.root)
		if gone := os.IsNotExist(err); gone != tc.wantGone {
			t.Errorf("after collectShmRoots, %s gone = %v, want %v", filepath.Base(tc.root), gone, tc.wantGone)
		}
	}
}
