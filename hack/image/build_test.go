package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

const testTag = "docker.io/runplane/runplane:e2e"

// inputs writes a stand-in binary and CA bundle into a temporary directory and returns flags naming them.
func inputs(t *testing.T, binary string) (dir string, args []string) {
	t.Helper()
	dir = t.TempDir()
	bin := filepath.Join(dir, "runplane")
	if err := os.WriteFile(bin, []byte(binary), 0o755); err != nil {
		t.Fatal(err)
	}
	pid1 := filepath.Join(dir, "runplane-pid1")
	if err := os.WriteFile(pid1, []byte("#!/bin/sh\necho a stand-in for runplane-pid1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	certs := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(certs, []byte("-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, []string{"-binary", bin, "-pid1", pid1, "-ca-certs", certs, "-tag", testTag}
}

// buildImage runs the command with args plus -o out and returns the manifest digest and image ID it printed.
func buildImage(t *testing.T, out string, args ...string) (digest, id string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := run(append(args, "-o", out), &stdout, &stderr); err != nil {
		t.Fatalf("run(%q) = %v; stderr: %s", args, err, stderr.String())
	}
	f := strings.Fields(stdout.String())
	if len(f) != 4 || f[0] != out || f[1] != testTag {
		t.Fatalf("run printed %q, want %q, the tag, the digest and the image ID", stdout.String(), out)
	}
	return f[2], f[3]
}

// entry is what a test checks of one file in a layer.
type entry struct {
	Name     string
	Type     byte
	Mode     int64
	UID, GID int
	ModTime  time.Time
	Data     string
}

func layerEntries(t *testing.T, l v1.Layer) []entry {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var es []entry
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return es
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, entry{h.Name, h.Typeflag, h.Mode, h.Uid, h.Gid, h.ModTime.UTC(), string(data)})
	}
}

func TestImage(t *testing.T) {
	dir, args := inputs(t, "#!/bin/sh\necho a stand-in for runplane\n")
	out := filepath.Join(dir, "img.tar")
	digest, id := buildImage(t, out, append(args, "-version", "1.2.3", "-revision", "abc123")...)

	tag, err := name.NewTag(testTag)
	if err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(out, &tag)
	if err != nil {
		t.Fatalf("ImageFromPath: %v", err)
	}
	if got, err := img.Digest(); err != nil || got.String() != digest {
		t.Errorf("digest read back = %v, %v; want %s as printed", got, err, digest)
	}
	if got, err := img.ConfigName(); err != nil || got.String() != id {
		t.Errorf("image ID read back = %v, %v; want %s as printed", got, err, id)
	}
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(out) })
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 || !cmp.Equal(m[0].RepoTags, []string{testTag}) {
		t.Errorf("manifest.json = %+v, want one image tagged %s", m, testTag)
	}

	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	wantConfig := v1.Config{
		Entrypoint:   []string{"/usr/local/bin/runplane"},
		Cmd:          []string{"serve"},
		User:         "65532:65532",
		Env:          []string{"PATH=/usr/local/bin:/usr/bin:/bin", "RUNPLANE_LISTEN=:8080", "RUNPLANE_DATA_DIR=/data"},
		WorkingDir:   "/",
		ExposedPorts: map[string]struct{}{"8080/tcp": {}},
		Labels: map[string]string{
			"org.opencontainers.image.title":       "runplane",
			"org.opencontainers.image.description": "Scripts in git repositories as governed operations: REST API, RBAC, jobs",
			"org.opencontainers.image.source":      "https://github.com/runplane/runplane",
			"org.opencontainers.image.url":         "https://github.com/runplane/runplane",
			"org.opencontainers.image.version":     "1.2.3",
			"org.opencontainers.image.revision":    "abc123",
		},
	}
	if d := cmp.Diff(wantConfig, cf.Config); d != "" {
		t.Errorf("config (-want +got):\n%s", d)
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH || !cf.Created.Time.Equal(time.Unix(0, 0)) {
		t.Errorf("config os/arch/created = %s/%s/%v, want linux/%s/1970-01-01", cf.OS, cf.Architecture, cf.Created.Time, runtime.GOARCH)
	}
	if len(cf.History) != 2 || len(cf.RootFS.DiffIDs) != 2 {
		t.Errorf("config has %d history entries and %d diff IDs, want 2 and 2", len(cf.History), len(cf.RootFS.DiffIDs))
	}

	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	certs, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	epoch := time.Unix(0, 0).UTC()
	dirEntry := func(name string, mode int64, owner int) entry {
		return entry{name, tar.TypeDir, mode, owner, owner, epoch, ""}
	}
	fileEntry := func(name string, mode int64, data string) entry {
		return entry{name, tar.TypeReg, mode, 0, 0, epoch, data}
	}
	want := [][]entry{
		{
			dirEntry("data/", 0o700, 65532),
			dirEntry("etc/", 0o755, 0),
			fileEntry("etc/group", 0o644, "root:x:0:\nrunplane:x:65532:\n"),
			fileEntry("etc/nsswitch.conf", 0o644, "hosts: files dns\n"),
			fileEntry("etc/passwd", 0o644, "root:x:0:0:root:/root:/sbin/nologin\nrunplane:x:65532:65532:runplane:/data:/sbin/nologin\n"),
			dirEntry("etc/ssl/", 0o755, 0),
			dirEntry("etc/ssl/certs/", 0o755, 0),
			fileEntry("etc/ssl/certs/ca-certificates.crt", 0o644, string(certs)),
			dirEntry("tmp/", 0o1777, 0),
		},
		{
			dirEntry("usr/", 0o755, 0),
			dirEntry("usr/local/", 0o755, 0),
			dirEntry("usr/local/bin/", 0o755, 0),
			fileEntry("usr/local/bin/runplane", 0o755, "#!/bin/sh\necho a stand-in for runplane\n"),
			fileEntry("usr/local/bin/runplane-pid1", 0o755, "#!/bin/sh\necho a stand-in for runplane-pid1\n"),
		},
	}
	var got [][]entry
	for _, l := range layers {
		got = append(got, layerEntries(t, l))
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("layers (-want +got):\n%s", d)
	}
}

