package statestore

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	gitconfig "github.com/go-git/go-git/v5/plumbing/format/config"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/runplane/runplane/internal/gitsource"
)

// localRemote is a repository on this machine (a file:// URL). Its objects are read in place, with no fetch.
// A push to a plain bare repository — no hooks, the files ref backend, SHA-1 — is made in process as
// git-receive-pack makes it: the new objects written loose, then the branch moved under git's own ref lock
// (refs/heads/<branch>.lock, created exclusively), after checking that it is still at the old commit. Any other
// repository (hooks to run, a checked-out branch, another ref or object format) is pushed to through
// git-receive-pack, so that git applies its rules; which one a push gets is decided at each push.
type localRemote struct {
	url, branch string
	home        string // git's HOME, for gc
	log         *slog.Logger
	gitDir      string // "" until found
	st          *filesystem.Storage
	pushes      int
	gcRunning   atomic.Bool
}

var _ remote = (*localRemote)(nil)

// localRepoPath is the path of a file:// URL (or of an absolute path, which git takes as one).
func localRepoPath(u string) (string, bool) {
	if strings.HasPrefix(u, "/") {
		return u, true
	}
	if !strings.HasPrefix(u, "file://") {
		return "", false
	}
	p, err := url.Parse(u)
	if err != nil || (p.Host != "" && p.Host != "localhost") || !strings.HasPrefix(p.Path, "/") {
		return "", false
	}
	return p.Path, true
}

func (r *localRemote) open() error {
	if r.st != nil {
		return nil
	}
	p, _ := localRepoPath(r.url)
	gitDir := ""
	for _, cand := range []string{p + "/.git", p, p + ".git/.git", p + ".git"} {
		if isGitDir(cand) {
			gitDir = cand
			break
		}
	}
	if gitDir == "" {
		return fetchError(r.url, errors.New("not a git repository (or one this server cannot read)"))
	}
	r.gitDir = gitDir
	r.st = filesystem.NewStorageWithOptions(osfs.New(gitDir), cache.NewObjectLRUDefault(), filesystem.Options{})
	return nil
}

// isGitDir says dir holds a repository's HEAD, objects and refs.
func isGitDir(dir string) bool {
	for _, n := range []string{"HEAD", "objects", "refs"} {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			return false
		}
	}
	return true
}

// directPushable says a push to the repository at gitDir may be made in process: it is bare, with no hook that
// a push runs, and the formats git 2.x writes by default.
func directPushable(gitDir string) bool {
	b, err := os.ReadFile(filepath.Join(gitDir, "config"))
	if err != nil {
		return false
	}
	cfg := gitconfig.New()
	if err := gitconfig.NewDecoder(bytes.NewReader(b)).Decode(cfg); err != nil {
		return false
	}
	core := cfg.Section("core")
	if core.Option("bare") != "true" || core.Option("hookspath") != "" || core.Option("hooksPath") != "" {
		return false
	}
	if v := core.Option("repositoryformatversion"); v != "" && v != "0" && v != "1" {
		return false
	}
	if ext := cfg.Section("extensions"); len(ext.Options) > 0 {
		return false // objectFormat, refStorage, worktreeConfig...: not what this writer writes
	}
	for _, h := range []string{"pre-receive", "update", "post-receive", "post-update", "reference-transaction", "proc-receive", "push-to-checkout"} {
		if _, err := os.Stat(filepath.Join(gitDir, "hooks", h)); err == nil {
			return false
		}
	}
	if _, err := os.Stat(filepath.Join(gitDir, "objects", "info", "alternates")); err == nil {
		return false
	}
	return true
}

func (r *localRemote) objects() storer.EncodedObjectStorer { return r.st }

func (r *localRemote) forget() {
	if r.st != nil {
		r.st.Reindex()
	}
}

func (r *localRemote) head(ctx context.Context) (plumbing.Hash, error) {
	if err := r.open(); err != nil {
		return plumbing.ZeroHash, err
	}
	h, err := readRef(r.gitDir, branchRef(r.branch))
	if err != nil {
		return plumbing.ZeroHash, fetchError(r.url, err)
	}
	return h, nil
}

