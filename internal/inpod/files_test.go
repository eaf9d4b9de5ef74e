package inpod_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/internal/inpod"
	"github.com/runplane/runplane/internal/inpod/pid1"
)

// makeSecretVolume lays dir out the way the kubelet mounts a Secret: the keys in a timestamped directory, a
// "..data" symlink to it and one top-level symlink per key into "..data". Files are mode 0440 (readable
// through fsGroup).
func makeSecretVolume(t *testing.T, dir string, secrets map[string]string) {
	t.Helper()
	const ts = "..2026_01_02_03_04_05.123456789"
	if err := os.MkdirAll(filepath.Join(dir, ts), 0o755); err != nil {
		t.Fatal(err)
	}
	for k, v := range secrets {
		p := filepath.Join(dir, ts, k)
		if err := os.WriteFile(p, []byte(v), 0o440); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join("..data", k), filepath.Join(dir, k)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(ts, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
}

// secretFiles returns the files in dir, name → content, and fails on any entry that is not a 0400 file.
func secretFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range entries {
		fi, err := os.Lstat(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o400 {
			t.Errorf("%s: mode %v, want a regular file of mode 0400", e.Name(), fi.Mode())
		}
		got[e.Name()] = readFile(t, filepath.Join(dir, e.Name()))
	}
	return got
}

func TestCopySecrets(t *testing.T) {
	t.Parallel()
	secrets := map[string]string{"API_KEY": "k3y", "DB_PASSWORD": "pa ss\nword\n", "empty": "", ".dotted": "d"}
	src, dst := t.TempDir(), t.TempDir()
	makeSecretVolume(t, src, secrets)
	// Not keys: a directory, kubelet-style ".." files and a symlink to a directory.
	if err := os.Mkdir(filepath.Join(src, "subdir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "..hidden"), []byte("no"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("subdir", filepath.Join(src, "dirlink")); err != nil {
		t.Fatal(err)
	}

	for _, run := range []string{"first", "again"} { // an init container may run twice
		if err := inpod.CopySecrets(src, dst); err != nil {
			t.Fatalf("CopySecrets (%s): %v", run, err)
		}
		if diff := cmp.Diff(secrets, secretFiles(t, dst)); diff != "" {
			t.Errorf("secrets after the %s copy (-want +got):\n%s", run, diff)
		}
	}
}

func TestCopySecretsNone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
	}{
		{"missing source", filepath.Join(t.TempDir(), "missing")},
		{"empty source", t.TempDir()},
		{"only kubelet entries", func() string { d := t.TempDir(); makeSecretVolume(t, d, nil); return d }()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dst := t.TempDir()
			if err := inpod.CopySecrets(tc.src, dst); err != nil {
				t.Fatalf("CopySecrets(%s) = %v, want nil", tc.src, err)
			}
			if got := secretFiles(t, dst); len(got) != 0 {
				t.Errorf("CopySecrets(%s) copied %v, want nothing", tc.src, got)
			}
		})
	}
}

func TestCopySecretsBrokenLink(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	if err := os.Symlink("..data/GONE", filepath.Join(src, "GONE")); err != nil {
		t.Fatal(err)
	}
	if err := inpod.CopySecrets(src, t.TempDir()); err == nil {
		t.Error("CopySecrets of a dangling key = nil, want an error")
	}
}

// TestCopyPID1WithoutIt: without a runplane-pid1 next to it (a binary built on its own), the running executable
// itself is copied under that name.
func TestCopyPID1WithoutIt(t *testing.T) {
	t.Parallel()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, run := range []string{"first", "again"} {
		if err := inpod.CopyPID1(dir); err != nil {
			t.Fatalf("CopyPID1 (%s): %v", run, err)
		}
		p := filepath.Join(dir, pid1.Name)
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o555 {
			t.Errorf("%s: mode %v after the %s copy, want 0555", p, fi.Mode(), run)
		}
		if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s after the %s copy: %d bytes, %v; want a copy of %s (%d bytes)", p, run, len(got), err, self, len(want))
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Errorf("%s holds %d entries after the %s copy, want only %s", dir, len(entries), run, pid1.Name)
		}
	}
}

// A job without a repository (a multi-container job of images only) still gets its secrets, input files and
// runplane-pid1 from the init container, and nothing is cloned.
func TestCheckoutWithoutRepository(t *testing.T) {
	dir := t.TempDir()
	secrets, inputs := filepath.Join(dir, "secret-src"), filepath.Join(dir, "input-src")
	makeSecretVolume(t, secrets, map[string]string{"API_KEY": "k"})
	makeSecretVolume(t, inputs, map[string]string{"object.yaml": "kind: Thing\n"})
	ws, tools, in := filepath.Join(dir, "ws"), filepath.Join(dir, "tools"), filepath.Join(dir, "input")
	for _, d := range []string{ws, tools, in} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r := runCheckout(t, map[string]string{
		inpod.EnvNoGit: "1", inpod.EnvWorkspace: ws, inpod.EnvTools: tools,
		inpod.EnvSecretsSrc: secrets, inpod.EnvSecretsDst: filepath.Join(dir, "secret"),
		inpod.EnvInputSrc: inputs, inpod.EnvInputDst: in,
	})
	if r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Fatalf("RunCheckout = %d, stdout %q, stderr %q; want 0 and no output", r.code, r.stdout, r.stderr)
	}
	if entries, _ := os.ReadDir(ws); len(entries) != 0 {
		t.Errorf("the workspace has %d entries, want none", len(entries))
	}
	if got := secretFiles(t, filepath.Join(dir, "secret")); got["API_KEY"] != "k" {
		t.Errorf("secrets %v", got)
	}
	fi, err := os.Stat(filepath.Join(in, "object.yaml"))
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("input file: %v, %v; want mode 0644", fi, err)
	}
	if b, _ := os.ReadFile(filepath.Join(in, "object.yaml")); string(b) != "kind: Thing\n" {
		t.Errorf("object.yaml = %q", b)
	}
	if _, err := os.Stat(filepath.Join(tools, pid1.Name)); err != nil {
		t.Errorf("runplane-pid1 not copied: %v", err)
	}
	// Both a URL and "no repository" is a mistake.
	r = runCheckout(t, map[string]string{inpod.EnvNoGit: "1", inpod.EnvGitURL: "http://x/y", inpod.EnvWorkspace: ws})
	if r.code != 1 || !bytes.Contains([]byte(r.stderr), []byte("both set")) {
		t.Errorf("RunCheckout with both = %d, stderr %q; want 1 and a message", r.code, r.stderr)
	}
}

// Input files may be paths: the kubelet projects locust/basic.py as ..data/locust/basic.py with one top-level
// symlink, locust -> ..data/locust; the copy recreates the directories.
func TestCopyInputFilesPaths(t *testing.T) {
	t.Parallel()
	src, dst := t.TempDir(), t.TempDir()
	const ts = "..2026_01_02_03_04_05.123456789"
	files := map[string]string{"object.yaml": "kind: X", "locust/basic.py": "print(1)", "helm/templates/d.yaml": "kind: D"}
	for k, v := range files {
		p := filepath.Join(src, ts, filepath.FromSlash(k))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(v), 0o440); err != nil {
			t.Fatal(err)
		}
	}
	for _, top := range []string{"object.yaml", "locust", "helm"} {
		if err := os.Symlink(filepath.Join("..data", top), filepath.Join(src, top)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(ts, filepath.Join(src, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := inpod.CopyInputFiles(src, dst); err != nil {
		t.Fatalf("CopyInputFiles: %v", err)
	}
	got := map[string]string{}
	err := filepath.WalkDir(dst, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if d.Type()&os.ModeSymlink != 0 {
			t.Errorf("%s: a symlink, want a copy", p)
		}
		rel, _ := filepath.Rel(dst, p)
		got[filepath.ToSlash(rel)] = readFile(t, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(files, got); diff != "" {
		t.Errorf("input files (-want +got):\n%s", diff)
	}
}
