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

// branchKey names one fetchable thing. The token is part of it so that a result fetched with one token is
// never handed to a caller with another (or none) without asking the server.
type branchKey struct {
	url, branch string
	token       [sha256.Size]byte
}

// branchRef coalesces fetches of one branchKey: at most one flight runs (cur); callers that arrive while it
// runs and cannot use its result (it started before they asked) share the next one, started when cur ends.
type branchRef struct {
	cur, next *flight
	last      *flight // the latest successful flight, reused within the TTL
}

// flight is one fetch + resolve + extract.
type flight struct {
	done    chan struct{}
	started time.Time
	waiters int                // guarded by Cache.mu
	cancel  context.CancelFunc // set when started
	commit  string
	tree    *tree
	err     error
}

// resolve returns the commit and the (acquired) tree for repo's branch, fetching as the TTL requires.
// The caller must release the tree.
func (c *Cache) resolve(ctx context.Context, m *mirror, repo executor.Repo, branch string) (string, *tree, error) {
	key := branchKey{url: repo.URL, branch: branch}
	if repo.Token != "" {
		key.token = sha256.Sum256([]byte(repo.Token))
	}
	c.mu.Lock()
	br := c.branches[key]
	if br == nil {
		br = &branchRef{}
		c.branches[key] = br
	}
	now := c.now()
	if f := br.last; c.opts.TTL > 0 && f != nil && now.Sub(f.started) < c.opts.TTL && !f.tree.removed {
		c.acquireLocked(f.tree)
		c.mu.Unlock()
		return f.commit, f.tree, nil
	}
	var f *flight
	switch {
	case br.cur == nil:
		f = &flight{done: make(chan struct{})}
		br.cur = f
		c.startLocked(ctx, br, f, m, repo, branch)
	case c.opts.TTL > 0 && now.Sub(br.cur.started) < c.opts.TTL:
		f = br.cur // started before we asked, but recently enough
	default:
		if br.next == nil {
			br.next = &flight{done: make(chan struct{})}
		}
		f = br.next
	}
	f.waiters++
	c.mu.Unlock()

	select {
	case <-f.done:
		c.mu.Lock()
		defer c.mu.Unlock()
		f.waiters--
		if f.err != nil {
			return "", nil, f.err
		}
		if f.tree.removed {
			return "", nil, errTreeGone
		}
		c.acquireLocked(f.tree)
		return f.commit, f.tree, nil
	case <-ctx.Done():
		c.mu.Lock()
		defer c.mu.Unlock()
		f.waiters--
		if f.waiters == 0 {
			if br.next == f {
				br.next = nil // never started
			} else if f.cancel != nil {
				f.cancel() // nobody wants it any more
			}
		}
		return "", nil, fmt.Errorf("gitsource: fetch %s: %w", RedactURL(repo.URL), ctx.Err())
	}
}

// startLocked runs f in its own goroutine, detached from any one caller's cancellation: it is cancelled when
// its last waiter gives up, or by FetchTimeout. c.mu must be held.
func (c *Cache) startLocked(ctx context.Context, br *branchRef, f *flight, m *mirror, repo executor.Repo, branch string) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.FetchTimeout)
	f.cancel = cancel
	f.started = c.now()
	go func() {
		commit, t, err := c.update(fctx, m, repo, branch)
		cancel()
		c.mu.Lock()
		defer c.mu.Unlock()
		f.commit, f.tree, f.err = commit, t, err
		if err == nil {
			br.last = f
		}
		br.cur = nil
		if next := br.next; next != nil {
			br.next = nil
			br.cur = next
			c.startLocked(ctx, br, next, m, repo, branch)
		}
		close(f.done)
	}()
}
