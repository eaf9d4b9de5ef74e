package gitsource

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// TokenUser is the user name sent with a repository token in HTTP basic auth (the convention of GitHub app
// tokens; GitLab, Gitea and Bitbucket accept any user name with a token as password).
const TokenUser = "x-access-token"

// baseConfig is passed with -c to every git command: only the listed transports, no hooks, no credential
// helpers, no background maintenance that could outlive the command.
var baseConfig = []string{
	"protocol.allow=never",
	"protocol.https.allow=always",
	"protocol.http.allow=always",
	"protocol.file.allow=always",
	"protocol.ssh.allow=always",
	"core.hooksPath=/dev/null",
	"core.attributesFile=/dev/null",
	"core.fsmonitor=false",
	"credential.helper=",
	"gc.autoDetach=false",
	"maintenance.autoDetach=false",
	"advice.detachedHead=false",
}

// gitInvocation is one git command as it will be executed: argv and the full environment.
type gitInvocation struct {
	argv []string // argv[0] is "git"
	env  []string
}

// buildGit assembles a git invocation. token, if not empty, goes into the environment as an http.extraHeader,
// never into argv.
func buildGit(home, token string, args ...string) gitInvocation {
	argv := make([]string, 0, 1+2*len(baseConfig)+len(args))
	argv = append(argv, "git")
	for _, kv := range baseConfig {
		argv = append(argv, "-c", kv)
	}
	argv = append(argv, args...)
	env := []string{
		"PATH=" + pathEnv(),
		"HOME=" + home,
		"LC_ALL=C",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_ATTR_NOSYSTEM=1",
		"GIT_ASKPASS=/bin/false",
		"SSH_ASKPASS=/bin/false",
		"GIT_SSH_COMMAND=ssh -o BatchMode=yes",
	}
	if token != "" {
		env = append(env,
			"GIT_CONFIG_COUNT=1",
			"GIT_CONFIG_KEY_0=http.extraHeader",
			"GIT_CONFIG_VALUE_0="+authHeader(token),
		)
	}
	return gitInvocation{argv: argv, env: env}
}

// tokenFor returns token if git may send it to u: only http(s) remotes take it. A file:// or ssh fetch never has
// it in its environment, where a helper git runs (upload-pack, ssh) would see it.
func tokenFor(u, token string) string {
	scheme, _, ok := strings.Cut(u, "://")
	if !ok {
		return ""
	}
	switch strings.ToLower(scheme) {
	case "http", "https":
		return token
	}
	return ""
}

func authHeader(token string) string { return "Authorization: " + basicAuth(token) }

// basicAuth is the Authorization header value that carries token, for git and for probes alike.
func basicAuth(token string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(TokenUser+":"+token))
}

func pathEnv() string {
	if p := os.Getenv("PATH"); p != "" {
		return p
	}
	return "/usr/local/bin:/usr/bin:/bin"
}

// command turns the invocation into an *exec.Cmd in its own session (no controlling terminal to prompt on).
// No Pdeathsig: it fires when the forking thread exits, and Go may end any thread (see executor/local).
func (g gitInvocation) command(ctx context.Context, dir string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, g.argv[0], g.argv[1:]...)
	cmd.Dir = dir
	cmd.Env = g.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) } // git and its helpers
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// runGit runs git and returns its stdout. On failure the error carries git's stderr, scrubbed of token and of
// URL user info.
func (c *Cache) runGit(ctx context.Context, dir, token string, args ...string) ([]byte, error) {
	inv := buildGit(c.home, token, args...)
	if c.testHookGit != nil {
		c.testHookGit(inv)
	}
	cmd := inv.command(ctx, dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &limitedBuffer{buf: &stderr, max: 8 << 10}
	err := cmd.Run()
	if err != nil {
		return nil, &gitError{args: redactArgs(args), stderr: Scrub(stderr.String(), token), err: err}
	}
	return stdout.Bytes(), nil
}

// gitError is a failed git command; its text is safe to log and to show.
type gitError struct {
	args   []string
	stderr string
	err    error
}

func (e *gitError) Error() string {
	msg := strings.TrimSpace(e.stderr)
	if msg == "" {
		return fmt.Sprintf("git %s: %v", e.args[0], e.err)
	}
	return fmt.Sprintf("git %s: %v: %s", e.args[0], e.err, msg)
}

func (e *gitError) Unwrap() error { return e.err }

// limitedBuffer keeps the first max bytes written to it and drops the rest.
type limitedBuffer struct {
	buf *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

var userinfoRE = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]*@`)

// Scrub removes secrets from text that may be logged or returned: the token in every form a message may quote it
// (plain, URL-escaped, inside a basic auth header), and the user info of any URL.
func Scrub(s, token string) string {
	if token != "" {
		for _, form := range []string{
			token,
			url.QueryEscape(token),
			url.PathEscape(token),
			base64.StdEncoding.EncodeToString([]byte(TokenUser + ":" + token)),
		} {
			s = strings.ReplaceAll(s, form, "[redacted]")
		}
	}
	return userinfoRE.ReplaceAllString(s, "$1")
}

// RedactURL returns u without user info, for logs and errors.
func RedactURL(u string) string {
	if p, err := url.Parse(u); err == nil && p.User != nil {
		p.User = nil
		return p.String()
	}
	return userinfoRE.ReplaceAllString(u, "$1")
}

func redactArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = RedactURL(a)
	}
	return out
}

var _ io.Writer = (*limitedBuffer)(nil)
