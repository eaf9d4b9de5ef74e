package gitsource

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/runplane/runplane/internal/executor"
)

// ErrBranchNotFound: the repository has no such branch. Errors from Checkout match it with errors.Is.
var ErrBranchNotFound = errors.New("gitsource: branch not found")

// BranchNotFoundError says which branch is missing where (the URL without credentials).
type BranchNotFoundError struct {
	Branch, URL string
}

func (e *BranchNotFoundError) Error() string {
	return fmt.Sprintf("branch %q not found in %s", e.Branch, e.URL)
}

// Is makes errors.Is(err, ErrBranchNotFound) true.
func (e *BranchNotFoundError) Is(target error) bool { return target == ErrBranchNotFound }

// Options tune a Cache. The zero value works.
type Options struct {
	// TTL is how long a check of the branch head may be reused. Zero checks it for every checkout: a probe
	// (the refs read from disk for a local repository; one ref advertisement request over HTTP(S)) names the
	// head commit, and there is no fetch if its tree is extracted already. Where the probe cannot tell (ssh,
	// errors), every checkout fetches. Either way, concurrent checkouts of one repository branch share one probe
	// or fetch that started after they asked.
	TTL time.Duration
	// FetchTimeout bounds one fetch and tree extraction; default 10 minutes.
	FetchTimeout time.Duration
	// KeepTrees is how many extracted commit trees to keep per repository; default 4.
	KeepTrees int
	Logger    *slog.Logger
	Now       func() time.Time
}

// Cache keeps bare mirrors and extracted trees under one directory, which it owns. It is safe for concurrent use.
type Cache struct {
	dir, home, mirrors, trees string
	opts                      Options
	log                       *slog.Logger
	now                       func() time.Time

	mu       sync.Mutex
	repos    map[string]*mirror       // by URL
	branches map[branchKey]*branchRef // by URL, branch and token
	client   *http.Client             // for probes
	builtin  bool                     // no git binary: repositories are read with go-git (builtin.go)

	testHookFetched func()              // called after each fetch; tests only
	testHookProbe   func() error        // called before each probe, an error fails it; tests only
	testHookGit     func(gitInvocation) // sees every git command run through runGit; tests only
}

// mirror is one bare repository; mu serialises the git commands that change it.
type mirror struct {
	mu    sync.Mutex
	url   string // as given, may hold user info: never log it
	dir   string
	trees map[string]*tree // by commit; guarded by Cache.mu
}

// New opens (creating it 0700) the cache directory dir, which must belong to this process's user; a looser mode
// of it or of its subdirectories is tightened to 0700. Extracted trees of an earlier process are discarded;
// mirrors are kept and stale git lock files in them removed.
func New(dir string, opts Options) (*Cache, error) {
	if opts.FetchTimeout <= 0 {
		opts.FetchTimeout = 10 * time.Minute
	}
	if opts.KeepTrees <= 0 {
		opts.KeepTrees = 4
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("gitsource: %w", err)
	}
	c := &Cache{
		dir: abs, home: filepath.Join(abs, "home"), mirrors: filepath.Join(abs, "mirrors"), trees: filepath.Join(abs, "trees"),
		opts: opts, log: log, now: opts.Now,
		repos: map[string]*mirror{}, branches: map[branchKey]*branchRef{}, client: newProbeClient(),
	}
	if err := os.RemoveAll(c.trees); err != nil {
		return nil, fmt.Errorf("gitsource: remove old trees: %w", err)
	}
	for _, d := range []string{c.dir, c.home, c.mirrors, c.trees} {
		if err := privateDir(d); err != nil {
			return nil, fmt.Errorf("gitsource: %w", err)
		}
	}
	removeStaleLocks(c.mirrors)
	if c.builtin = !hasGit(); c.builtin {
		log.Info("no git on PATH: repositories are read with the built-in git client (http, https and file URLs only)")
	}
	return c, nil
}

// removeStaleLocks deletes *.lock files a killed git left in the mirrors; only this process uses them.
func removeStaleLocks(root string) {
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && d.Name() == "objects" {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".lock") {
			_ = os.Remove(p)
		}
		return nil
	})
}

// Checkout fetches repo's branch (default api.DefaultBranch) and writes the tree of its head commit into dst,
// which must not exist or be empty. It returns the commit. Errors never contain the token or URL user info.
func (c *Cache) Checkout(ctx context.Context, repo executor.Repo, dst string) (commit string, err error) {
	return c.CheckoutWith(ctx, repo, dst, CheckoutOptions{})
}

// CheckoutOptions change how Checkout writes the files. The zero value is Checkout's behaviour.
type CheckoutOptions struct {
	// Chown gives dst and every directory, file and symlink written into it to UID:GID (a job's user), as they
	// are created: nothing is ever owned by the server in between.
	Chown    bool
	UID, GID int
}

// CheckoutWith is Checkout with options.
func (c *Cache) CheckoutWith(ctx context.Context, repo executor.Repo, dst string, opts CheckoutOptions) (commit string, err error) {
	return c.withTree(ctx, repo, "", "write checkout of", func(t *tree) error { return t.copyTo(dst, opts) })
}

