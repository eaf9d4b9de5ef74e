package executor_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/internal/executor"
)

// tree lists the files under dir as path → content ("dir/" for directories), without following links.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.IsDir():
			got[rel+"/"] = ""
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			got[rel] = string(b)
		default:
			got[rel] = "?" + d.Type().String()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func write(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestKeepFiles(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "outside")
	write(t, outside, "server secret")
	tests := []struct {
		name     string
		setup    func(t *testing.T, src string)
		limit    int64
		want     map[string]string
		warnings []string // substrings, one per warning
	}{
		{
			name: "files and directories",
			setup: func(t *testing.T, src string) {
				write(t, filepath.Join(src, "output/a.yaml"), "a: 1\n")
				write(t, filepath.Join(src, "output/sub/b.txt"), "b")
				write(t, filepath.Join(src, "metadata/status.yaml"), "message: ok\n")
				write(t, filepath.Join(src, "input/object.yaml"), "not kept")
			},
			want: map[string]string{"output/": "", "metadata/": "", "output/a.yaml": "a: 1\n", "output/sub/": "",
				"output/sub/b.txt": "b", "metadata/status.yaml": "message: ok\n"},
		},
		{
			name: "symbolic links and fifos are skipped",
			setup: func(t *testing.T, src string) {
				write(t, filepath.Join(src, "output/real"), "r")
				if err := os.Symlink(outside, filepath.Join(src, "output/escape")); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink("real", filepath.Join(src, "output/inside")); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(filepath.Dir(outside), filepath.Join(src, "metadata")); err != nil {
					t.Fatal(err)
				}
				if err := syscall.Mkfifo(filepath.Join(src, "output/fifo"), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			want:     map[string]string{"output/": "", "metadata/": "", "output/real": "r"},
			warnings: []string{"neither regular files nor directories"},
		},
		{
			name: "over the limit",
			setup: func(t *testing.T, src string) {
				write(t, filepath.Join(src, "output/1"), "12345")
				write(t, filepath.Join(src, "output/2"), "123456789")
			},
			limit:    10,
			want:     map[string]string{"output/": "", "metadata/": "", "output/1": "12345"},
			warnings: []string{"1 files over the limit of 10 bytes"},
		},
		{
			name:  "nothing written",
			setup: func(t *testing.T, src string) {},
			want:  map[string]string{"output/": "", "metadata/": ""},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, keep := t.TempDir(), filepath.Join(t.TempDir(), "keep")
			tc.setup(t, src)
			// What an earlier attempt kept is replaced.
			write(t, filepath.Join(keep, "output/stale"), "old")
			warnings, err := executor.KeepFiles(src, keep, tc.limit)
			if err != nil {
				t.Fatalf("KeepFiles: %v", err)
			}
			if diff := cmp.Diff(tc.want, tree(t, keep)); diff != "" {
				t.Errorf("kept (-want +got):\n%s", diff)
			}
			if len(warnings) != len(tc.warnings) {
				t.Fatalf("warnings = %q, want %d containing %q", warnings, len(tc.warnings), tc.warnings)
			}
			for i, w := range tc.warnings {
				if !strings.Contains(warnings[i], w) {
					t.Errorf("warning %d = %q, want it to contain %q", i, warnings[i], w)
				}
			}
			fi, err := os.Stat(filepath.Join(keep, "output"))
			if err != nil {
				t.Fatal(err)
			}
			if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != os.Geteuid() {
				t.Errorf("kept directory owned by %d, want %d", st.Uid, os.Geteuid())
			}
		})
	}
}

// TestKeepFilesOwner: files a job's user wrote are kept as the server's.
func TestKeepFilesOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make files of another user")
	}
	src, keep := t.TempDir(), t.TempDir()
	p := filepath.Join(src, "output/f")
	write(t, p, "x")
	if err := os.Chown(p, 65532, 65532); err != nil {
		t.Fatal(err)
	}
	if _, err := executor.KeepFiles(src, keep, 0); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(keep, "output/f"))
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("kept file: owner %d, mode %v; want 0, 0600", st.Uid, fi.Mode().Perm())
	}
}
