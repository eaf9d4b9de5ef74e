package gitsource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/runplane/runplane/internal/executor"
)

// The built-in reader: a server with no git binary on PATH (runplane's image has none) reads http(s) and local
// repositories with go-git. A fetch is one commit deep, into a scratch repository that is removed once the tree
// is extracted (the extracted trees are the cache, kept by commit as with git); a local repository is read in
// place. The tree is walked object by object and written raw, as extractRaw does: no attributes, filters or hooks
// exist on this path at all. Everything else — probes, coalescing, trees, archives — is shared with the git path.

// ErrNoGit: the repository's URL (ssh, git://) can only be read with the git binary, and this server has none.
// It matches exec.ErrNotFound too.
var ErrNoGit = fmt.Errorf("gitsource: no git on PATH, and only http, https and file repositories are read without it: %w", exec.ErrNotFound)

// hasGit reports whether a git binary is on PATH.
func hasGit() bool {
	_, err := exec.LookPath("git")
	return err == nil
}

// source is a repository opened by the built-in reader: its objects and refs, and what to undo when done.
type source struct {
	st    storer.Storer
	close func()
}

// updateBuiltin is update without git: fetch the branch's head commit (depth 1), resolve it, extract its tree.
func (c *Cache) updateBuiltin(ctx context.Context, m *mirror, repo executor.Repo, branch string) (string, *tree, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ref := plumbing.NewBranchReferenceName(branch)
	src, err := c.openBuiltin(ctx, repo, config.RefSpec("+"+ref+":"+ref))
	if err != nil {
		return "", nil, builtinError(err, repo, branch)
	}
	defer src.close()
	r, err := storer.ResolveReference(src.st, ref)
	if err != nil {
		return "", nil, builtinError(err, repo, branch)
	}
	commit := r.Hash().String()
	t, err := c.extractWith(m, commit, func() (*tree, error) { return c.extractBuiltin(ctx, m, src.st, commit) })
	if err != nil {
		return "", nil, err
	}
	return commit, t, nil
}

// extractHeldBuiltin is extractHeld without git: the tree if extracted, else (if fetch) the commit fetched by
// its id — which servers that speak only protocol v0 to go-git may refuse: nil, nil then.
func (c *Cache) extractHeldBuiltin(ctx context.Context, m *mirror, repo executor.Repo, commit string, fetch bool) (*tree, error) {
	m.mu.Lock()
	t, err := func() (*tree, error) {
		c.mu.Lock()
		t := m.trees[commit]
		c.mu.Unlock()
		if t != nil || !fetch {
			return t, nil
		}
		src, err := c.openBuiltin(ctx, repo, config.RefSpec(commit+":refs/runplane/want"))
		if err != nil {
			c.log.Debug("fetch a commit by id", "url", RedactURL(repo.URL), "commit", commit, "err", Scrub(err.Error(), repo.Token))
			return nil, nil
		}
		defer src.close()
		if _, err := object.GetCommit(src.st, plumbing.NewHash(commit)); err != nil {
			return nil, nil
		}
		return c.extractWith(m, commit, func() (*tree, error) { return c.extractBuiltin(ctx, m, src.st, commit) })
	}()
	m.mu.Unlock()
	if t == nil || err != nil {
		return nil, err
	}
	return c.acquire(t)
}

// headBuiltin is Head's `git ls-remote` without git.
func (c *Cache) headBuiltin(ctx context.Context, repo executor.Repo, branch string) (string, error) {
	ref := plumbing.NewBranchReferenceName(branch)
	if p, ok := localPath(repo.URL); ok {
		src, err := c.openLocal(p)
		if err != nil {
			return "", builtinError(err, repo, branch)
		}
		defer src.close()
		r, err := storer.ResolveReference(src.st, ref)
		if err != nil {
			return "", builtinError(err, repo, branch)
		}
		return r.Hash().String(), nil
	}
	if _, ok := httpBase(repo.URL); !ok {
		return "", ErrNoGit
	}
	rem := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{repo.URL}})
	refs, err := rem.ListContext(ctx, &git.ListOptions{Auth: builtinAuth(repo)})
	if err != nil {
		return "", builtinError(err, repo, branch)
	}
	for _, r := range refs {
		if r.Name() == ref && r.Type() == plumbing.HashReference {
			return r.Hash().String(), nil
		}
	}
	return "", &BranchNotFoundError{Branch: branch, URL: RedactURL(repo.URL)}
}

