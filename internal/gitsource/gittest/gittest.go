// Package gittest makes real git repositories for tests: a bare repository with commits on chosen branches,
// reachable as a file:// URL or served over smart HTTP with basic auth by git http-backend.
//
// Every git command runs with a clean environment (a temporary HOME, no system or global config), so tests never
// depend on, or touch, the configuration of the machine they run on. This package is for tests and test-support
// packages (executortest) only; production code must never import it.
package gittest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// NewRepo creates a bare repository whose branch main holds one commit with files (path → content; paths may
// contain '/', files ending in .sh are executable) and returns its directory. Its URL is URL(bareDir).
func NewRepo(t testing.TB, files map[string]string) (bareDir string) {
	t.Helper()
	bareDir = filepath.Join(t.TempDir(), "repo.git")
	git(t, "", "init", "-q", "--bare", "-b", "main", bareDir)
	CommitBranch(t, bareDir, "main", files)
	return bareDir
}

// Commit adds a commit to branch main of bareDir that writes files on top of the branch's current tree (files
// not named keep their content).
func Commit(t testing.TB, bareDir string, files map[string]string) {
	t.Helper()
	CommitBranch(t, bareDir, "main", files)
}

// CommitBranch is Commit on any branch. A branch that does not exist yet starts from main's tree if main
// exists, else from an empty tree.
func CommitBranch(t testing.TB, bareDir, branch string, files map[string]string) {
	t.Helper()
	tmp := t.TempDir()
	work := filepath.Join(tmp, "work")
	paths := make([]string, 0, len(files))
	for name, content := range files {
		p := filepath.Join(work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, name)
	}
	sort.Strings(paths)
	env := []string{"GIT_INDEX_FILE=" + filepath.Join(tmp, "index")}
	base := ""
	for _, ref := range []string{"refs/heads/" + branch, "refs/heads/main"} {
		if out, err := gitCmd(tmp, "", env, "--git-dir", bareDir, "rev-parse", "-q", "--verify", ref+"^{commit}").Output(); err == nil {
			base = strings.TrimSpace(string(out))
			break
		}
	}
	gd := []string{"--git-dir", bareDir, "--work-tree", work}
	if base != "" {
		gitEnv(t, tmp, env, append(gd, "read-tree", base)...)
	}
	if len(paths) > 0 {
		gitEnv(t, tmp, env, append(append(gd, "add", "-f", "--"), paths...)...)
	}
	tree := strings.TrimSpace(gitEnv(t, tmp, env, append(gd, "write-tree")...))
	args := []string{"--git-dir", bareDir, "commit-tree", tree, "-m", "commit " + strings.Join(paths, " ")}
	if base != "" {
		args = append(args, "-p", base)
	}
	commit := strings.TrimSpace(gitEnv(t, tmp, env, args...))
	gitEnv(t, tmp, env, "--git-dir", bareDir, "update-ref", "refs/heads/"+branch, commit)
}

// Head returns the commit branch of bareDir points at.
func Head(t testing.TB, bareDir, branch string) string {
	t.Helper()
	return strings.TrimSpace(git(t, "", "--git-dir", bareDir, "rev-parse", "--verify", "refs/heads/"+branch+"^{commit}"))
}

// URL returns the file:// URL of a repository directory.
func URL(bareDir string) string { return "file://" + bareDir }

func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	return gitEnv(t, dir, nil, args...)
}

func gitEnv(t testing.TB, dir string, env []string, args ...string) string {
	t.Helper()
	home := dir
	if home == "" {
		home = t.TempDir()
	}
	cmd := gitCmd(home, dir, env, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return string(out)
}

// gitCmd builds a git command with a clean environment and a fixed identity.
func gitCmd(home, dir string, env []string, args ...string) *exec.Cmd {
	full := append([]string{
		"-c", "user.name=gittest", "-c", "user.email=gittest@example.invalid",
		"-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", "-c", "core.autocrlf=false",
	}, args...)
	cmd := exec.Command("git", full...)
	cmd.Dir = dir
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0",
	}, env...)
	return cmd
}
