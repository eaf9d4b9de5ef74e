package gitsource

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/runplane/runplane/internal/executor"
)

// errTreeGone: the tree a result names was evicted before the caller could use it; ask again.
var errTreeGone = errors.New("gitsource: tree evicted")

// branchKey names one fetchable thing. The token is part of it so that a result fetched (or probed) with one
// token is never handed to a caller with another (or none) without asking the server.
type branchKey struct {
	url, branch string
	token       [sha256.Size]byte
}

// branchRef coalesces the probes and the fetches of one branchKey, each kind in its own lane. seq numbers the
// flights of both lanes in the order they started. The freshness rule: a caller that saw br.seq == asked when it
// asked may use a flight f only if f.seq > asked (it started after the caller asked, so cannot return a commit
// older than the branch head then), or if f brings the commit that such a probe saw, or within the TTL.
type branchRef struct {
	probe, fetch lane
	seq          uint64
	last         *flight // the latest-started successful probe or fetch, reused within the TTL
}

// lane runs at most one flight at a time (cur); callers that arrive while it runs and cannot use its result
// share the next one (next), started when cur ends.
type lane struct {
	cur, next *flight
	timeout   time.Duration
}

// runFunc is the work of a flight: a probe (a commit, no tree) or a fetch + resolve + extract.
type runFunc func(context.Context) (commit string, t *tree, err error)

type flight struct {
	done    chan struct{}
	run     runFunc
	seq     uint64             // set when started
	started time.Time          // set when started
	cancel  context.CancelFunc // set when started
	waiters int                // guarded by Cache.mu
	// The result, set before done is closed.
	commit string
	tree   *tree
	err    error
}

// resolve returns the commit and the (acquired) tree for repo's branch; the caller must release the tree.
// In order: a freshness check within the TTL is reused; a probe names the head commit, and if its tree is
// extracted, or the mirror already holds it, there is nothing to fetch; else a fetch.
func (c *Cache) resolve(ctx context.Context, m *mirror, repo executor.Repo, branch string) (string, *tree, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	br := c.branchLocked(repo, branch)
	now := c.now()
	if f := br.last; c.opts.TTL > 0 && f != nil && now.Sub(f.started) < c.opts.TTL {
		if t := c.treeLocked(m, f); t != nil {
			return f.commit, t, nil
		}
	}
	asked := br.seq

	want := "" // the head commit, as a probe that started after the caller asked saw it
	if kind := probeKindOf(repo.URL); kind != probeNone {
		var f *flight
		if kind == probeLocal {
			// A few system calls: cheaper to run than to share (a goroutine hand-off costs as much).
			f = c.probeInlineLocked(ctx, br, c.probeFunc(repo, branch))
		} else {
			f = c.joinLocked(ctx, br, &br.probe, asked, c.probeFunc(repo, branch))
			if err := c.awaitLocked(ctx, &br.probe, f); err != nil {
				return "", nil, fmt.Errorf("gitsource: check %s: %w", RedactURL(repo.URL), err)
			}
		}
		if f.err == nil {
			if t := c.treeLocked(m, f); t != nil {
				return f.commit, t, nil
			}
			want = f.commit
			c.mu.Unlock()
			t, err := c.extractMirrored(ctx, m, branch, want)
			c.mu.Lock()
			if t != nil || err != nil {
				return want, t, err
			}
		}
	}

	run := func(ctx context.Context) (string, *tree, error) { return c.update(ctx, m, repo, branch) }
	var f *flight
	ttlOK := false
	if cur := br.fetch.cur; cur != nil && cur.seq <= asked {
		// It started before the caller asked, but may do: within the TTL, or if it brings the commit wanted.
		ttlOK = c.opts.TTL > 0 && now.Sub(cur.started) < c.opts.TTL
		if ttlOK || want != "" {
			f = cur
		}
	}
	if f == nil {
		f = c.joinLocked(ctx, br, &br.fetch, asked, run)
	}
	for {
		if err := c.awaitLocked(ctx, &br.fetch, f); err != nil {
			return "", nil, fmt.Errorf("gitsource: fetch %s: %w", RedactURL(repo.URL), err)
		}
		if f.seq > asked || ttlOK || f.err == nil && f.commit == want {
			break
		}
		f, ttlOK = c.joinLocked(ctx, br, &br.fetch, asked, run), false
	}
	if f.err != nil {
		return "", nil, f.err
	}
	if f.tree.removed {
		return "", nil, errTreeGone
	}
	c.acquireLocked(f.tree)
	return f.commit, f.tree, nil
}

// branchLocked returns the branchRef of repo's branch, making it if needed. c.mu must be held.
func (c *Cache) branchLocked(repo executor.Repo, branch string) *branchRef {
	key := branchKey{url: repo.URL, branch: branch}
	if repo.Token != "" {
		key.token = sha256.Sum256([]byte(repo.Token))
	}
	br := c.branches[key]
	if br == nil {
		br = &branchRef{probe: lane{timeout: probeTimeout}, fetch: lane{timeout: c.opts.FetchTimeout}}
		c.branches[key] = br
	}
	return br
}

