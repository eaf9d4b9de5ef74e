package statestore

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/gitsource"
)

// Options tune Writers. The zero value works, except that git stores need Dir.
type Options struct {
	// Dir is a private directory (0700) for the private repositories of fetched git stores and git's home;
	// required for git stores.
	Dir string
	// Logger receives retries; nil discards.
	Logger *slog.Logger
	// MaxAttempts bounds the pushes of one commit when other writers keep moving the branch (default 10).
	MaxAttempts int
	// MaxBatch bounds the changes one commit takes (default 256).
	MaxBatch int
	// Timeout bounds one commit: fetch, apply, commit and push (default 5 minutes).
	Timeout time.Duration

	testHookBeforePush func(attempt int) // called before each push; tests only
}

// Writers opens the Writer of each state store. Writers of one git repository and branch share its queue (and
// its cached tree), as writers of one directory share their lock. It is safe for concurrent use.
type Writers struct {
	opts  Options
	mu    sync.Mutex
	repos map[string]*gitRepo
	dirs  map[string]*sync.Mutex
}

// New returns Writers; with Dir set, it creates Dir (0700) if needed.
func New(opts Options) (*Writers, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 10
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Minute
	}
	if opts.Dir != "" {
		abs, err := filepath.Abs(opts.Dir)
		if err != nil {
			return nil, fmt.Errorf("statestore: %w", err)
		}
		opts.Dir = abs
		for _, d := range []string{abs, filepath.Join(abs, "home"), filepath.Join(abs, "repos"), filepath.Join(abs, "keys")} {
			if err := os.MkdirAll(d, 0o700); err != nil {
				return nil, fmt.Errorf("statestore: %w", err)
			}
			if err := os.Chmod(d, 0o700); err != nil {
				return nil, fmt.Errorf("statestore: %w", err)
			}
		}
	}
	return &Writers{opts: opts, repos: map[string]*gitRepo{}, dirs: map[string]*sync.Mutex{}}, nil
}

// ErrNoDir: a git store was asked for but Options.Dir is empty.
var ErrNoDir = errors.New("statestore: no directory for git stores' private repositories (Options.Dir)")

// For returns the Writer of s, which must be valid (s.Validate) with its credentials opened. A store's
// secretRef is not read here: the caller resolves it into s.Credentials.
func (ws *Writers) For(s api.StateStore) (Writer, error) {
	s.Default()
	switch s.Kind {
	case api.KindDirectoryStateStore:
		key := dirKey(s.Path)
		ws.mu.Lock()
		mu := ws.dirs[key]
		if mu == nil {
			mu = &sync.Mutex{}
			ws.dirs[key] = mu
		}
		ws.mu.Unlock()
		return &directoryWriter{name: s.Name, dir: key, mu: mu}, nil
	case api.KindGitStateStore:
		if ws.opts.Dir == "" {
			return nil, ErrNoDir
		}
		auth, err := ws.auth(s)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256([]byte(s.URL + "\x00" + s.Branch))
		key := hex.EncodeToString(sum[:10])
		ws.mu.Lock()
		repo := ws.repos[key]
		if repo == nil {
			repo = &gitRepo{url: s.URL, branch: s.Branch, dir: filepath.Join(ws.opts.Dir, "repos", key+".git"),
				home: filepath.Join(ws.opts.Dir, "home"), opts: &ws.opts}
			ws.repos[key] = repo
		}
		ws.mu.Unlock()
		return &gitWriter{store: s, auth: auth, repo: repo}, nil
	}
	return nil, fmt.Errorf("statestore: %s %s: kind not supported", s.Kind, s.Name)
}

// auth turns a store's credentials into git's; an ssh key and known hosts go to 0600 files named by their hash.
func (ws *Writers) auth(s api.StateStore) (gitsource.Auth, error) {
	c := s.Credentials
	if c == nil {
		return gitsource.Auth{}, nil
	}
	if s.AuthMethod == api.AuthSSH {
		var a gitsource.Auth
		var err error
		if c.SSHPrivateKey != "" {
			if a.SSHKeyFile, err = ws.keyFile(c.SSHPrivateKey); err != nil {
				return a, err
			}
		}
		if c.KnownHosts != "" {
			if a.KnownHostsFile, err = ws.keyFile(c.KnownHosts); err != nil {
				return a, err
			}
		}
		return a, nil
	}
	pw := c.Password
	if pw == "" {
		pw = c.Token
	}
	user := c.Username
	if c.Token != "" && user == "" {
		user = gitsource.TokenUser
	}
	return gitsource.Auth{Username: user, Password: pw}, nil
}

func (ws *Writers) keyFile(content string) (string, error) {
	sum := sha256.Sum256([]byte(content))
	p := filepath.Join(ws.opts.Dir, "keys", hex.EncodeToString(sum[:16]))
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	if !endsWithNewline(content) {
		content += "\n"
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".key-*") // 0600
	if err != nil {
		return "", fmt.Errorf("statestore: write key: %w", err)
	}
	_, werr := f.WriteString(content)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(f.Name(), p)
	}
	if werr != nil {
		_ = os.Remove(f.Name())
		return "", fmt.Errorf("statestore: write key: %w", werr)
	}
	return p, nil
}

func endsWithNewline(s string) bool { return len(s) > 0 && s[len(s)-1] == '\n' }
