package gitsource

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/gitsource/gittest"
)

// ReadFiles reads files and directories of a repository at a commit (Keptn's files from the config repository at
// the event's commit), or at the branch head.
func TestReadFiles(t *testing.T) {
	c := newCache(t, Options{})
	bare := gittest.NewRepo(t, map[string]string{
		"locust/basic.py": "v1", "locust/locust.conf": "users=1", "helm/Chart.yaml": "name: a", "helm/templates/d.yaml": "kind: D",
		"small.file": "s",
	})
	first := gittest.Head(t, bare, "main")
	gittest.Commit(t, bare, map[string]string{"locust/basic.py": "v2"})
	head := gittest.Head(t, bare, "main")
	gittest.CommitBranch(t, bare, "dev", map[string]string{"locust/basic.py": "dev"})
	dev := gittest.Head(t, bare, "dev")
	repo := executor.Repo{URL: gittest.URL(bare)}

	tests := []struct {
		name, commit string
		paths        []string
		want         map[string]string
		wantCommit   string
	}{
		{"head", "", []string{"locust/basic.py"}, map[string]string{"locust/basic.py": "v2"}, head},
		{"older commit", first, []string{"/locust/basic.py", "small.file"}, map[string]string{"locust/basic.py": "v1", "small.file": "s"}, first},
		{"directory", head, []string{"/helm"}, map[string]string{"helm/Chart.yaml": "name: a", "helm/templates/d.yaml": "kind: D"}, head},
		{"twice", head, []string{"locust", "locust/basic.py"}, map[string]string{"locust/basic.py": "v2", "locust/locust.conf": "users=1"}, head},
		{"commit of another branch", dev, []string{"locust/basic.py"}, map[string]string{"locust/basic.py": "dev"}, dev},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, at, err := c.ReadFiles(t.Context(), repo, tc.commit, tc.paths, 0)
			if err != nil {
				t.Fatalf("ReadFiles: %v", err)
			}
			text := map[string]string{}
			for k, v := range got {
				text[k] = string(v)
			}
			if diff := cmp.Diff(tc.want, text); diff != "" || at != tc.wantCommit {
				t.Errorf("ReadFiles(%q, %q) at %s (-want +got):\n%s", tc.commit, tc.paths, at, diff)
			}
		})
	}

	bad := []struct {
		name, commit string
		paths        []string
		max          int
		is           func(error) bool
	}{
		{"missing file", head, []string{"locust/missing.py"}, 0, func(err error) bool {
			var p *PathNotFoundError
			return errors.As(err, &p) && p.Path == "locust/missing.py"
		}},
		{"prefix is not a directory", head, []string{"locu"}, 0, func(err error) bool { var p *PathNotFoundError; return errors.As(err, &p) }},
		{"escape", head, []string{"../x"}, 0, func(err error) bool { var p *PathNotFoundError; return errors.As(err, &p) }},
		{"root", head, []string{"/"}, 0, func(err error) bool { var p *PathNotFoundError; return errors.As(err, &p) }},
		{"unknown commit", strings.Repeat("ab", 20), []string{"small.file"}, 0, func(err error) bool { return errors.Is(err, ErrCommitNotFound) }},
		{"short commit", head[:12], []string{"small.file"}, 0, func(err error) bool { return errors.Is(err, ErrCommitNotFound) }},
		{"too large", head, []string{"helm"}, 8, func(err error) bool { return errors.Is(err, ErrTooLarge) }},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := c.ReadFiles(t.Context(), repo, tc.commit, tc.paths, tc.max)
			if !tc.is(err) {
				t.Errorf("ReadFiles(%q, %q) = %v, want the %s error", tc.commit, tc.paths, err, tc.name)
			}
		})
	}
}

// Whatever paths are asked for, ReadFiles gives only regular files of the tree, each the one named or one under the
// directory named, and never a symlink's target.
func FuzzTreeRead(f *testing.F) {
	for _, s := range []string{"locust/basic.py", "/helm", "helm/", "../x", "/", "link", "a//b", "locust/../helm", ""} {
		f.Add(s)
	}
	tr := &tree{entries: []entry{
		{name: "helm", mode: fs.ModeDir | 0o755}, {name: "helm/Chart.yaml", mode: 0o644, data: []byte("c")},
		{name: "locust", mode: fs.ModeDir | 0o755}, {name: "locust/basic.py", mode: 0o644, data: []byte("b")},
		{name: "link", mode: fs.ModeSymlink | 0o777, link: "/etc/passwd"},
	}}
	f.Fuzz(func(t *testing.T, p string) {
		got, err := tr.read([]string{p}, 0)
		if err != nil {
			var nf *PathNotFoundError
			if !errors.As(err, &nf) {
				t.Fatalf("read(%q) = %v, want files or a PathNotFoundError", p, err)
			}
			return
		}
		want := strings.Trim(p, "/")
		for name := range got {
			if name != "helm/Chart.yaml" && name != "locust/basic.py" {
				t.Fatalf("read(%q) gave %q, not a regular file of the tree", p, name)
			}
			if name != want && !strings.HasPrefix(name, want+"/") {
				t.Fatalf("read(%q) gave %q, neither it nor under it", p, name)
			}
		}
	})
}