// withTree calls use with the extracted tree of repo at commit (at its branch's head when commit is ""), held for
// the call, and returns the commit; a tree the cache evicts before it is held is resolved again. use's error is
// wrapped as "gitsource: <what> <redacted URL>: ...".
func (c *Cache) withTree(ctx context.Context, repo executor.Repo, commit, what string, use func(*tree) error) (string, error) {
	branch, err := checkRepo(repo)
	if err != nil {
		return "", err
	}
	m := c.mirror(repo.URL)
	for range 3 {
		at, t, err := c.treeOf(ctx, m, repo, branch, commit)
		if errors.Is(err, errTreeGone) {
			continue
		}
		if err != nil {
			return "", err
		}
		err = use(t)
		c.release(t)
		if err != nil {
			return "", fmt.Errorf("gitsource: %s %s: %w", what, RedactURL(repo.URL), err)
		}
		return at, nil
	}
	return "", fmt.Errorf("gitsource: %s %s: tree evicted repeatedly", what, RedactURL(repo.URL))
}

func (c *Cache) mirror(u string) *mirror {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.repos[u]
	if m == nil {
		sum := sha256.Sum256([]byte(u))
		m = &mirror{url: u, dir: filepath.Join(c.mirrors, hex.EncodeToString(sum[:16])+".git"), trees: map[string]*tree{}}
		c.repos[u] = m
	}
	return m
}

// update fetches branch into m, resolves it and makes sure its tree is extracted. It runs in a flight.
func (c *Cache) update(ctx context.Context, m *mirror, repo executor.Repo, branch string) (string, *tree, error) {
	if c.builtin {
		return c.updateBuiltin(ctx, m, repo, branch)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	start := c.now()
	if err := c.initMirror(ctx, m); err != nil {
		return "", nil, err
	}
	if err := c.sealMirror(m); err != nil {
		return "", nil, err
	}
	ref := "refs/heads/" + branch
	_, err := c.runGit(ctx, m.dir, tokenFor(repo.URL, repo.Token), "fetch", "--quiet", "--no-tags", "--no-write-fetch-head",
		"--no-recurse-submodules", "--", repo.URL, "+"+ref+":"+ref)
	if err != nil {
		var ge *gitError
		if errors.As(err, &ge) && strings.Contains(ge.stderr, "couldn't find remote ref") {
			return "", nil, &BranchNotFoundError{Branch: branch, URL: RedactURL(repo.URL)}
		}
		return "", nil, fmt.Errorf("gitsource: fetch %s: %w", RedactURL(repo.URL), err)
	}
	if c.testHookFetched != nil {
		c.testHookFetched()
	}
	out, err := c.runGit(ctx, m.dir, "", "rev-parse", "--verify", "--end-of-options", ref+"^{commit}")
	if err != nil {
		return "", nil, fmt.Errorf("gitsource: resolve %s in %s: %w", branch, RedactURL(repo.URL), err)
	}
	commit := strings.TrimSpace(string(out))
	if !isHex(commit) {
		return "", nil, fmt.Errorf("gitsource: resolve %s in %s: unexpected output %q", branch, RedactURL(repo.URL), commit)
	}
	t, err := c.extract(ctx, m, commit)
	if err != nil {
		return "", nil, err
	}
	c.log.Debug("fetched", "url", RedactURL(repo.URL), "branch", branch, "commit", commit, "took", c.now().Sub(start))
	return commit, t, nil
}

// initMirror creates m's bare repository if needed, atomically (a crash leaves no half-made mirror).
func (c *Cache) initMirror(ctx context.Context, m *mirror) error {
	if _, err := os.Stat(filepath.Join(m.dir, "HEAD")); err == nil {
		return nil
	}
	tmp, err := os.MkdirTemp(c.mirrors, ".init-")
	if err != nil {
		return fmt.Errorf("gitsource: %w", err)
	}
	defer os.RemoveAll(tmp)
	if _, err := c.runGit(ctx, "", "", "init", "--quiet", "--bare", "--", tmp); err != nil {
		return fmt.Errorf("gitsource: init mirror: %w", err)
	}
	// The config is the server's own from the start, whatever this git's init writes.
	if err := os.WriteFile(filepath.Join(tmp, "config"), []byte(mirrorConfig), 0o600); err != nil {
		return fmt.Errorf("gitsource: init mirror: %w", err)
	}
	_ = os.RemoveAll(m.dir)
	if err := os.Rename(tmp, m.dir); err != nil {
		return fmt.Errorf("gitsource: init mirror: %w", err)
	}
	return nil
}

// checkRepo validates repo's URL and branch and returns the branch to use (default "main").
func checkRepo(repo executor.Repo) (string, error) {
	branch := repo.Branch
	if branch == "" {
		branch = "main"
	}
	if err := validateURL(repo.URL); err != nil {
		return "", err
	}
	return branch, validateBranch(branch)
}

func validateURL(u string) error {
	if u == "" {
		return errors.New("gitsource: empty repository URL")
	}
	if u[0] == '-' {
		return errors.New("gitsource: repository URL must not start with '-'")
	}
	for _, r := range u {
		if r < 0x20 || r == 0x7f {
			return errors.New("gitsource: repository URL contains control characters")
		}
	}
	if i := strings.Index(u, "::"); i > 0 && strings.Trim(u[:i], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-") == "" {
		return fmt.Errorf("gitsource: repository URL %s: transport helpers are not allowed", RedactURL(u))
	}
	return nil
}

func validateBranch(b string) error {
	bad := len(b) > 255 || b[0] == '-' || b[0] == '/' || strings.HasSuffix(b, "/") || strings.HasSuffix(b, ".lock") ||
		strings.Contains(b, "..") || strings.Contains(b, "//") || strings.Contains(b, "@{") || b == "@"
	for _, r := range b {
		if r <= ' ' || r == 0x7f || strings.ContainsRune("~^:?*[\\", r) {
			bad = true
		}
	}
	if bad {
		return fmt.Errorf("gitsource: invalid branch name %q", b)
	}
	return nil
}

func isHex(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}
