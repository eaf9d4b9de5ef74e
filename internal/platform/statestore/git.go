package statestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/gitsource"
)

// gitWriter writes into one GitStateStore through the repository it shares with every store of the same URL and
// branch.
type gitWriter struct {
	store api.StateStore
	auth  gitsource.Auth
	repo  *gitRepo
}

var _ Writer = (*gitWriter)(nil)

func (w *gitWriter) Write(ctx context.Context, ps ...Placement) (Result, error) {
	return w.submit(ctx, ps, false)
}

func (w *gitWriter) Delete(ctx context.Context, ps ...Placement) (Result, error) {
	return w.submit(ctx, ps, true)
}

func (w *gitWriter) submit(ctx context.Context, ps []Placement, del bool) (Result, error) {
	for _, p := range ps {
		if err := checkStore(p, api.KindGitStateStore, w.store.Name); err != nil {
			return Result{Store: w.store.Name}, err
		}
		if err := p.check(); err != nil {
			return Result{Store: w.store.Name}, fmt.Errorf("git state store %s: %w", w.store.Name, err)
		}
	}
	op := &gitOp{w: w, ps: ps, del: del, done: make(chan struct{})}
	return w.repo.do(ctx, op)
}

// gitOp is one Write or Delete waiting for, or taking part in, a commit.
type gitOp struct {
	w    *gitWriter
	ps   []Placement
	del  bool
	done chan struct{}
	res  Result
	err  error
}

// gitRepo is one repository and branch: its private work tree and the queue of changes to commit to it. Changes
// queued while a commit is made go into the next one together (a group commit): the caller that finds no commit
// under way makes them all, one batch after another, until the queue is empty.
type gitRepo struct {
	url, branch string
	work, home  string
	opts        *Options

	mu      sync.Mutex
	queue   []*gitOp
	leading bool

	// pushed: the work tree and HEAD are exactly this commit, which is the remote branch's head as this writer last
	// saw it (it pushed it, or found nothing to commit on top of it); "" when unknown. The next commit is made on
	// top of it without fetching first, and pushed with a lease on it: if the branch moved meanwhile (another
	// writer, or a hand-made rewind) the push is refused and the attempt starts again from a fetch. Only the
	// leader reads and writes it.
	pushed string
}

// workConfig applies to every git command in a work tree: its files and objects need no fsync (the pushed
// commit is the durable copy), and no automatic gc runs while a caller waits.
var workConfig = []string{"core.fsync=none", "gc.auto=0"}

// do queues op and returns when it is committed and pushed, or failed. If ctx ends first, do returns ctx's error;
// the change may still be made (Write and Delete are idempotent).
func (r *gitRepo) do(ctx context.Context, op *gitOp) (Result, error) {
	r.mu.Lock()
	r.queue = append(r.queue, op)
	lead := !r.leading
	r.leading = true
	r.mu.Unlock()
	if lead {
		r.lead(ctx)
	}
	select {
	case <-op.done:
		return op.res, op.err
	case <-ctx.Done():
		return Result{Store: op.w.store.Name}, ctx.Err()
	}
}