func (r *localRemote) push(ctx context.Context, ov *overlay, old, new plumbing.Hash) error {
	if err := r.open(); err != nil {
		return err
	}
	// Asked at every push: a hook may be installed at any time.
	if !directPushable(r.gitDir) {
		return sendPack(ctx, "file://"+r.gitDir, nil, ov, branchRef(r.branch), old, new)
	}
	if err := ov.flush(r.st); err != nil {
		return pushError(r.url, err)
	}
	if err := casRef(r.gitDir, branchRef(r.branch), old, new); err != nil {
		return err
	}
	r.pushes++
	if r.pushes%autoGCEvery == 0 {
		r.autoGC()
	}
	return nil
}

// autoGCEvery: git-receive-pack runs `git gc --auto` after every push (receive.autogc), which packs loose objects
// once there are enough of them; an in-process push leaves loose objects too, so every autoGCEvery-th one runs it,
// in the background (one at a time, never waited for: a repack under this writer only makes its next read find
// an object missing, which it recovers from). Without git on PATH, objects stay loose.
const autoGCEvery = 100

func (r *localRemote) autoGC() {
	if !r.gcRunning.CompareAndSwap(false, true) {
		return
	}
	gitDir, home, log := r.gitDir, r.home, r.log
	go func() {
		defer r.gcRunning.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		git := gitsource.Command{Home: home}
		if _, err := git.Run(ctx, gitDir, nil, "gc", "--auto", "--quiet"); err != nil && log != nil {
			log.Warn("git gc --auto in a git state store's repository failed", "dir", gitDir, "err", err)
		}
	}()
}

// readRef reads a ref as git's files backend stores it: a loose file, else a line of packed-refs. Zero when there
// is neither.
func readRef(gitDir string, name plumbing.ReferenceName) (plumbing.Hash, error) {
	b, err := os.ReadFile(filepath.Join(gitDir, filepath.FromSlash(name.String())))
	if err == nil {
		s := strings.TrimSpace(string(b))
		if !isSHA(s) || len(s) != 40 {
			return plumbing.ZeroHash, fmt.Errorf("%s: not a commit id (a symbolic ref?)", name)
		}
		return plumbing.NewHash(s), nil
	}
	if !errors.Is(err, fs.ErrNotExist) && !isNotDir(err) {
		return plumbing.ZeroHash, err
	}
	f, err := os.Open(filepath.Join(gitDir, "packed-refs"))
	if errors.Is(err, fs.ErrNotExist) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if sha, ref, ok := strings.Cut(line, " "); ok && ref == name.String() && isSHA(sha) && len(sha) == 40 {
			return plumbing.NewHash(sha), nil
		}
	}
	return plumbing.ZeroHash, sc.Err()
}

func isNotDir(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "not a directory")
}

// casRef moves ref from old (zero: it must not exist) to new, as git's files backend does: the lock file
// <ref>.lock is created exclusively (a writer holding it, git or another server, makes this one fail as moved),
// the ref is read under it and compared with old, and the lock, holding new, is renamed over the ref.
func casRef(gitDir string, ref plumbing.ReferenceName, old, new plumbing.Hash) error {
	p := filepath.Join(gitDir, filepath.FromSlash(ref.String()))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("git push: lock %s: %w", ref.Short(), err)
	}
	lock := p + ".lock"
	f, err := os.OpenFile(lock, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: cannot lock ref %s: another update holds it", errMoved, ref.Short())
	}
	if err != nil {
		return fmt.Errorf("git push: lock %s: %w", ref.Short(), err)
	}
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(lock)
		}
	}()
	cur, err := readRef(gitDir, ref)
	if err != nil {
		return fmt.Errorf("git push: read %s: %w", ref.Short(), err)
	}
	if cur != old {
		return fmt.Errorf("%w: %s is at %s, not at %s", errMoved, ref.Short(), short(cur), short(old))
	}
	if _, err := f.WriteString(new.String() + "\n"); err != nil {
		return fmt.Errorf("git push: write %s: %w", ref.Short(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("git push: write %s: %w", ref.Short(), err)
	}
	if err := os.Rename(lock, p); err != nil {
		return fmt.Errorf("git push: update %s: %w", ref.Short(), err)
	}
	done = true
	return nil
}
