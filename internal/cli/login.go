package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

func (a *app) loginCommand() *cobra.Command {
	var username, provider string
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "login [--server URL] [-u USER] [--password-stdin] | [--token KEY]",
		Short: "Log in to a server and remember it and the token in the config file",
		Long: "Log in to a runplane server. The server URL and the token are saved in the user's config directory\n" +
			"(for example ~/.config/runplane/config.json, readable only by you) and used by every later command.\n\n" +
			"The password is prompted for without echo on a terminal; otherwise one line is read from stdin.\n" +
			"It is never accepted as a flag, which would show it in the process list.\n\n" +
			"With --token, no password is asked for: the token (an API token key from \"runplane token create\",\n" +
			"or a session token) is checked with the server and saved instead.",
		Example: "  runplane login --server http://127.0.0.1:8080 -u root\n" +
			"  printf '%s\\n' \"$PASSWORD\" | runplane login -u root --password-stdin\n" +
			"  runplane login --server https://runplane.example.com --token \"$RUNPLANE_API_TOKEN\"",
		Args: checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			srv := a.serverURL(cfg.Contexts[cmp.Or(a.context, cfg.Current)])
			if a.token != "" {
				if username != "" || passwordStdin {
					return usage(cmd, "--token replaces the username and password: give one or the other")
				}
				return a.loginWithToken(cmd.Context(), cfg, srv)
			}
			c, err := a.newClient(srv)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			tty := a.stdinTerminal() && !passwordStdin
			if username == "" {
				if !tty {
					return usage(cmd, "--username is required with --password-stdin or when stdin is not a terminal")
				}
				if username, err = a.prompt(ctx, "Username: ", false); err != nil {
					return err
				}
			}
			if tty {
				fmt.Fprintf(a.stderr, "Password for %s at %s: ", username, c.BaseURL())
			}
			password, err := a.prompt(ctx, "", tty)
			if err != nil {
				return err
			}
			if password == "" {
				return errors.New("password is empty")
			}
			token, err := c.Login(ctx, api.Login{Username: username, Password: password, Provider: provider})
			if errors.Is(err, client.ErrUnauthorized) {
				// Said plainly, without the "session expired, log in again" hint other commands give for a 401.
				return fmt.Errorf("login to %s as %s failed: wrong username or password", c.BaseURL(), username)
			}
			if err != nil {
				return err
			}
			path, name, err := a.saveLogin(cfg, c.BaseURL(), token, username)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Logged in to %s as %s (context %s, saved in %s)\n", c.BaseURL(), username, name, path)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&username, "username", "u", "", "user name (prompted for on a terminal)")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the password as one line from stdin")
	f.StringVar(&provider, "provider", api.ProviderLocal, "identity provider: local or active_directory")
	return cmd
}

// loginWithToken checks that the server accepts --token and saves it as the config's token.
func (a *app) loginWithToken(ctx context.Context, cfg fileConfig, srv string) error {
	c, err := a.newClient(srv, tokenOption(a.token))
	if err != nil {
		return err
	}
	// Listing one's own tokens needs no role; any answer but 401 means the token authenticates.
	if _, err := c.ListAPITokens(ctx); err != nil && !errors.Is(err, client.ErrForbidden) {
		return err
	}
	path, name, err := a.saveLogin(cfg, c.BaseURL(), a.token, "")
	if err != nil {
		return err
	}
	what := "a session token"
	if strings.HasPrefix(a.token, api.APITokenPrefix) {
		what = "an API token"
	}
	fmt.Fprintf(a.stdout, "Logged in to %s with %s (context %s, saved in %s)\n", c.BaseURL(), what, name, path)
	return nil
}

// stdinTerminal reports whether stdin is an interactive terminal.
func (a *app) stdinTerminal() bool {
	f, ok := a.stdin.(*os.File)
	return ok && isTerminal(int(f.Fd()))
}

// prompt writes label (if any) to stderr and reads one line from stdin, without echo when secret. It gives up
// when ctx ends (Ctrl-C), restoring the terminal.
func (a *app) prompt(ctx context.Context, label string, secret bool) (string, error) {
	if label != "" {
		fmt.Fprint(a.stderr, label)
	}
	type answer struct {
		s   string
		err error
	}
	ch := make(chan answer, 1)
	restore := func() {}
	if secret {
		f := a.stdin.(*os.File)
		r, err := disableEcho(int(f.Fd()))
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		restore = r
	}
	go func() {
		s, err := a.readLine()
		ch <- answer{s, err}
	}()
	select {
	case <-ctx.Done():
		restore()
		fmt.Fprintln(a.stderr)
		return "", ctx.Err()
	case ans := <-ch:
		restore()
		if secret {
			fmt.Fprintln(a.stderr) // the user's Enter was not echoed
		}
		return ans.s, ans.err
	}
}

// readLine reads one line from stdin without its line ending. End of input after some text is a line.
func (a *app) readLine() (string, error) {
	s, err := a.stdinReader().ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && s != "") {
		if errors.Is(err, io.EOF) {
			return "", errors.New("read stdin: no input")
		}
		return "", fmt.Errorf("read stdin: %w", err)
	}
	return strings.TrimRight(s, "\r\n"), nil
}
