package gitsource

import (
	"context"
	"fmt"
	"strings"

	"github.com/runplane/runplane/internal/executor"
)

// Head returns the commit repo's branch (default "main") is at, without fetching it: the probe where it can
// tell (refs on disk, one ref advertisement over HTTP; within the TTL the last answer, and one probe shared by the
// callers asking at once, as for checkouts), else `git ls-remote` (without git: a listing by the built-in client). A missing branch is a
// *BranchNotFoundError. Executors that check out elsewhere (in a pod) use it to fail early and name the commit.
// Errors never contain the token or URL user info.
func (c *Cache) Head(ctx context.Context, repo executor.Repo) (string, error) {
	branch, err := checkRepo(repo)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	commit, ok, err := c.headLocked(ctx, repo, branch)
	c.mu.Unlock()
	if ok {
		return commit, err
	}
	if c.builtin {
		return c.headBuiltin(ctx, repo, branch)
	}
	ref := "refs/heads/" + branch
	out, err := c.runGit(ctx, "", tokenFor(repo.URL, repo.Token), "ls-remote", "--", repo.URL, ref)
	if err != nil {
		return "", fmt.Errorf("gitsource: list %s: %w", RedactURL(repo.URL), err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		oid, name, ok := strings.Cut(line, "\t")
		if ok && name == ref && isHex(oid) {
			return oid, nil
		}
	}
	return "", &BranchNotFoundError{Branch: branch, URL: RedactURL(repo.URL)}
}
