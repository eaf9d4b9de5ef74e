// Package cli is runplane's command line: `runplane serve` starts the server, every other command talks to a
// server through package client, the way kubectl and helm do (flags, then RUNPLANE_* env, then the config file
// written by `runplane login`).
//
// Commands live one per file. The package must never reach into the store, the executors or the job engine: apart
// from `serve`, which hands a server.Config to internal/server, everything it knows comes from the REST API. It
// never prints a token or a password, except the key of an API token it has just created, which the server shows
// only once.
package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/server"
)

// app holds what every command shares: the streams and the global flags.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	stdinLines     *bufio.Reader // created on first use; prompts and --password-stdin share it

	server  string // --server
	token   string // --token
	context string // --context
}

// exitError ends the program with a code and no further message (the command already said why).
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// usageError is a mistake in the command line; its message is followed by a pointer to --help.
type usageError struct {
	cmd *cobra.Command
	err error
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// Run executes the command line args (without the program name) and returns the process exit code.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// The job launcher is this binary re-executed inside a job's sandbox; it must start before anything else.
	if len(args) > 0 && args[0] == server.LauncherArg {
		return server.RunLauncher()
	}
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := a.rootCommand()
	root.SetArgs(joinWaitValue(args))
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return int(ee)
	}
	a.printError(err)
	var ce *codedError
	if errors.As(err, &ce) {
		return ce.code
	}
	return 1
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "runplane",
		Short: "Run scripts from git repositories as governed operations",
		Long: "runplane turns scripts that live in git repositories into authenticated REST endpoints with validated\n" +
			"inputs, injected secrets, captured results and logs.\n\n" +
			"Start a server with \"runplane serve\", log in with \"runplane login\", then apply runners, tasks,\n" +
			"users, groups, roles and role bindings, and run jobs.",
		Version:           versionString(),
		SilenceErrors:     true,
		SilenceUsage:      true,
		DisableAutoGenTag: true,
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return &usageError{cmd: cmd, err: err} })
	// Global, as in kubectl and helm: they may come before or after the command.
	pf := root.PersistentFlags()
	pf.StringVar(&a.server, "server", "", "URL of the runplane server (env RUNPLANE_SERVER; default from \"runplane login\", else "+defaultServer+")")
	pf.StringVar(&a.token, "token", "", "API or session token (env RUNPLANE_TOKEN; default from \"runplane login\")")
	pf.StringVar(&a.context, "context", "", "saved context (server and token) to use (env RUNPLANE_CONTEXT; default: the current one, see \"runplane context\")")

	root.AddCommand(
		withoutClientFlags(a.serveCommand()),
		withoutClientFlags(a.versionCommand()),
		withoutClientFlags(a.backupCommand()),
		withoutClientFlags(a.helmCommand()),
		a.loginCommand(),
		a.logoutCommand(),
		withoutClientFlags(a.contextCommand()),
		a.applyCommand(),
		a.getCommand(),
		a.deleteCommand(),
		a.exportCommand(),
		a.runCommand(),
		a.rerunCommand(),
		a.logsCommand(),
		a.waitCommand(),
		a.cancelCommand(),
		a.cronJobCommand(),
		a.tokenCommand(),
		a.webhookCommand(),
		a.podCommand(),
	)
	return root
}

// joinWaitValue makes "--wait 2s" mean "--wait=2s". --wait takes an optional value (bare, it waits as long as the
// server allows), and flag parsers read an optional value only after "="; a duration standing after it is
// unambiguous, since no command takes one as an argument.
func joinWaitValue(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		if args[i] == "--" {
			return append(out, args[i:]...)
		}
		if args[i] == "--wait" && i+1 < len(args) && looksLikeDuration(args[i+1]) {
			out = append(out, "--wait="+args[i+1])
			i++
			continue
		}
		out = append(out, args[i])
	}
	return out
}

// looksLikeDuration tells whether s is a duration such as 2s or 1m30s (not a bare number, which a task's name may be).
func looksLikeDuration(s string) bool {
	_, err := time.ParseDuration(s)
	return err == nil && s != "0" && !strings.HasPrefix(s, "-") && !strings.HasPrefix(s, "+")
}

// withoutClientFlags leaves --server and --token out of the help of a command that talks to no server.
func withoutClientFlags(cmd *cobra.Command) *cobra.Command {
	cmd.SetHelpFunc(func(c *cobra.Command, args []string) {
		for _, name := range []string{"server", "token", "context"} {
			if f := c.Root().PersistentFlags().Lookup(name); f != nil {
				f.Hidden = true
			}
		}
		c.Root().HelpFunc()(c, args)
	})
	return cmd
}

// printError writes err the way kubectl does: "Error: ..." and, for the server's validation failures, one line
// per failing field.
func (a *app) printError(err error) {
	fmt.Fprintf(a.stderr, "Error: %v\n", err)
	var ce *client.Error
	if errors.As(err, &ce) {
		for _, f := range fieldsNotIn(ce) {
			p := f.Path
			if p == "" {
				p = "(input)"
			}
			fmt.Fprintf(a.stderr, "  %s: %s\n", p, f.Message)
		}
		if errors.Is(err, client.ErrUnauthorized) {
			fmt.Fprintln(a.stderr, `Your session may have expired: run "runplane login" again.`)
		}
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		fmt.Fprintln(a.stderr, "Is the server running? Name it with --server or RUNPLANE_SERVER, or run \"runplane login\".")
	}
	var ue *usageError
	switch {
	case errors.As(err, &ue) && ue.cmd != nil:
		fmt.Fprintf(a.stderr, "Run '%s --help' for usage.\n", ue.cmd.CommandPath())
	case strings.HasPrefix(err.Error(), "unknown command "):
		fmt.Fprintln(a.stderr, "Run 'runplane --help' for usage.")
	}
}

// checkArgs makes a positional-argument validator's complaint a usage error.
func checkArgs(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return &usageError{cmd: cmd, err: err}
		}
		return nil
	}
}

// fieldsNotIn returns the failing fields of a validation error that its message does not already spell out.
func fieldsNotIn(e *client.Error) []api.FieldError {
	for _, f := range e.Fields {
		if !strings.Contains(e.Message, f.Path+": "+f.Message) {
			return e.Fields
		}
	}
	return nil
}

// usage wraps err as a command-line mistake of cmd.
func usage(cmd *cobra.Command, format string, args ...any) error {
	return &usageError{cmd: cmd, err: fmt.Errorf(format, args...)}
}

// stdinReader returns the buffered reader over stdin that every line read shares.
func (a *app) stdinReader() *bufio.Reader {
	if a.stdinLines == nil {
		a.stdinLines = bufio.NewReader(a.stdin)
	}
	return a.stdinLines
}

// lookupEnv reads a RUNPLANE_* variable; an empty value counts as unset.
func lookupEnv(name string) (string, bool) {
	v, ok := os.LookupEnv(name)
	return v, ok && v != ""
}
