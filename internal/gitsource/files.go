package gitsource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/runplane/runplane/internal/executor"
)

// ErrCommitNotFound: the repository has no such commit, neither on the branch fetched nor by itself.
var ErrCommitNotFound = errors.New("gitsource: commit not found")

// PathNotFoundError says that a path names no regular file and no directory holding one.
type PathNotFoundError struct{ Path string }

func (e *PathNotFoundError) Error() string { return fmt.Sprintf("no file or directory %s", e.Path) }

// ErrTooLarge: the files asked for hold more bytes than allowed.
var ErrTooLarge = errors.New("gitsource: files too large")

// ReadFiles returns files of repo at commit, or at the head of repo's branch when commit is "", and the commit
// read. Each of paths (slash-separated, relative to the repository's root; leading slashes are ignored, as Keptn
// does) names a regular file, which is returned under its path, or a directory, whose regular files (at any depth)
// are returned under theirs. Symlinks and submodules are never read. A path that gives no file is a
// *PathNotFoundError; more than max bytes in all (max > 0) is ErrTooLarge. A commit that the branch's fetch did not
// bring is fetched by its id; if the server refuses, ErrCommitNotFound. The files come from the same extracted trees
// checkouts use. Errors never contain the token or URL user info.
func (c *Cache) ReadFiles(ctx context.Context, repo executor.Repo, commit string, paths []string, max int) (map[string][]byte, string, error) {
	if commit != "" && !isHex(commit) {
		return nil, "", fmt.Errorf("%w: %q is not a full commit id", ErrCommitNotFound, commit)
	}
	var files map[string][]byte
	var readErr error
	at, err := c.withTree(ctx, repo, commit, "read", func(t *tree) error {
		files, readErr = t.read(paths, max)
		return nil // read's errors (PathNotFoundError, ErrTooLarge) are the caller's, unwrapped
	})
	if err != nil {
		return nil, "", err
	}
	return files, at, readErr
}

// treeOf returns the (acquired) tree of commit, fetching the branch, then the commit alone, if the mirror lacks it.
func (c *Cache) treeOf(ctx context.Context, m *mirror, repo executor.Repo, branch, commit string) (string, *tree, error) {
	if commit == "" {
		return c.resolve(ctx, m, repo, branch)
	}
	t, err := c.extractHeld(ctx, m, repo, commit, false)
	if t != nil || err != nil {
		return commit, t, err
	}
	// Not in the mirror: the branch's head first (the usual case: a commit just pushed), then the commit itself.
	_, bt, err := c.resolve(ctx, m, repo, branch)
	if err != nil {
		return "", nil, err
	}
	c.release(bt)
	t, err = c.extractHeld(ctx, m, repo, commit, true)
	if err == nil && t == nil {
		err = fmt.Errorf("%w: %s in %s", ErrCommitNotFound, commit, RedactURL(repo.URL))
	}
	return commit, t, err
}

// extractHeld returns commit's acquired tree if the mirror holds the commit (after fetching it by id, if fetch),
// else nil, nil.
func (c *Cache) extractHeld(ctx context.Context, m *mirror, repo executor.Repo, commit string, fetch bool) (*tree, error) {
	if c.builtin {
		return c.extractHeldBuiltin(ctx, m, repo, commit, fetch)
	}
	m.mu.Lock()
	t, err := func() (*tree, error) {
		if err := c.initMirror(ctx, m); err != nil {
			return nil, err
		}
		if err := c.sealMirror(m); err != nil {
			return nil, err
		}
		has := func() bool {
			_, err := c.runGit(ctx, m.dir, "", "cat-file", "-e", commit+"^{commit}")
			return err == nil
		}
		if !has() {
			if !fetch {
				return nil, nil
			}
			// Servers speaking protocol v2 (git's default) give any commit they have by its id.
			if _, err := c.runGit(ctx, m.dir, tokenFor(repo.URL, repo.Token), "fetch", "--quiet", "--no-tags",
				"--no-write-fetch-head", "--no-recurse-submodules", "--", repo.URL, commit); err != nil || !has() {
				return nil, nil
			}
		}
		return c.extract(ctx, m, commit)
	}()
	m.mu.Unlock()
	if t == nil || err != nil {
		return nil, err
	}
	return c.acquire(t)
}

// read returns the regular files paths name (see ReadFiles).
func (t *tree) read(paths []string, max int) (map[string][]byte, error) {
	out := map[string][]byte{}
	total := 0
	for _, p := range paths {
		want := strings.Trim(p, "/") // "/helm/" is the directory helm
		if !validRelPath(want) {
			return nil, &PathNotFoundError{Path: p}
		}
		found := false
		for _, e := range t.entries {
			if !e.mode.IsRegular() || (e.name != want && !strings.HasPrefix(e.name, want+"/")) {
				continue
			}
			found = true
			if _, ok := out[e.name]; ok {
				continue
			}
			b, err := t.content(e)
			if err != nil {
				return nil, fmt.Errorf("gitsource: read %s: %w", e.name, err)
			}
			total += len(b)
			if max > 0 && total > max {
				return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)
			}
			out[e.name] = b
		}
		if !found {
			return nil, &PathNotFoundError{Path: p}
		}
	}
	return out, nil
}

// content is e's bytes.
func (t *tree) content(e entry) ([]byte, error) {
	if e.data != nil {
		return e.data, nil
	}
	f, err := os.Open(filepath.Join(t.dir, filepath.FromSlash(e.name)))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// validRelPath reports whether p is a clean relative path inside a tree: no empty, "." or ".." element.
func validRelPath(p string) bool {
	for _, s := range strings.Split(p, "/") {
		if s == "" || s == "." || s == ".." {
			return false
		}
	}
	return true
}
