package statestore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/runplane/runplane/internal/gitsource"
)

// fetchedRemote is a repository elsewhere: its branch is fetched (one commit deep) into a private bare
// repository, whose objects the commits are built on, and pushed to. http(s) is spoken in process by go-git, with
// basic auth (a token is a password); ssh through the git CLI (its host key checking, known_hosts and key
// handling are OpenSSH's, as they were), on the same private repository.
type fetchedRemote struct {
	url, branch string
	dir         string // the private bare repository
	auth        gitsource.Auth
	home        string // git's HOME, for ssh
	st          *filesystem.Storage
}

var _ remote = (*fetchedRemote)(nil)

// tracking is where the fetched branch is kept in the private repository.
func (r *fetchedRemote) tracking() plumbing.ReferenceName {
	return plumbing.NewRemoteReferenceName("origin", r.branch)
}

func (r *fetchedRemote) open() error {
	if r.st != nil {
		return nil
	}
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		return err
	}
	st := filesystem.NewStorageWithOptions(osfs.New(r.dir), cache.NewObjectLRUDefault(), filesystem.Options{})
	if !isGitDir(r.dir) {
		if _, err := git.Init(st, nil); err != nil && !errors.Is(err, git.ErrRepositoryAlreadyExists) {
			return fmt.Errorf("init %s: %w", r.dir, err)
		}
	}
	r.st = st
	return nil
}

func (r *fetchedRemote) objects() storer.EncodedObjectStorer { return r.st }

func (r *fetchedRemote) forget() {
	if r.st != nil {
		r.st.Reindex()
	}
}

func (r *fetchedRemote) httpAuth() transport.AuthMethod {
	if r.auth.Password == "" {
		return nil
	}
	user := r.auth.Username
	if user == "" {
		user = gitsource.TokenUser
	}
	return &githttp.BasicAuth{Username: user, Password: r.auth.Password}
}

func (r *fetchedRemote) head(ctx context.Context) (plumbing.Hash, error) {
	if err := r.open(); err != nil {
		return plumbing.ZeroHash, err
	}
	track := r.tracking()
	if isSSHURL(r.url) {
		_, err := r.cli().Run(ctx, r.dir, nil, "fetch", "-q", "--no-tags", "--no-write-fetch-head", "--depth=1", "--",
			r.url, "+refs/heads/"+r.branch+":"+track.String())
		switch {
		case err == nil:
		case noRemoteRef(gitsource.Stderr(err)):
			_ = r.st.RemoveReference(track)
			return plumbing.ZeroHash, nil
		default:
			return plumbing.ZeroHash, err
		}
		r.st.Reindex()
	} else {
		rem := git.NewRemote(r.st, &config.RemoteConfig{Name: "origin", URLs: []string{r.url}})
		err := rem.FetchContext(ctx, &git.FetchOptions{
			RefSpecs: []config.RefSpec{config.RefSpec("+refs/heads/" + r.branch + ":" + track.String())},
			Depth:    1, Tags: git.NoTags, Auth: r.httpAuth(), Force: true,
		})
		var noRef git.NoMatchingRefSpecError
		switch {
		case err == nil, errors.Is(err, git.NoErrAlreadyUpToDate):
		case errors.As(err, &noRef), errors.Is(err, transport.ErrEmptyRemoteRepository):
			_ = r.st.RemoveReference(track)
			return plumbing.ZeroHash, nil
		default:
			return plumbing.ZeroHash, fetchError(r.url, err)
		}
	}
	ref, err := r.st.Reference(track)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return ref.Hash(), nil
}

func (r *fetchedRemote) push(ctx context.Context, ov *overlay, old, new plumbing.Hash) error {
	if err := r.open(); err != nil {
		return err
	}
	if isSSHURL(r.url) {
		if err := ov.flush(r.st); err != nil {
			return err
		}
		lease := "--force-with-lease=refs/heads/" + r.branch + ":"
		if !old.IsZero() {
			lease += old.String()
		}
		if _, err := r.cli().Run(ctx, r.dir, nil, "push", "-q", "--no-verify", lease, "--", r.url,
			new.String()+":refs/heads/"+r.branch); err != nil {
			if moved(gitsource.Stderr(err)) {
				return fmt.Errorf("%w: %v", errMoved, err)
			}
			return err
		}
	} else {
		if err := sendPack(ctx, r.url, r.httpAuth(), ov, branchRef(r.branch), old, new); err != nil {
			return err
		}
		if err := ov.flush(r.st); err != nil {
			return err
		}
	}
	return r.st.SetReference(plumbing.NewHashReference(r.tracking(), new))
}

// cli is the git CLI on the private repository, for ssh.
func (r *fetchedRemote) cli() gitsource.Command {
	return gitsource.Command{Home: r.home, Remote: r.url, Auth: r.auth, Config: []string{"core.fsync=none", "gc.auto=0"}}
}

func noRemoteRef(stderr string) bool { return strings.Contains(stderr, "couldn't find remote ref") }
