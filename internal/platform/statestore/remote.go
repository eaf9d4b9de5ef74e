package statestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"

	"github.com/runplane/runplane/internal/gitsource"
)

// remote is the repository a git state store's branch lives in, as the writer sees it.
//
// Every method is called by the repository's leader only (one at a time).
type remote interface {
	// objects is where the branch's trees are read: the repository's own store when it is local, a private copy of
	// what was fetched otherwise.
	objects() storer.EncodedObjectStorer
	// head brings objects up to the branch's head (fetching if need be) and returns it; zero when the branch (or
	// the repository's first commit) does not exist yet.
	head(ctx context.Context) (plumbing.Hash, error)
	// push sends the objects ov added and moves the branch from old (zero: it must not exist) to new, as one
	// compare-and-swap: errMoved (wrapped) when the branch is not at old. After a push, objects holds new.
	push(ctx context.Context, ov *overlay, old, new plumbing.Hash) error
	// forget drops what the remote cached of the repository (an object index), after a read found an object
	// missing: the repository was repacked.
	forget()
}

// sendPack pushes ov's objects and the update old → new of ref to url over one of go-git's transports (http(s)
// in process; file:// through git-receive-pack, so the repository's hooks and receive.* settings apply). The
// server checks old under its ref lock, which is --force-with-lease's check: errMoved when the branch moved.
func sendPack(ctx context.Context, url string, auth transport.AuthMethod, ov *overlay, ref plumbing.ReferenceName, old, new plumbing.Hash) error {
	ep, err := transport.NewEndpoint(url)
	if err != nil {
		return fmt.Errorf("git push %s: %w", gitsource.RedactURL(url), err)
	}
	cl, err := client.NewClient(ep)
	if err != nil {
		return fmt.Errorf("git push %s: %w", gitsource.RedactURL(url), err)
	}
	sess, err := cl.NewReceivePackSession(ep, auth)
	if err != nil {
		return pushError(url, err)
	}
	defer sess.Close()
	ar, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil && !errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return pushError(url, err)
	}
	caps := capability.NewList()
	cur := plumbing.ZeroHash
	if ar != nil {
		caps = ar.Capabilities
		refs, err := ar.AllReferences()
		if err != nil {
			return pushError(url, err)
		}
		if r, ok := refs[ref]; ok {
			cur = r.Hash()
		}
	}
	if cur != old {
		return fmt.Errorf("%w: %s is at %s, not at %s", errMoved, ref.Short(), short(cur), short(old))
	}
	req := packp.NewReferenceUpdateRequestFromCapabilities(caps)
	req.Commands = []*packp.Command{{Name: ref, Old: old, New: new}}
	var pack bytes.Buffer
	if _, err := packfile.NewEncoder(&pack, ov, !caps.Supports(capability.OFSDelta)).Encode(ov.added, 0); err != nil {
		return fmt.Errorf("git push %s: pack: %w", gitsource.RedactURL(url), err)
	}
	req.Packfile = io.NopCloser(&pack)
	rs, err := sess.ReceivePack(ctx, req)
	if err == nil && rs != nil {
		err = rs.Error()
	}
	if err != nil {
		if moved(err.Error()) {
			return fmt.Errorf("%w: %s", errMoved, gitsource.Scrub(err.Error(), ""))
		}
		return pushError(url, err)
	}
	return nil
}

// pushError says what failed without credentials (go-git's errors carry none, but a URL may carry a user).
func pushError(url string, err error) error {
	return &cleanError{msg: "git push " + gitsource.RedactURL(url) + ": " + describe(err), err: err}
}

func fetchError(url string, err error) error {
	return &cleanError{msg: "git fetch " + gitsource.RedactURL(url) + ": " + describe(err), err: err}
}

func describe(err error) string {
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired):
		return "authentication required (no credentials, or they were not accepted)"
	case errors.Is(err, transport.ErrAuthorizationFailed):
		return "access denied (the credentials may not have write permission)"
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return "repository not found"
	}
	return gitsource.Scrub(err.Error(), "")
}

// cleanError is an error whose text was scrubbed; its cause is for errors.Is only.
type cleanError struct {
	msg string
	err error
}

func (e *cleanError) Error() string { return e.msg }
func (e *cleanError) Unwrap() error { return e.err }

func short(h plumbing.Hash) string {
	if h.IsZero() {
		return "(none)"
	}
	return h.String()[:12]
}

// branchRef is a branch's full name.
func branchRef(branch string) plumbing.ReferenceName { return plumbing.NewBranchReferenceName(branch) }

// isSSHURL says u is an ssh:// URL.
func isSSHURL(u string) bool {
	scheme, _, _ := strings.Cut(u, "://")
	return strings.EqualFold(scheme, "ssh")
}
