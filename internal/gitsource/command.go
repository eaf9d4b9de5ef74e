package gitsource

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"strings"
)

// Auth is how a Command authenticates to a remote. Username/Password go to http(s) remotes only, as an
// http.extraHeader in git's environment (never in argv or a URL); an empty Username sends TokenUser, so a token
// is a Password. SSHKeyFile and KnownHostsFile go to ssh remotes: without KnownHostsFile the first host key seen
// is accepted.
type Auth struct {
	Username, Password         string
	SSHKeyFile, KnownHostsFile string
}

// Command runs git with the Cache's rules (see the package doc: no hooks, no attributes file, no system or global
// config, a protocol allowlist, no prompts, a clean environment) for callers that keep their own work trees, such
// as the git state store, which commits and pushes. Home is git's HOME, a private directory of the caller's.
type Command struct {
	Home string
	// Remote is the URL the commands talk to; Auth is sent only to it, and only as its scheme allows.
	Remote string
	Auth   Auth
	// Env is added to the environment (GIT_AUTHOR_NAME and the like).
	Env []string
	// Config are more "key=value" settings, each passed with -c before the command (core.fsync=none for a
	// work tree whose remote is the durable copy).
	Config []string
}

// Run runs git args in dir with stdin (nil for none) and returns its stdout. Its error carries git's stderr,
// scrubbed of the password and of URL user info, and is safe to log and to show.
func (c Command) Run(ctx context.Context, dir string, stdin io.Reader, args ...string) ([]byte, error) {
	all := make([]string, 0, 2*len(c.Config)+len(args))
	for _, kv := range c.Config {
		all = append(all, "-c", kv)
	}
	inv := buildGit(c.Home, "", append(all, args...)...)
	var header string
	if c.Auth.Password != "" && tokenFor(c.Remote, "x") != "" {
		user := c.Auth.Username
		if user == "" {
			user = TokenUser
		}
		header = "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+c.Auth.Password))
		inv.env = append(inv.env, "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.extraHeader",
			"GIT_CONFIG_VALUE_0=Authorization: "+header)
	}
	if c.Auth.SSHKeyFile != "" && isSSH(c.Remote) {
		hosts := "-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=" + c.Home + "/known_hosts"
		if c.Auth.KnownHostsFile != "" {
			hosts = "-o StrictHostKeyChecking=yes -o UserKnownHostsFile=" + c.Auth.KnownHostsFile
		}
		for i, kv := range inv.env {
			if strings.HasPrefix(kv, "GIT_SSH_COMMAND=") {
				inv.env[i] = "GIT_SSH_COMMAND=ssh -o BatchMode=yes -o IdentitiesOnly=yes -i " + c.Auth.SSHKeyFile + " " + hosts
			}
		}
	}
	inv.env = append(inv.env, c.Env...)
	cmd := inv.command(ctx, dir)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &limitedBuffer{buf: &stderr, max: 8 << 10}
	if err := cmd.Run(); err != nil {
		msg := Scrub(stderr.String(), c.Auth.Password)
		if header != "" {
			msg = strings.ReplaceAll(msg, strings.TrimPrefix(header, "Basic "), "[redacted]")
		}
		return nil, &gitError{args: redactArgs(args), stderr: msg, err: err}
	}
	return stdout.Bytes(), nil
}

// Stderr returns what git wrote to stderr when err is a failed Command's (scrubbed), or "".
func Stderr(err error) string {
	var ge *gitError
	if errors.As(err, &ge) {
		return ge.stderr
	}
	return ""
}

func isSSH(u string) bool {
	if scheme, _, ok := strings.Cut(u, "://"); ok {
		return strings.EqualFold(scheme, "ssh")
	}
	return strings.Contains(u, "@") && strings.Contains(u, ":") // scp-like user@host:path
}