// lead makes commits until the queue is empty. The git commands run under a context of their own, so that one
// caller giving up does not fail the others' changes.
func (r *gitRepo) lead(ctx context.Context) {
	base := context.WithoutCancel(ctx)
	for {
		r.mu.Lock()
		batch := r.takeBatch()
		if len(batch) == 0 {
			r.leading = false
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
		bctx, cancel := context.WithTimeout(base, r.opts.Timeout)
		r.commit(bctx, batch)
		cancel()
	}
}

// takeBatch takes the longest prefix of the queue made with the same author and credentials (so one commit has
// one author and one push one identity), at most MaxBatch changes.
func (r *gitRepo) takeBatch() []*gitOp {
	n := 0
	for n < len(r.queue) && n < r.opts.MaxBatch {
		a, b := r.queue[0].w, r.queue[n].w
		if a.store.GitAuthor != b.store.GitAuthor || a.auth != b.auth {
			break
		}
		n++
	}
	batch := r.queue[:n:n]
	r.queue = r.queue[n:]
	return batch
}

// commit makes one commit of batch and pushes it, again on top of the remote's branch when another writer moved
// it, up to MaxAttempts times.
func (r *gitRepo) commit(ctx context.Context, batch []*gitOp) {
	var err error
	for attempt := 1; attempt <= r.opts.MaxAttempts; attempt++ {
		var sha string
		var live []*gitOp
		sha, live, err = r.attempt(ctx, batch, attempt)
		if err == nil {
			for _, op := range live {
				op.res.Version = sha
				close(op.done)
			}
			return
		}
		if errors.Is(err, errReplan) {
			attempt--
			continue
		}
		if !errors.Is(err, errMoved) || ctx.Err() != nil {
			break
		}
		r.opts.Logger.Debug("git state store moved while pushing; trying again on top of it",
			"url", gitsource.RedactURL(r.url), "branch", r.branch, "attempt", attempt)
	}
	for _, op := range batch {
		select {
		case <-op.done: // failed on its own already
		default:
			op.err = fmt.Errorf("git state store %s: %w", op.w.store.Name, err)
			close(op.done)
		}
	}
}

// errReplan: an op of the batch failed after changing the work tree; the batch starts again without it.
var errReplan = errors.New("replan")

// errMoved: the push was refused because the branch moved.
var errMoved = errors.New("the remote branch moved")

// attempt brings the work tree to the remote branch's head, applies every op of batch, commits and pushes. An op
// whose placements cannot be planned fails alone (its done is closed); live are the others.
func (r *gitRepo) attempt(ctx context.Context, batch []*gitOp, n int) (sha string, live []*gitOp, err error) {
	first := batch[0].w
	git := gitsource.Command{Home: r.home, Remote: r.url, Auth: first.auth, Env: authorEnv(first.store.GitAuthor),
		Config: workConfig}
	run := func(args ...string) ([]byte, error) { return git.Run(ctx, r.work, nil, args...) }
	base, err := r.sync(ctx, git)
	r.pushed = "" // until this attempt is pushed, the work tree may differ from the remote
	if err != nil {
		return "", nil, err
	}
	t, err := openTree(r.work, false)
	if err != nil {
		return "", nil, err
	}
	defer t.Close()
	t.track = true
	var names []string
	deletes := true
	for _, op := range batch {
		select {
		case <-op.done:
			continue
		default:
		}
		res, perr := planAll(t, op)
		var inv *InvalidError
		if errors.As(perr, &inv) {
			// The op may have changed part of the tree: it fails alone, and the others start again without it.
			op.err = fmt.Errorf("git state store %s: %w", op.w.store.Name, perr)
			close(op.done)
			return "", nil, errReplan
		}
		if perr != nil {
			return "", nil, perr
		}
		op.res = res
		live = append(live, op)
		for _, w := range res.Placements {
			names = append(names, w.Name)
		}
		deletes = deletes && op.del
	}
	if len(live) == 0 {
		return "", nil, nil
	}
	if !t.changed {
		// Nothing changed (Kratix #691: "no changes to be committed" is not an error).
		r.pushed = base
		return base, live, nil
	}
	// The index is HEAD's (a reset or this writer's last commit made it): staging exactly the files the ops
	// wrote or removed is what "add -A" would find, without a scan of the tree or a process to ask whether
	// anything is staged.
	var stage bytes.Buffer
	for _, p := range t.touched {
		stage.WriteString(p)
		stage.WriteByte(0)
	}
	if _, err := git.Run(ctx, r.work, &stage, "update-index", "--add", "--remove", "-z", "--stdin"); err != nil {
		return "", nil, err
	}
	action := "Update"
	if deletes {
		action = "Delete"
	}
	if _, err := run("commit", "-q", "--no-verify", "--no-gpg-sign", "-m", commitMessage(action, names)); err != nil {
		if _, derr := run("diff", "--cached", "--quiet"); derr == nil {
			// What one op removed another wrote again as it was: nothing changed after all.
			r.pushed = base
			return base, live, nil
		}
		return "", nil, err
	}
	if r.opts.testHookBeforePush != nil {
		r.opts.testHookBeforePush(n)
	}
	head, err := r.head(run)
	if err != nil {
		return "", nil, err
	}
	// The lease: the branch must still be at base ("" = must not exist yet), or the push is refused as stale.
	lease := "--force-with-lease=refs/heads/" + r.branch + ":" + base
	if _, err := run("push", "-q", "--no-verify", lease, "--", r.url, "HEAD:refs/heads/"+r.branch); err != nil {
		if moved(gitsource.Stderr(err)) {
			return "", nil, fmt.Errorf("%w: %v", errMoved, err)
		}
		return "", nil, err
	}
	r.pushed = head
	return head, live, nil
}

// head is the work tree's HEAD commit: the branch's loose ref, which the commit just wrote, read without a
// process; rev-parse if it is not there.
func (r *gitRepo) head(run func(args ...string) ([]byte, error)) (string, error) {
	b, err := os.ReadFile(filepath.Join(r.work, ".git", "refs", "heads", filepath.FromSlash(r.branch)))
	if sha := strings.TrimSpace(string(b)); err == nil && isSHA(sha) {
		return sha, nil
	}
	out, err := run("rev-parse", "--verify", "HEAD")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// isSHA says s is a full object name (SHA-1 or SHA-256), lower-case hex.
func isSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// planAll plans and applies each placement of op in order, so that one reads what the one before it wrote (two
// placements of one aggregated file).
func planAll(t *tree, op *gitOp) (Result, error) {
	res := Result{Store: op.w.store.Name, Placements: []Written{}}
	for _, p := range op.ps {
		e, w, err := plan(t, storeRoot(op.w.store.Path), p, op.del)
		if err != nil {
			return res, err
		}
		if err := t.apply(e); err != nil {
			return res, err
		}
		res.Placements = append(res.Placements, w)
	}
	return res, nil
}

// storeRoot is a git store's path inside the repository, cleaned ("" for the root).
func storeRoot(p string) string {
	return strings.TrimPrefix(path.Clean("/"+p), "/")
}

// sync brings the work tree to the head of the remote branch, with nothing else in it: a fresh repository the
// first time, an empty branch when the remote has none yet. It returns that head ("" for no branch). A work tree
// still at the commit this writer last pushed is taken as it is, without a fetch: the push's lease finds out if
// the remote moved.
func (r *gitRepo) sync(ctx context.Context, git gitsource.Command) (string, error) {
	if r.pushed != "" {
		return r.pushed, nil
	}
	run := func(args ...string) ([]byte, error) { return git.Run(ctx, r.work, nil, args...) }
	if _, err := os.Stat(filepath.Join(r.work, ".git")); err != nil {
		if err := os.MkdirAll(r.work, 0o700); err != nil {
			return "", err
		}
		if _, err := run("init", "-q", "-b", r.branch, "."); err != nil {
			return "", err
		}
		// Checkouts are the commits' bytes: no in-tree .gitattributes conversion, filter or encoding applies.
		attrs := "* -text -filter -ident !eol !working-tree-encoding\n"
		if err := os.WriteFile(filepath.Join(r.work, ".git", "info", "attributes"), []byte(attrs), 0o600); err != nil {
			return "", err
		}
	}
	ref := "refs/remotes/origin/" + r.branch
	base := ""
	_, err := run("fetch", "-q", "--no-tags", "--no-write-fetch-head", "--", r.url, "+refs/heads/"+r.branch+":"+ref)
	switch {
	case err == nil:
		if _, err := run("reset", "-q", "--hard", ref); err != nil {
			return "", err
		}
		out, err := run("rev-parse", "--verify", "HEAD")
		if err != nil {
			return "", err
		}
		base = strings.TrimSpace(string(out))
	case strings.Contains(gitsource.Stderr(err), "couldn't find remote ref"):
		// An empty repository, or no such branch yet: the first commit starts it.
		_, _ = run("update-ref", "-d", ref)
		if _, err := run("symbolic-ref", "HEAD", "refs/heads/"+r.branch); err != nil {
			return "", err
		}
		_, _ = run("update-ref", "-d", "refs/heads/"+r.branch)
		if _, err := run("read-tree", "--empty"); err != nil {
			return "", err
		}
	default:
		return "", err
	}
	_, err = run("clean", "-q", "-f", "-d", "-x")
	return base, err
}

// moved reports whether a push's stderr says the branch moved under it (rather than that access was denied).
func moved(stderr string) bool {
	for _, s := range []string{"Updates were rejected", "[rejected]", "fetch first", "non-fast-forward", "stale info", "cannot lock ref",
		"reference already exists", "failed to update ref", "incorrect old value"} {
		if strings.Contains(stderr, s) {
			return true
		}
	}
	return false
}

// commitMessage is Kratix's ("Update from: <workplacement>"), naming every placement of a group commit.
func commitMessage(action string, names []string) string {
	const show = 5
	if len(names) <= show {
		return action + " from: " + strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s from: %s and %d more\n\n%s", action, strings.Join(names[:show], ", "), len(names)-show,
		strings.Join(names, "\n"))
}

// authorEnv sets author and committer (Kratix's gitAuthor; name default kratix).
func authorEnv(a api.GitAuthor) []string {
	name := a.Name
	if name == "" {
		name = api.DefaultGitAuthor
	}
	email := a.Email
	return []string{"GIT_AUTHOR_NAME=" + name, "GIT_AUTHOR_EMAIL=" + email,
		"GIT_COMMITTER_NAME=" + name, "GIT_COMMITTER_EMAIL=" + email}
}
