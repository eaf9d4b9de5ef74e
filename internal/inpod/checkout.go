package inpod

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/gitsource"
	"github.com/runplane/runplane/internal/inpod/pid1"
)

// The environment of `runplane pod checkout`; its termination log is pid1's (pid1.EnvTerminationLog).
const (
	EnvGitURL     = "RUNPLANE_GIT_URL"     // http(s) or file URL of the repository; required
	EnvGitBranch  = "RUNPLANE_GIT_BRANCH"  // branch to check out; default api.DefaultBranch
	EnvGitToken   = "RUNPLANE_GIT_TOKEN"   // optional; sent as basic auth password of gitsource.TokenUser
	EnvWorkspace  = "RUNPLANE_WORKSPACE"   // directory to check the files out into; required
	EnvTools      = "RUNPLANE_TOOLS"       // directory that receives runplane-pid1 (pid1.Name); optional
	EnvSecretsSrc = "RUNPLANE_SECRETS_SRC" // mounted Secret volume; optional
	EnvSecretsDst = "RUNPLANE_SECRETS_DST" // where its keys become 0400 files; required with EnvSecretsSrc
	EnvNoGit      = "RUNPLANE_GIT_NONE"    // "1": the job has no repository; nothing is cloned and EnvGitURL is unset
	EnvInputSrc   = "RUNPLANE_INPUT_SRC"   // mounted Secret volume of the job's input files; optional
	EnvInputDst   = "RUNPLANE_INPUT_DST"   // the input directory they are copied to (0644); required with EnvInputSrc
	// EnvReadyDir is set when the checkout runs beside the job's container instead of before it: it then writes
	// ReadyFile there once all is in place, or FailedFile (after its termination log) when it failed, for the job's
	// container, which waits for one of them, to run the command or end.
	EnvReadyDir = "RUNPLANE_READY_DIR"
)

// The markers of a checkout in EnvReadyDir.
const (
	ReadyFile  = "ready"
	FailedFile = "failed"
)

// CheckoutConfig is what the init container does. Its zero value does nothing useful: GitURL and Workspace are
// required.
type CheckoutConfig struct {
	GitURL    string
	Branch    string // "" means api.DefaultBranch
	Token     string
	Workspace string
	Tools     string // "" means: do not copy runplane-pid1
	// SecretsSrc is a mounted Secret volume ("" or a missing directory: no secrets); its keys are copied to
	// SecretsDst.
	SecretsSrc string
	SecretsDst string
	// NoGit says the job has no repository: GitURL must be empty and nothing is cloned.
	NoGit bool
	// InputSrc is a mounted Secret volume of input files ("" or missing: none), copied to InputDst.
	InputSrc string
	InputDst string
}

// CheckoutConfigFromEnv reads the configuration from the RUNPLANE_* variables.
func CheckoutConfigFromEnv(getenv func(string) string) CheckoutConfig {
	return CheckoutConfig{
		GitURL:     getenv(EnvGitURL),
		Branch:     getenv(EnvGitBranch),
		Token:      getenv(EnvGitToken),
		Workspace:  getenv(EnvWorkspace),
		Tools:      getenv(EnvTools),
		SecretsSrc: getenv(EnvSecretsSrc),
		SecretsDst: getenv(EnvSecretsDst),
		NoGit:      getenv(EnvNoGit) == "1",
		InputSrc:   getenv(EnvInputSrc),
		InputDst:   getenv(EnvInputDst),
	}
}

// RunCheckout is `runplane pod checkout`: it runs Checkout with the configuration in the environment and returns
// the process exit code. On success it prints "checked out <branch> at <commit>" to stdout and writes
// "commit <sha>" to the termination log; on failure it writes the message (free of the token) to the termination
// log and to stderr and returns 1.
func RunCheckout(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg := CheckoutConfigFromEnv(getenv)
	logPath := pid1.TerminationLogPath(getenv)
	readyDir := getenv(EnvReadyDir)
	commit, err := Checkout(ctx, cfg)
	if err != nil {
		msg := gitsource.Scrub(err.Error(), cfg.Token)
		pid1.WriteTerminationLog(logPath, msg)
		fmt.Fprintln(stderr, msg)
		if readyDir != "" {
			if err := writeMarker(readyDir, FailedFile); err != nil {
				fmt.Fprintln(stderr, err)
			}
		}
		return 1
	}
	if !cfg.NoGit {
		fmt.Fprintf(stdout, "checked out %s at %s\n", cfg.branch(), commit)
		pid1.WriteTerminationLog(logPath, "commit "+commit)
	}
	if readyDir != "" {
		// Last: the job's command runs as soon as this exists.
		if err := writeMarker(readyDir, ReadyFile); err != nil {
			msg := err.Error()
			pid1.WriteTerminationLog(logPath, msg)
			fmt.Fprintln(stderr, msg)
			_ = writeMarker(readyDir, FailedFile)
			return 1
		}
	}
	return 0
}

// writeMarker creates dir/name whole: a temporary file renamed into place, so that whoever waits for it sees it
// only once it is there.
func writeMarker(dir, name string) error {
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, nil, 0o644); err != nil {
		return fmt.Errorf("mark the checkout %s: %w", name, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("mark the checkout %s: %w", name, err)
	}
	return nil
}