// TestDeterministic builds twice from the same inputs: the same digest, byte for byte the same tarball. A new
// binary changes the image but not the base layer beneath it.
func TestDeterministic(t *testing.T) {
	dir, args := inputs(t, "binary one")
	first, _ := buildImage(t, filepath.Join(dir, "a.tar"), args...)
	second, _ := buildImage(t, filepath.Join(dir, "b.tar"), args...)
	if first != second {
		t.Errorf("two builds from the same inputs: digests %s and %s, want equal", first, second)
	}
	a, errA := os.ReadFile(filepath.Join(dir, "a.tar"))
	b, errB := os.ReadFile(filepath.Join(dir, "b.tar"))
	if errA != nil || errB != nil || !bytes.Equal(a, b) {
		t.Errorf("two builds from the same inputs wrote different tarballs (%v, %v)", errA, errB)
	}

	if err := os.WriteFile(filepath.Join(dir, "runplane"), []byte("binary two"), 0o755); err != nil {
		t.Fatal(err)
	}
	third, _ := buildImage(t, filepath.Join(dir, "c.tar"), args...)
	if third == first {
		t.Errorf("a different binary gave the same digest %s", third)
	}
	base := func(file string) v1.Hash {
		img, err := tarball.ImageFromPath(filepath.Join(dir, file), nil)
		if err != nil {
			t.Fatal(err)
		}
		ls, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		h, err := ls[0].Digest()
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	if base("a.tar") != base("c.tar") {
		t.Errorf("a different binary changed the base layer: %v and %v", base("a.tar"), base("c.tar"))
	}
}

func TestErrors(t *testing.T) {
	dir, args := inputs(t, "fake")
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	with := func(flag, value string) []string {
		a := append([]string(nil), args...)
		for i := range a {
			if a[i] == flag {
				a[i+1] = value
				return a
			}
		}
		return append(a, flag, value)
	}
	tests := []struct {
		name string
		args []string
		want string // in the error
	}{
		{"no binary flag", []string{"-tag", testTag}, "-binary is required"},
		{"no pid1 flag", []string{"-binary", filepath.Join(dir, "runplane"), "-tag", testTag}, "-pid1 is required"},
		{"missing pid1", with("-pid1", filepath.Join(dir, "nope")), "-pid1: stat " + filepath.Join(dir, "nope") + ": no such file or directory"},
		{"empty pid1", with("-pid1", empty), "-pid1 " + empty + ": not a regular, non-empty file"},
		{"missing binary", with("-binary", filepath.Join(dir, "nope")), "-binary: stat " + filepath.Join(dir, "nope") + ": no such file or directory"},
		{"empty binary", with("-binary", empty), "not a regular, non-empty file"},
		{"directory as binary", with("-binary", dir), "not a regular, non-empty file"},
		{"missing CA bundle", with("-ca-certs", filepath.Join(dir, "nope.crt")), "read the CA bundle"},
		{"empty CA bundle", with("-ca-certs", empty), "is empty"},
		{"short tag", with("-tag", "runplane:e2e"), `-tag "runplane:e2e": want a full reference`},
		{"extra argument", append(args, "extra"), "unexpected arguments"},
	}
	// A dynamically linked host binary must be refused: the image has no C library.
	if f, err := elf.Open("/bin/sh"); err == nil {
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				tests = append(tests, struct {
					name string
					args []string
					want string
				}{"dynamically linked", with("-binary", "/bin/sh"), "is dynamically linked"})
				break
			}
		}
		f.Close()
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "img.tar")
			var stdout, stderr bytes.Buffer
			err := run(append(tt.args, "-o", out), &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run(%q) = %v, want an error containing %q", tt.args, err, tt.want)
			}
			for _, p := range []string{out, out + ".tmp"} {
				if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("after a failed build, %s: stat = %v, want it absent", p, err)
				}
			}
		})
	}
}
