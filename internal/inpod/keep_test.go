package inpod_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/internal/inpod"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func readFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			got[filepath.ToSlash(rel)] = string(b)
		}
		return nil
	})
	return got
}

func TestKeepRoundTrip(t *testing.T) {
	src := t.TempDir()
	out, meta := filepath.Join(src, "out"), filepath.Join(src, "meta")
	big := strings.Repeat("0123456789", 10000)
	writeFiles(t, out, map[string]string{"a.yaml": "a: 1\n", "deep/er/b.txt": big, "empty": ""})
	writeFiles(t, meta, map[string]string{"status.yaml": "message: ok\n"})
	if err := os.Symlink("/etc/passwd", filepath.Join(out, "link")); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	code := inpod.RunKeep(envMap(map[string]string{
		inpod.EnvKeepDirs:          "output=" + out + ",metadata=" + meta + ",none=" + filepath.Join(src, "missing"),
		inpod.EnvKeepMax:           "1000000",
		"RUNPLANE_TERMINATION_LOG": filepath.Join(t.TempDir(), "tlog"),
	}), &log, os.Stderr)
	if code != 0 {
		t.Fatalf("RunKeep = %d", code)
	}
	for _, line := range strings.Split(strings.TrimSuffix(log.String(), "\n"), "\n") {
		if len(line) > 76 {
			t.Fatalf("a line of %d bytes", len(line))
		}
	}
	dst := t.TempDir()
	if err := inpod.ExtractKeep(&log, dst, []string{"output", "metadata"}, 1000000); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"output/a.yaml": "a: 1\n", "output/deep/er/b.txt": big, "output/empty": "", "metadata/status.yaml": "message: ok\n"}
	if diff := cmp.Diff(want, readFiles(t, dst)); diff != "" {
		t.Errorf("kept files (-want +got):\n%s", diff)
	}
}

func TestKeepTooBig(t *testing.T) {
	src := t.TempDir()
	writeFiles(t, src, map[string]string{"a": "12345", "b": "678"})
	tlog := filepath.Join(t.TempDir(), "tlog")
	var out, errOut bytes.Buffer
	code := inpod.RunKeep(envMap(map[string]string{inpod.EnvKeepDirs: "output=" + src, inpod.EnvKeepMax: "7", "RUNPLANE_TERMINATION_LOG": tlog}), &out, &errOut)
	msg, _ := os.ReadFile(tlog)
	if code != 1 || out.Len() != 0 || !strings.Contains(string(msg), "the files in output are 8 bytes, over the 7 kept") {
		t.Errorf("RunKeep = %d, stdout %d bytes, message %q; want 1, nothing, the sizes", code, out.Len(), msg)
	}
}

// archive is what a hostile pod could print instead of WriteKeep's output.
func archive(t testing.TB, entries ...tar.Header) []byte {
	var raw bytes.Buffer
	zw := gzip.NewWriter(&raw)
	tw := tar.NewWriter(zw)
	for _, h := range entries {
		if h.Typeflag == tar.TypeReg && h.Size == 0 {
			h.Size = 1
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write(bytes.Repeat([]byte("x"), int(h.Size)))
		}
	}
	tw.Close()
	zw.Close()
	return []byte(base64.StdEncoding.EncodeToString(raw.Bytes()))
}

func TestExtractKeepRefuses(t *testing.T) {
	tests := []struct {
		name    string
		entries []tar.Header
		want    string
	}{
		{"parent", []tar.Header{{Typeflag: tar.TypeReg, Name: "output/../../x"}}, "is not a file of"},
		{"absolute", []tar.Header{{Typeflag: tar.TypeReg, Name: "/etc/x"}}, "is not a file of"},
		{"other top", []tar.Header{{Typeflag: tar.TypeReg, Name: "secrets/x"}}, "is not a file of"},
		{"symlink", []tar.Header{{Typeflag: tar.TypeSymlink, Name: "output/l", Linkname: "/etc"}}, "not a regular file or a directory"},
		{"too big", []tar.Header{{Typeflag: tar.TypeReg, Name: "output/a", Size: 60}, {Typeflag: tar.TypeReg, Name: "output/b", Size: 60}}, "over 100 bytes"},
		{"twice", []tar.Header{{Typeflag: tar.TypeReg, Name: "output/a"}, {Typeflag: tar.TypeReg, Name: "output/a"}}, "exists"},
		{"file then dir", []tar.Header{{Typeflag: tar.TypeReg, Name: "output/a"}, {Typeflag: tar.TypeReg, Name: "output/a/b"}}, "not a directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := t.TempDir()
			err := inpod.ExtractKeep(bytes.NewReader(archive(t, tc.entries...)), dst, []string{"output", "metadata"}, 100)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ExtractKeep = %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// A link already in dst (none should be, but) is never followed.
func TestExtractKeepNoLinks(t *testing.T) {
	dst, elsewhere := t.TempDir(), t.TempDir()
	if err := os.Symlink(elsewhere, filepath.Join(dst, "output")); err != nil {
		t.Fatal(err)
	}
	err := inpod.ExtractKeep(bytes.NewReader(archive(t, tar.Header{Typeflag: tar.TypeReg, Name: "output/a"})), dst, []string{"output"}, 100)
	if err == nil {
		t.Error("ExtractKeep wrote through a link")
	}
	if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
		t.Errorf("a file was written through the link")
	}
}

func FuzzExtractKeep(f *testing.F) {
	f.Add(archive(f, tar.Header{Typeflag: tar.TypeReg, Name: "output/a"}))
	f.Add(archive(f, tar.Header{Typeflag: tar.TypeDir, Name: "metadata/"}, tar.Header{Typeflag: tar.TypeReg, Name: "metadata/s.yaml", Size: 3}))
	f.Add([]byte("not base64"))
	f.Fuzz(func(t *testing.T, in []byte) {
		dst := t.TempDir()
		inpod.ExtractKeep(bytes.NewReader(in), filepath.Join(dst, "keep"), []string{"output", "metadata"}, 1<<20)
		// Whatever it did, it wrote only under dst/keep/output and dst/keep/metadata.
		entries, _ := os.ReadDir(dst)
		for _, e := range entries {
			if e.Name() != "keep" {
				t.Fatalf("wrote %s outside the keep directory", e.Name())
			}
		}
		top, _ := os.ReadDir(filepath.Join(dst, "keep"))
		for _, e := range top {
			if e.Name() != "output" && e.Name() != "metadata" || !e.IsDir() {
				t.Fatalf("wrote %s at the top of the keep directory", e.Name())
			}
		}
	})
}