// openBuiltin opens repo for reading: a local repository in place; an http(s) one as a scratch repository in
// the cache that holds what spec fetched, one commit deep.
func (c *Cache) openBuiltin(ctx context.Context, repo executor.Repo, spec config.RefSpec) (*source, error) {
	if p, ok := localPath(repo.URL); ok {
		return c.openLocal(p)
	}
	if _, ok := httpBase(repo.URL); !ok {
		return nil, ErrNoGit
	}
	tmp, err := os.MkdirTemp(c.mirrors, ".fetch-")
	if err != nil {
		return nil, err
	}
	st := filesystem.NewStorage(osfs.New(tmp), cache.NewObjectLRUDefault())
	src := &source{st: st, close: func() { _ = st.Close(); _ = os.RemoveAll(tmp) }}
	rem := git.NewRemote(st, &config.RemoteConfig{Name: "origin", URLs: []string{repo.URL}})
	err = rem.FetchContext(ctx, &git.FetchOptions{
		RefSpecs: []config.RefSpec{spec}, Depth: 1, Tags: git.NoTags, Auth: builtinAuth(repo),
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		src.close()
		return nil, err
	}
	return src, nil
}

// openLocal opens the local repository at path p (found as git's upload-pack finds it) read-only.
func (c *Cache) openLocal(p string) (*source, error) {
	dir, err := localGitDir(p)
	if err != nil {
		return nil, fmt.Errorf("%s is not a git repository this server can read", p)
	}
	st := filesystem.NewStorage(osfs.New(dir), cache.NewObjectLRUDefault())
	return &source{st: st, close: func() { _ = st.Close() }}, nil
}

func builtinAuth(repo executor.Repo) transport.AuthMethod {
	if tokenFor(repo.URL, repo.Token) == "" {
		return nil
	}
	return &githttp.BasicAuth{Username: TokenUser, Password: repo.Token}
}

// builtinError says what failed in the words the git path uses, without the token or URL user info.
func builtinError(err error, repo executor.Repo, branch string) error {
	u := RedactURL(repo.URL)
	var noRef git.NoMatchingRefSpecError
	switch {
	case errors.Is(err, ErrNoGit):
		return fmt.Errorf("gitsource: fetch %s: %w", u, err)
	case errors.As(err, &noRef), errors.Is(err, plumbing.ErrReferenceNotFound), errors.Is(err, transport.ErrEmptyRemoteRepository):
		return &BranchNotFoundError{Branch: branch, URL: u}
	case errors.Is(err, transport.ErrAuthenticationRequired) && repo.Token != "":
		return &scrubbedError{msg: fmt.Sprintf("gitsource: fetch %s: the repository token was not accepted", u), err: err}
	case errors.Is(err, transport.ErrAuthenticationRequired):
		return &scrubbedError{msg: fmt.Sprintf("gitsource: fetch %s: authentication required (the repository is private and the runner has no token)", u), err: err}
	case errors.Is(err, transport.ErrAuthorizationFailed):
		return &scrubbedError{msg: fmt.Sprintf("gitsource: fetch %s: access denied (the repository token may not have read permission)", u), err: err}
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return &scrubbedError{msg: fmt.Sprintf("gitsource: fetch %s: repository not found (or not visible with the runner's token)", u), err: err}
	}
	return &scrubbedError{msg: fmt.Sprintf("gitsource: fetch %s: %s", u, Scrub(err.Error(), repo.Token)), err: err}
}

// scrubbedError is an error whose text has been scrubbed of secrets; its cause (Unwrap) has not, and is for
// errors.Is only.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// extractBuiltin writes commit's tree from st into a fresh directory, as extractRaw does from the mirror: the
// same entries in the same order (each directory before what it holds, in the tree's order), the same checks.
func (c *Cache) extractBuiltin(ctx context.Context, m *mirror, st storer.EncodedObjectStorer, commit string) (*tree, error) {
	t, err := c.extractInto(m, commit, func(dir string) ([]entry, error) {
		co, err := object.GetCommit(st, plumbing.NewHash(commit))
		if err != nil {
			return nil, fmt.Errorf("read commit: %w", err)
		}
		w := &treeWriter{ctx: ctx, st: st, dir: dir, dirs: map[string]bool{".": true}}
		if err := w.walk(co.TreeHash, ""); err != nil {
			return nil, err
		}
		return w.entries, nil
	})
	if err != nil {
		return nil, fmt.Errorf("gitsource: extract %.12s of %s: %w", commit, RedactURL(m.url), err)
	}
	return t, nil
}

type treeWriter struct {
	ctx     context.Context
	st      storer.EncodedObjectStorer
	dir     string
	dirs    map[string]bool
	entries []entry
	inline  int
}

func (w *treeWriter) walk(h plumbing.Hash, prefix string) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	tr, err := object.GetTree(w.st, h)
	if err != nil {
		return fmt.Errorf("read tree %s: %w", prefix, err)
	}
	for _, te := range tr.Entries {
		name := te.Name
		if prefix != "" {
			name = prefix + "/" + te.Name
		}
		mode, skip, err := entryMode(fmt.Sprintf("%06o", uint32(te.Mode)), name)
		if err != nil {
			return err
		}
		if skip {
			continue // a gitlink: submodules are not fetched
		}
		if err := checkEntryName(w.dirs, name, mode); err != nil {
			return err
		}
		e := entry{name: name, mode: mode}
		p := filepath.Join(w.dir, filepath.FromSlash(name))
		if mode.IsDir() {
			if err := os.Mkdir(p, 0o755); err != nil {
				return err
			}
			w.entries = append(w.entries, e)
			if err := w.walk(te.Hash, name); err != nil {
				return err
			}
			continue
		}
		if err := w.blob(&e, te.Hash, p); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		w.entries = append(w.entries, e)
	}
	return nil
}

// blob writes e's content at p (a symlink, or a read-only file), keeping small files and link targets in e.
func (w *treeWriter) blob(e *entry, h plumbing.Hash, p string) error {
	obj, err := w.st.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return err
	}
	r, err := obj.Reader()
	if err != nil {
		return err
	}
	defer r.Close()
	size := obj.Size()
	if e.mode&fs.ModeSymlink != 0 {
		if size > maxLinkTarget {
			return errors.New("symlink target too long")
		}
		b := make([]byte, size)
		if _, err := io.ReadFull(r, b); err != nil {
			return err
		}
		e.link = string(b)
		return os.Symlink(e.link, p)
	}
	return writeBlob(r, p, e, size, &w.inline)
}
