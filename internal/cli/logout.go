package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/runplane/runplane/client"
)

func (a *app) logoutCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Log out of the server and forget the saved token",
		Long: "Tell the server the session ends (the logout is audited) and remove the token saved by \"runplane\n" +
			"login\" from the config file; the server URL stays. The token is forgotten even when the server\n" +
			"cannot be reached. An API token keeps working until it is deleted (\"runplane token delete\").",
		Args: checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			c, err := a.connect()
			if errors.Is(err, errNotLoggedIn) {
				_, sc, _ := a.selectedContext(&cfg)
				fmt.Fprintf(a.stdout, "Not logged in to %s\n", a.serverURL(sc))
				return nil
			}
			if err != nil {
				return err
			}
			serverErr := c.Logout(cmd.Context())
			_, fromEnv := lookupEnv("RUNPLANE_TOKEN")
			if n := cfg.forServer(c.BaseURL()); a.token == "" && !fromEnv && n != "" && cfg.Contexts[n].Token != "" {
				cfg.Contexts[n].Token, cfg.Contexts[n].Username = "", ""
				if _, err := saveConfig(cfg); err != nil {
					return err
				}
			}
			// An expired session is as logged out as it gets.
			if serverErr != nil && !errors.Is(serverErr, client.ErrUnauthorized) {
				fmt.Fprintf(a.stderr, "Warning: the server was not told: %v\n", serverErr)
			}
			fmt.Fprintf(a.stdout, "Logged out of %s\n", c.BaseURL())
			return nil
		},
	}
}