// headLocked is the head commit of repo's branch as resolve would see it, without fetching: a probe or fetch
// within the TTL, else a probe shared with the callers asking at the same time. ok is false when a probe cannot
// say (no probe for this kind of URL, or it failed); err is a *BranchNotFoundError when it said there is no such
// branch. c.mu must be held.
func (c *Cache) headLocked(ctx context.Context, repo executor.Repo, branch string) (commit string, ok bool, err error) {
	br := c.branchLocked(repo, branch)
	if f := br.last; c.opts.TTL > 0 && f != nil && c.now().Sub(f.started) < c.opts.TTL {
		return f.commit, true, nil
	}
	var f *flight
	switch probeKindOf(repo.URL) {
	case probeNone:
		return "", false, nil
	case probeLocal:
		f = c.probeInlineLocked(ctx, br, c.probeFunc(repo, branch))
	default:
		f = c.joinLocked(ctx, br, &br.probe, br.seq, c.probeFunc(repo, branch))
		if err := c.awaitLocked(ctx, &br.probe, f); err != nil {
			return "", true, fmt.Errorf("gitsource: check %s: %w", RedactURL(repo.URL), err)
		}
	}
	switch {
	case f.err == nil:
		return f.commit, true, nil
	case errors.Is(f.err, errRefNotFound):
		return "", true, &BranchNotFoundError{Branch: branch, URL: RedactURL(repo.URL)}
	}
	return "", false, nil
}

// treeLocked acquires the tree of f's commit (a probe's commit may have been extracted by any earlier fetch of
// the mirror: a commit names its tree), or returns nil if there is none. c.mu must be held.
func (c *Cache) treeLocked(m *mirror, f *flight) *tree {
	t := f.tree
	if t == nil {
		t = m.trees[f.commit]
	}
	if t == nil || t.removed {
		return nil
	}
	c.acquireLocked(t)
	return t
}

// probeFunc returns the work of a probe flight. A failed probe only means "fetch"; it is logged, not returned.
func (c *Cache) probeFunc(repo executor.Repo, branch string) runFunc {
	return func(ctx context.Context) (string, *tree, error) {
		var commit string
		var err error
		if c.testHookProbe != nil {
			err = c.testHookProbe()
		}
		if err == nil {
			commit, err = c.probe(ctx, repo, branch)
		}
		if err != nil {
			c.log.Debug("probe failed, will fetch", "url", RedactURL(repo.URL), "branch", branch, "err", Scrub(err.Error(), repo.Token))
			return "", nil, err
		}
		return commit, nil, nil
	}
}

// extractMirrored returns commit's tree, extracting it, if the mirror's branch already is at commit (after a
// restart, or when the tree was evicted): nothing to fetch. It returns nil, nil if the mirror is elsewhere.
func (c *Cache) extractMirrored(ctx context.Context, m *mirror, branch, commit string) (*tree, error) {
	if at, err := readRef(m.dir, "refs/heads/"+branch); err != nil || at != commit {
		return nil, nil
	}
	m.mu.Lock()
	err := c.sealMirror(m)
	var t *tree
	if err == nil {
		t, err = c.extract(ctx, m, commit)
	}
	m.mu.Unlock()
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("gitsource: checkout of %s: %w", RedactURL(m.url), ctx.Err())
		}
		return nil, err
	}
	return c.acquire(t)
}

// joinLocked returns the flight of l that is valid for a caller that saw br.seq == asked: the running one if it
// started since, else the next one, which is queued behind the running one or started now. c.mu must be held.
func (c *Cache) joinLocked(ctx context.Context, br *branchRef, l *lane, asked uint64, run runFunc) *flight {
	switch {
	case l.cur == nil:
		l.cur = &flight{done: make(chan struct{}), run: run}
		c.startLocked(ctx, br, l, l.cur)
	case l.cur.seq > asked:
		return l.cur
	case l.next == nil:
		l.next = &flight{done: make(chan struct{}), run: run}
		return l.next
	default:
		return l.next
	}
	return l.cur
}

// probeInlineLocked runs a probe in the caller's goroutine, with c.mu released meanwhile (it is held on entry
// and on return). It counts as a flight of br: it has a place in the start order and may become br.last.
func (c *Cache) probeInlineLocked(ctx context.Context, br *branchRef, run runFunc) *flight {
	br.seq++
	f := &flight{seq: br.seq, started: c.now()}
	c.mu.Unlock()
	commit, t, err := run(ctx)
	c.mu.Lock()
	c.finishLocked(br, f, commit, t, err)
	return f
}

// finishLocked records f's result. c.mu must be held.
func (c *Cache) finishLocked(br *branchRef, f *flight, commit string, t *tree, err error) {
	f.commit, f.tree, f.err = commit, t, err
	if err == nil && (br.last == nil || f.seq > br.last.seq) {
		br.last = f
	}
}

// awaitLocked waits for f as one of its waiters, with c.mu released meanwhile (it is held on entry and on
// return). If ctx ends first the caller leaves; the last to leave a flight cancels it, or drops it if it has not
// started.
func (c *Cache) awaitLocked(ctx context.Context, l *lane, f *flight) error {
	f.waiters++
	c.mu.Unlock()
	select {
	case <-f.done:
		c.mu.Lock()
		f.waiters--
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		f.waiters--
		if f.waiters == 0 {
			if l.next == f {
				l.next = nil
			} else if f.cancel != nil {
				f.cancel()
			}
		}
		return ctx.Err()
	}
}

// startLocked runs f in its own goroutine, detached from any one caller's cancellation: it is cancelled when
// its last waiter gives up, or by the lane's timeout. c.mu must be held.
func (c *Cache) startLocked(ctx context.Context, br *branchRef, l *lane, f *flight) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.timeout)
	br.seq++
	f.seq, f.started, f.cancel = br.seq, c.now(), cancel
	go func() {
		commit, t, err := f.run(fctx)
		cancel()
		c.mu.Lock()
		defer c.mu.Unlock()
		c.finishLocked(br, f, commit, t, err)
		l.cur = nil
		if next := l.next; next != nil {
			l.next = nil
			l.cur = next
			c.startLocked(ctx, br, l, next)
		}
		close(f.done)
	}()
}