// Checkout clones cfg.Branch of cfg.GitURL (depth 1, that branch only, no tags) into cfg.Workspace (unless
// cfg.NoGit), copies the secrets, the input files and runplane-pid1, and returns the commit checked out ("" with
// NoGit). Its errors never contain the token nor the user info of a URL.
func Checkout(ctx context.Context, cfg CheckoutConfig) (commit string, err error) {
	if err := cfg.validate(); err != nil {
		return "", err
	}
	if !cfg.NoGit {
		commit, err = clone(ctx, cfg)
		if err != nil {
			return "", &scrubbedError{msg: gitsource.Scrub(err.Error(), cfg.Token), err: err}
		}
	}
	if cfg.SecretsSrc != "" {
		if err := CopySecrets(cfg.SecretsSrc, cfg.SecretsDst); err != nil {
			return "", err
		}
	}
	if cfg.InputSrc != "" {
		if err := CopyInputFiles(cfg.InputSrc, cfg.InputDst); err != nil {
			return "", err
		}
	}
	if cfg.Tools != "" {
		if err := CopyPID1(cfg.Tools); err != nil {
			return "", err
		}
	}
	return commit, nil
}

func (cfg CheckoutConfig) branch() string {
	if cfg.Branch == "" {
		return api.DefaultBranch
	}
	return cfg.Branch
}

func (cfg CheckoutConfig) validate() error {
	switch {
	case cfg.NoGit && cfg.GitURL != "":
		return fmt.Errorf("%s and %s are both set", EnvNoGit, EnvGitURL)
	case cfg.GitURL == "" && !cfg.NoGit:
		return fmt.Errorf("%s is not set", EnvGitURL)
	case cfg.Workspace == "":
		return fmt.Errorf("%s is not set", EnvWorkspace)
	case cfg.SecretsSrc != "" && cfg.SecretsDst == "":
		return fmt.Errorf("%s is set but %s is not", EnvSecretsSrc, EnvSecretsDst)
	case cfg.InputSrc != "" && cfg.InputDst == "":
		return fmt.Errorf("%s is set but %s is not", EnvInputSrc, EnvInputDst)
	}
	if cfg.NoGit {
		return nil
	}
	// go-git would also take ssh and git URLs and local paths, which a pod has no keys or files for.
	u, err := url.Parse(cfg.GitURL)
	if err == nil && (u.Scheme == "file" || (u.Scheme == "http" || u.Scheme == "https") && u.Host != "") {
		return nil
	}
	return fmt.Errorf("invalid repository URL %q: only http, https and file URLs are supported", gitsource.RedactURL(cfg.GitURL))
}

// clone checks the branch out into the workspace. Its errors may contain the token (go-git's do not, but a
// server's reply is quoted); Checkout scrubs them.
func clone(ctx context.Context, cfg CheckoutConfig) (string, error) {
	if err := prepareWorkspace(cfg.Workspace); err != nil {
		return "", err
	}
	opts := &git.CloneOptions{
		URL:           cfg.GitURL,
		ReferenceName: plumbing.NewBranchReferenceName(cfg.branch()),
		SingleBranch:  true,
		Depth:         1,
		Tags:          git.NoTags,
	}
	if cfg.Token != "" && !isFileURL(cfg.GitURL) {
		opts.Auth = &githttp.BasicAuth{Username: gitsource.TokenUser, Password: cfg.Token}
	}
	// go-git reads no global or system configuration to clone, so HOME may be unset or unwritable.
	repo, err := git.PlainCloneContext(ctx, cfg.Workspace, false, opts)
	if err != nil {
		return "", cloneError(err, cfg)
	}
	head, err := repo.Head()
	if err != nil {
		return "", fmt.Errorf("clone %s: read HEAD: %w", gitsource.RedactURL(cfg.GitURL), err)
	}
	return head.Hash().String(), nil
}

// prepareWorkspace makes sure dir exists and is empty. A checkout left by an earlier run of this container (the
// kubelet may run init containers again) is removed; anything else is an error.
func prepareWorkspace(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return fmt.Errorf("workspace: %w", err)
	}
	if len(entries) == 0 {
		return nil
	}
	if _, err := os.Lstat(filepath.Join(dir, git.GitDirName)); err != nil {
		return fmt.Errorf("workspace %s is not empty", dir)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("workspace: remove an earlier checkout: %w", err)
		}
	}
	return nil
}

// cloneError says what failed in words a runner's author can act on.
func cloneError(err error, cfg CheckoutConfig) error {
	u := gitsource.RedactURL(cfg.GitURL)
	var noRef git.NoMatchingRefSpecError
	switch {
	case errors.As(err, &noRef), errors.Is(err, plumbing.ErrReferenceNotFound):
		return fmt.Errorf("branch %q not found in %s", cfg.branch(), u)
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return fmt.Errorf("branch %q not found in %s: the repository is empty", cfg.branch(), u)
	case errors.Is(err, transport.ErrAuthenticationRequired) && cfg.Token != "":
		return fmt.Errorf("authentication to %s failed: the repository token was not accepted", u)
	case errors.Is(err, transport.ErrAuthenticationRequired):
		return fmt.Errorf("authentication to %s required: the repository is private and the runner has no token", u)
	case errors.Is(err, transport.ErrAuthorizationFailed):
		return fmt.Errorf("access to %s denied: the repository token may not have read permission", u)
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return fmt.Errorf("repository %s not found (or not visible with the runner's token)", u)
	}
	return fmt.Errorf("clone %s: %w", u, err)
}

func isFileURL(u string) bool {
	p, err := url.Parse(u)
	return err == nil && p.Scheme == "file"
}

// scrubbedError is an error whose text has been scrubbed of secrets; its cause (Unwrap) has not.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }
