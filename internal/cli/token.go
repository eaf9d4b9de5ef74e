package cli

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/runplane/runplane/api"
)

func (a *app) tokenCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token create|list|delete",
		Short: "Create, list and delete API tokens",
		Long: "API tokens are long-lived credentials for scripts and CI, carrying the rights of the user who\n" +
			"created them. Use one with --token, RUNPLANE_TOKEN or \"runplane login --token\"; the CLI sends it\n" +
			"as the Token header.",
		Args: checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usage(cmd, "name a subcommand: create, list or delete")
		},
	}
	cmd.AddCommand(a.tokenCreateCommand(), a.tokenListCommand(), a.tokenDeleteCommand())
	return cmd
}

func (a *app) tokenCreateCommand() *cobra.Command {
	var description, expires string
	var disabled bool
	cmd := &cobra.Command{
		Use:   "create --description TEXT [--expires 720h|2027-01-01|2027-01-01T00:00:00Z]",
		Short: "Create an API token and print its key",
		Long: "Create an API token carrying your rights and print its key on stdout. The key is shown only this\n" +
			"once: the server keeps only a hash of it. --expires takes a duration from now (720h, 30d), a date or\n" +
			"an RFC 3339 time; without it the token never expires.",
		Example: "  runplane token create --description 'CI pipeline' --expires 30d\n" +
			"  export RUNPLANE_TOKEN=$(runplane token create --description nightly)",
		Args: checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if strings.TrimSpace(description) == "" {
				return usage(cmd, "--description is required: say what the token is for, so that it can be told apart later")
			}
			exp, err := parseExpiry(expires, time.Now())
			if err != nil {
				return usage(cmd, "--expires: %v", err)
			}
			c, err := a.connect()
			if err != nil {
				return err
			}
			enabled := !disabled
			t, err := c.CreateAPIToken(cmd.Context(), api.APIToken{Description: description, Enabled: &enabled, Expires: exp})
			if err != nil {
				return err
			}
			if t.Key == "" {
				return fmt.Errorf("token %s was created but the server sent no key: delete it and try again", t.ID)
			}
			when := "never expires"
			if t.Expires != nil {
				when = "expires " + t.Expires.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(a.stderr, "Created API token %s (%s). Copy the key now: it will not be shown again.\n", t.ID, when)
			fmt.Fprintln(a.stdout, t.Key)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&description, "description", "", "what the token is for")
	f.StringVar(&expires, "expires", "", "when the token stops working: a duration from now (720h, 30d), a date or an RFC 3339 time")
	f.BoolVar(&disabled, "disabled", false, "create the token disabled")
	return cmd
}

func (a *app) tokenListCommand() *cobra.Command {
	var output string
	var all bool
	cmd := &cobra.Command{
		Use:     "list [--all]",
		Aliases: []string{"ls"},
		Short:   "List your API tokens (the same as \"runplane get tokens\")",
		Args:    checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(cmd, output); err != nil {
				return err
			}
			c, err := a.connect()
			if err != nil {
				return err
			}
			return a.listTokens(cmd, c, output, all)
		},
	}
	addOutputFlag(cmd, &output)
	cmd.Flags().BoolVar(&all, "all", false, "list every user's tokens, not only yours")
	return cmd
}

func (a *app) tokenDeleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "delete ID...",
		Aliases: []string{"rm"},
		Short:   "Delete API tokens; they stop working at once",
		Args:    checkArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.deleteAll(cmd, "tokens", args)
		},
	}
}

// parseExpiry reads --expires: "" for never, a duration from now ("720h", or whole days as "30d"), a date
// (midnight UTC) or an RFC 3339 time. It must lie in the future.
func parseExpiry(s string, now time.Time) (*time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var t time.Time
	if d, err := parseDays(s); err == nil {
		if d <= 0 {
			return nil, fmt.Errorf("duration %q must be positive", s)
		}
		t = now.Add(d)
	} else if x, err := time.Parse(time.RFC3339, s); err == nil {
		t = x
	} else if x, err := time.Parse(time.DateOnly, s); err == nil {
		t = x
	} else {
		return nil, fmt.Errorf("%q is not a duration (720h, 30d), a date (2027-01-01) or an RFC 3339 time", s)
	}
	if !t.After(now) {
		return nil, fmt.Errorf("%s is in the past", t.UTC().Format(time.RFC3339))
	}
	t = t.UTC().Truncate(time.Second)
	return &t, nil
}

// parseDays is time.ParseDuration that also reads a whole number of days, "30d".
func parseDays(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		if _, err := fmt.Sscanf(n, "%d", &days); err == nil && fmt.Sprint(days) == n {
			if days > 100*365 {
				return 0, errors.New("too many days")
			}
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	return time.ParseDuration(s)
}
