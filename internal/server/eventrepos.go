package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/gitsource"
	"github.com/runplane/runplane/internal/store"
)

// eventRepos reads files of a runner's repository for event rules (events.Repositories): the runner's URL, branch
// and token, through the server's git cache.
type eventRepos struct {
	st  store.Store
	git *gitsource.Cache
}

func (r eventRepos) ReadFiles(ctx context.Context, runner, commit string, paths []string, max int) (map[string][]byte, error) {
	rn, err := r.st.GetRunner(ctx, runner)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("runner %q not found", runner)
	}
	if err != nil {
		return nil, err
	}
	if rn.GitURL == "" {
		return nil, fmt.Errorf("runner %q has no repository", runner)
	}
	files, _, err := r.git.ReadFiles(ctx, executor.Repo{URL: rn.GitURL, Branch: rn.Branch, Token: rn.Token}, commit, paths, max)
	if err != nil {
		return nil, fmt.Errorf("runner %q: %w", runner, err)
	}
	return files, nil
}
