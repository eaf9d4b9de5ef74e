package statestore

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/platform/schedule"
)

// gitCmd runs git with a clean environment, as the tests' own tool (never the code under test).
func gitCmd(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null", "LC_ALL=C"}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("git %v: %v: %s", args, err, errb.String())
	}
	return out.String()
}

// emptyBare makes a bare repository with no commit.
func emptyBare(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "state.git")
	gitCmd(t, "", "init", "-q", "--bare", "-b", "main", dir)
	return dir
}

// repoFiles returns every file of branch in a bare repository, path → content ("" when the branch is absent).
func repoFiles(t testing.TB, bare, branch string) map[string]string {
	t.Helper()
	out := map[string]string{}
	refs := gitCmd(t, bare, "for-each-ref", "--format=%(refname)", "refs/heads/"+branch)
	if strings.TrimSpace(refs) == "" {
		return out
	}
	for _, p := range strings.Split(strings.TrimRight(gitCmd(t, bare, "ls-tree", "-r", "--name-only", branch), "\n"), "\n") {
		if p != "" {
			out[p] = gitCmd(t, bare, "cat-file", "blob", branch+":"+p)
		}
	}
	return out
}

// dirFiles returns every regular file under dir, path → content.
func dirFiles(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			out[filepath.ToSlash(rel)] = string(b)
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return out
}

// listing renders files for a golden file: each path, then its content indented.
func listing(files map[string]string) string {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var b strings.Builder
	for _, p := range paths {
		b.WriteString("== " + p + "\n")
		for _, line := range strings.SplitAfter(files[p], "\n") {
			if line != "" {
				b.WriteString("   " + line)
			}
		}
		if !strings.HasSuffix(files[p], "\n") {
			b.WriteString("\n")
		}
	}
	return b.String()
}

func destination(name, storeKind, store, path, mode string) api.Destination {
	d := api.Destination{Name: name, Path: path, StateStoreRef: api.StateStoreRef{Kind: storeKind, Name: store},
		Filepath: api.DestinationFilepath{Mode: mode}}
	if mode == api.FilepathAggregatedYAML {
		d.Filepath.Filename = "catalog.yaml"
	}
	return d
}

func files(kv ...string) []File {
	var out []File
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, File{Path: kv[i], Content: []byte(kv[i+1])})
	}
	return out
}

var rootGroup = schedule.GroupID(schedule.RootDirectory)
