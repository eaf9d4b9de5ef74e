package gitsource

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/gitsource/gittest"
)

// Archive gives the branch's tree as a tar archive: directories before what they hold, files with their content
// and modes, nothing of .git.
func TestArchive(t *testing.T) {
	c := newCache(t, Options{})
	bare := gittest.NewRepo(t, map[string]string{"README": "hello\n", "bin/run.sh": "#!/bin/sh\necho hi\n", "a/b/c.txt": "deep"})
	gittest.CommitBranch(t, bare, "dev", map[string]string{"README": "dev\n"})
	repo := executor.Repo{URL: gittest.URL(bare)}

	tests := []struct {
		name, branch string
		want         map[string]string // name → "mode content"
	}{
		{"main", "", map[string]string{
			"README": "644 hello\n", "bin/": "755 ", "bin/run.sh": "755 #!/bin/sh\necho hi\n",
			"a/": "755 ", "a/b/": "755 ", "a/b/c.txt": "644 deep",
		}},
		{"branch", "dev", map[string]string{
			"README": "644 dev\n", "bin/": "755 ", "bin/run.sh": "755 #!/bin/sh\necho hi\n",
			"a/": "755 ", "a/b/": "755 ", "a/b/c.txt": "644 deep",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := repo
			r.Branch = tc.branch
			var buf bytes.Buffer
			commit, err := c.Archive(t.Context(), r, &buf, 0)
			if err != nil {
				t.Fatalf("Archive: %v", err)
			}
			branch := tc.branch
			if branch == "" {
				branch = "main"
			}
			if want := gittest.Head(t, bare, branch); commit != want {
				t.Errorf("Archive commit = %s, want %s", commit, want)
			}
			got := map[string]string{}
			seen := map[string]bool{}
			tr := tar.NewReader(&buf)
			for {
				h, err := tr.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("read the archive: %v", err)
				}
				if dir, _, ok := strings.Cut(strings.TrimSuffix(h.Name, "/"), "/"); ok && !seen[dir+"/"] {
					t.Errorf("%s comes before its directory", h.Name)
				}
				seen[h.Name] = true
				b, _ := io.ReadAll(tr)
				got[h.Name] = fmt.Sprintf("%o %s", h.Mode, b)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Archive(%q) (-want +got):\n%s", tc.branch, diff)
			}
		})
	}
}

func TestArchiveErrors(t *testing.T) {
	c := newCache(t, Options{})
	bare := gittest.NewRepo(t, map[string]string{"README": strings.Repeat("x", 4096)})
	repo := executor.Repo{URL: gittest.URL(bare)}
	tests := []struct {
		name   string
		branch string
		max    int64
		want   func(error) bool
	}{
		{"too large", "", 4096, func(err error) bool { return errors.Is(err, ErrTooLarge) }},
		{"no such branch", "nope", 0, func(err error) bool { return err != nil && strings.Contains(err.Error(), "nope") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := repo
			r.Branch = tc.branch
			_, err := c.Archive(t.Context(), r, io.Discard, tc.max)
			if !tc.want(err) {
				t.Errorf("Archive(branch %q, max %d) = %v, want the %s error", tc.branch, tc.max, err, tc.name)
			}
		})
	}
	if _, err := c.Archive(t.Context(), repo, io.Discard, 16<<10); err != nil {
		t.Errorf("Archive within its limit = %v, want nil", err)
	}
}
