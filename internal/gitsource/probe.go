package gitsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/runplane/runplane/internal/executor"
)

// Probe errors say why a probe could not tell; they are logged at debug level, never shown to users.
var (
	errNoProbe      = errors.New("no probe for this kind of URL")
	errRefNotFound  = errors.New("ref not found")
	errUnusualRepo  = errors.New("repository layout not understood")
	errBadRefName   = errors.New("ref name not safe as a path")
	errSymrefsDepth = errors.New("symbolic refs nested too deep")
)

const (
	maxSymrefDepth = 5        // git's SYMREF_MAXDEPTH
	maxLooseRef    = 4 << 10  // a loose ref is one line
	maxPackedRefs  = 64 << 20 // beyond this, fetching is not the bottleneck
)

type probeKind int

const (
	probeNone  probeKind = iota // ssh, git, scp-like: always fetched
	probeLocal                  // refs read from disk
	probeHTTP                   // one ref advertisement request
)

func probeKindOf(u string) probeKind {
	if _, ok := localPath(u); ok {
		return probeLocal
	}
	if _, ok := httpBase(u); ok {
		return probeHTTP
	}
	return probeNone
}

// probe asks, without git, which commit repo's branch is at, so that a checkout of a branch that has not moved
// costs no fetch. Any doubt is an error: the caller then fetches, and git gives the user-facing answer.
func (c *Cache) probe(ctx context.Context, repo executor.Repo, branch string) (string, error) {
	ref := "refs/heads/" + branch
	if p, ok := localPath(repo.URL); ok {
		dir, err := localGitDir(p)
		if err != nil {
			return "", err
		}
		return readRef(dir, ref)
	}
	if base, ok := httpBase(repo.URL); ok {
		return c.probeHTTP(ctx, base, repo.URL, repo.Token, ref)
	}
	return "", errNoProbe
}

// localPath returns the directory git would read for a local repository URL: a file:// URL without host,
// query or fragment (percent-decoded, as git does), or an absolute path.
func localPath(u string) (string, bool) {
	if strings.HasPrefix(u, "/") {
		return u, true
	}
	if !strings.HasPrefix(u, "file://") || strings.ContainsAny(u, "?#") {
		return "", false
	}
	p, err := url.Parse(u)
	if err != nil || p.Host != "" || p.User != nil || !strings.HasPrefix(p.Path, "/") {
		return "", false
	}
	return p.Path, true
}

// localGitDir finds the repository directory of local path p the way git's upload-pack does (enter_repo):
// the first of p/.git, p, p.git/.git and p.git that is a file (a "gitdir: " link) or a git directory.
func localGitDir(p string) (string, error) {
	for _, suffix := range []string{"/.git", "", ".git/.git", ".git"} {
		cand := p + suffix
		fi, err := os.Stat(cand)
		switch {
		case err != nil:
			continue
		case fi.Mode().IsRegular():
			dir, err := readGitFile(cand)
			if err != nil {
				return "", err
			}
			return dir, checkGitDir(dir)
		case fi.IsDir() && checkGitDir(cand) == nil:
			return cand, nil
		}
	}
	return "", errUnusualRepo
}

// readGitFile follows a .git file ("gitdir: <path>", relative to the file's directory).
func readGitFile(p string) (string, error) {
	b, err := readSmall(p, maxLooseRef)
	if err != nil {
		return "", err
	}
	target, ok := strings.CutPrefix(strings.TrimRight(string(b), "\n"), "gitdir: ")
	if !ok || target == "" || strings.ContainsAny(target, "\n\x00") {
		return "", errUnusualRepo
	}
	if !filepath.IsAbs(target) {
		target = filepath.Join(filepath.Dir(p), target)
	}
	return target, nil
}

// checkGitDir accepts a git directory whose refs this file can read: HEAD, objects and refs present, refs kept
// in files (no reftable) and not shared with another directory (no linked worktree).
func checkGitDir(dir string) error {
	for _, name := range []string{"HEAD", "objects", "refs"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return errUnusualRepo
		}
	}
	for _, name := range []string{"reftable", "commondir"} {
		if _, err := os.Lstat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
			return errUnusualRepo
		}
	}
	return nil
}

// readRef resolves ref (a full name, "refs/...") in git directory dir: its loose file, else packed-refs,
// following symbolic refs.
func readRef(dir, ref string) (string, error) {
	for range maxSymrefDepth + 1 {
		if err := checkRefPath(ref); err != nil {
			return "", err
		}
		b, err := readSmall(filepath.Join(dir, filepath.FromSlash(ref)), maxLooseRef)
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) {
			return readPackedRef(dir, ref)
		}
		if err != nil {
			return "", err
		}
		line := strings.TrimRight(string(b), "\n")
		if target, ok := strings.CutPrefix(line, "ref: "); ok {
			ref = target
			continue
		}
		if !isHex(line) {
			return "", fmt.Errorf("loose ref %s: %w", ref, errUnusualRepo)
		}
		return line, nil
	}
	return "", errSymrefsDepth
}

func readPackedRef(dir, ref string) (string, error) {
	b, err := readSmall(filepath.Join(dir, "packed-refs"), maxPackedRefs)
	if errors.Is(err, os.ErrNotExist) {
		return "", errRefNotFound
	}
	if err != nil {
		return "", err
	}
	oid, err := parsePackedRefs(b, ref)
	if err != nil {
		return "", fmt.Errorf("packed-refs: %w", err)
	}
	return oid, nil
}

// parsePackedRefs finds ref in the contents of a packed-refs file: a "# pack-refs with:" header, then lines
// "<oid> <ref>", each optionally followed by "^<oid>", the object an annotated tag peels to.
func parsePackedRefs(data []byte, ref string) (string, error) {
	for n := 1; len(data) > 0; n++ {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte{'\n'})
		switch {
		case len(line) > 0 && line[0] == '#':
			continue
		case len(line) > 0 && line[0] == '^':
			if !isHex(string(line[1:])) {
				return "", fmt.Errorf("line %d: bad peeled object id", n)
			}
			continue
		}
		oid, name, ok := bytes.Cut(line, []byte{' '})
		if !ok || !isHex(string(oid)) || len(name) == 0 {
			return "", fmt.Errorf("line %d: not \"<oid> <ref>\"", n)
		}
		if string(name) == ref {
			return string(oid), nil
		}
	}
	return "", errRefNotFound
}

// checkRefPath refuses ref names that could name a file outside the refs of the repository. Branch names are
// validated before they get here; this is the last line, and symbolic refs come from the repository itself.
func checkRefPath(ref string) error {
	if !strings.HasPrefix(ref, "refs/") || len(ref) > 1024 || !filepath.IsLocal(ref) || strings.Contains(ref, "@{") {
		return errBadRefName
	}
	for part := range strings.SplitSeq(ref, "/") {
		if part == "" || part[0] == '.' || strings.HasSuffix(part, ".lock") {
			return errBadRefName
		}
		for _, r := range part {
			if r <= ' ' || r == 0x7f || strings.ContainsRune("~^:?*[\\", r) {
				return errBadRefName
			}
		}
	}
	return nil
}

// readSmall reads a regular file of at most max bytes, not following a symbolic link in its last component:
// git writes refs as plain files, anything else is unusual.
func readSmall(p string, max int64) ([]byte, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, syscall.EISDIR
	}
	if !fi.Mode().IsRegular() || fi.Size() > max {
		return nil, errUnusualRepo
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, errUnusualRepo
	}
	return b, nil
}
