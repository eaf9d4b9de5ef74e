package statestore

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

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

// gitRepo is one repository and branch, and the queue of changes to commit to it. Changes queued while a commit
// is made go into the next one together (a group commit): the caller that finds no commit under way makes them
// all, one batch after another, until the queue is empty.
//
// Commits are made in process (go-git): the branch's tree is read from the repository's objects only along the
// paths a change touches, the changed directories become new tree objects, and the commit is pushed as one
// compare-and-swap of the branch from the head it was made on (--force-with-lease's semantics): a branch that
// moved meanwhile refuses it, and the change is made again on top of the new head.
type gitRepo struct {
	url, branch string
	dir, home   string // the private repository of a fetched remote; git's HOME for ssh
	opts        *Options

	mu      sync.Mutex
	queue   []*gitOp
	leading bool

	// Only the leader reads and writes what follows.
	rem remote
	// pushed: the branch's head as this writer last saw it (it pushed it, or found nothing to commit on top of
	// it), when valid. The next commit is made on top of it without reading the remote's head first, and pushed
	// under a lease on it: if the branch moved meanwhile (another writer, or a hand-made rewind) the push is
	// refused and the attempt starts again from the remote's head. root is pushed's tree as far as it was read,
	// kept so that the next commit reads nothing it read before.
	pushed plumbing.Hash
	valid  bool
	root   *objDir
}

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

// errReplan: an op of the batch failed after changing the tree; the batch starts again without it.
var errReplan = errors.New("replan")

// errMoved: the push was refused because the branch moved.
var errMoved = errors.New("the remote branch moved")

// attempt builds one commit of batch on the branch's head and pushes it. An op whose placements cannot be planned
// fails alone (its done is closed); live are the others.
func (r *gitRepo) attempt(ctx context.Context, batch []*gitOp, n int) (sha string, live []*gitOp, err error) {
	first := batch[0].w
	rem := r.remote(first.auth)
	base, root, err := r.sync(ctx, rem)
	r.valid, r.root = false, nil // until this attempt is pushed, the cached tree may differ from the remote's
	if err != nil {
		return "", nil, r.notFound(rem, err)
	}
	ov := newOverlay(rem.objects())
	t := &objTree{st: ov, root: root}
	before := root.hash
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
			return "", nil, r.notFound(rem, perr)
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
	after, err := t.write()
	if err != nil {
		return "", nil, err
	}
	if after == before {
		// Nothing changed (Kratix #691: "no changes to be committed" is not an error), or what one op removed
		// another wrote again as it was.
		r.pushed, r.valid, r.root = base, true, t.root
		return hashString(base), live, nil
	}
	action := "Update"
	if deletes {
		action = "Delete"
	}
	sig := signature(first.store.GitAuthor, time.Now())
	c := &object.Commit{Author: sig, Committer: sig, Message: commitMessage(action, names) + "\n", TreeHash: after}
	if !base.IsZero() {
		c.ParentHashes = []plumbing.Hash{base}
	}
	o := ov.NewEncodedObject()
	if err := c.Encode(o); err != nil {
		return "", nil, err
	}
	head, _ := ov.SetEncodedObject(o)
	if r.opts.testHookBeforePush != nil {
		r.opts.testHookBeforePush(n)
	}
	if err := rem.push(ctx, ov, base, head); err != nil {
		return "", nil, r.notFound(rem, err)
	}
	r.pushed, r.valid, r.root = head, true, t.root
	return head.String(), live, nil
}

// notFound turns a missing object (the repository was repacked or rewritten under this writer's view of it) into
// a retry from the remote's head, with the view dropped.
func (r *gitRepo) notFound(rem remote, err error) error {
	if errNotFound(err) {
		rem.forget()
		return fmt.Errorf("%w: %v", errMoved, err)
	}
	return err
}

// remote is the repository's remote, authenticating as auth.
func (r *gitRepo) remote(auth gitsource.Auth) remote {
	if r.rem == nil {
		if _, ok := localRepoPath(r.url); ok {
			r.rem = &localRemote{url: r.url, branch: r.branch, home: r.home, log: r.opts.Logger}
		} else {
			r.rem = &fetchedRemote{url: r.url, branch: r.branch, dir: r.dir, home: r.home}
		}
	}
	if f, ok := r.rem.(*fetchedRemote); ok {
		f.auth = auth
	}
	return r.rem
}

// sync returns the commit to build on and its tree: the one this writer last pushed, as it is cached, when
// valid; else the remote's head (an empty tree when the branch does not exist yet).
func (r *gitRepo) sync(ctx context.Context, rem remote) (plumbing.Hash, *objDir, error) {
	if r.valid && r.root != nil {
		return r.pushed, r.root, nil
	}
	base, err := rem.head(ctx)
	if err != nil {
		return base, nil, err
	}
	root := &objDir{}
	if !base.IsZero() {
		c, err := object.GetCommit(rem.objects(), base)
		if err != nil {
			return base, nil, fmt.Errorf("read commit %s: %w", short(base), err)
		}
		root.hash = c.TreeHash
	}
	return base, root, nil
}

func hashString(h plumbing.Hash) string {
	if h.IsZero() {
		return ""
	}
	return h.String()
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
func planAll(t *objTree, op *gitOp) (Result, error) {
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

// signature is the author and committer (Kratix's gitAuthor; name default kratix).
func signature(a api.GitAuthor, now time.Time) object.Signature {
	name := a.Name
	if name == "" {
		name = api.DefaultGitAuthor
	}
	return object.Signature{Name: name, Email: a.Email, When: now}
}
