package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

func (a *app) contextCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "context list|use|current|delete",
		Short: "Switch between saved servers (contexts)",
		Long: "Each \"runplane login\" saves a context: a server and the token for it, named after the server's host\n" +
			"or with --context NAME. Commands use the current context unless --context or RUNPLANE_CONTEXT names\n" +
			"another, or --server names a server (whose saved token is then used, however its URL is spelt).",
		Example: "  runplane login --context prod --server https://runplane.example.com -u ada\n" +
			"  runplane context list\n  runplane context use prod\n  runplane --context dev get jobs",
		Args: checkArgs(cobra.NoArgs),
	}
	var output string
	list := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List saved contexts; * marks the current one",
		Args:    checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			type view struct {
				Name     string `json:"name"`
				Server   string `json:"server"`
				Username string `json:"username,omitempty"`
				Current  bool   `json:"current"`
				LoggedIn bool   `json:"logged_in"`
			}
			views := []view{}
			for _, n := range cfg.names() {
				sc := cfg.Contexts[n]
				views = append(views, view{Name: n, Server: sc.Server, Username: sc.Username, Current: n == cfg.Current, LoggedIn: sc.Token != ""})
			}
			return a.print(cmd, output, views, func(w io.Writer) {
				row(w, "CURRENT", "NAME", "SERVER", "USER")
				for _, v := range views {
					mark, user := "", v.Username
					if v.Current {
						mark = "*"
					}
					if !v.LoggedIn {
						user = "(logged out)"
					}
					row(w, mark, v.Name, v.Server, cell(user, 40))
				}
			})
		},
	}
	addOutputFlag(list, &output)
	use := &cobra.Command{
		Use:               "use NAME",
		Short:             "Make NAME the current context",
		Args:              checkArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: completeContexts,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			sc, ok := cfg.Contexts[args[0]]
			if !ok {
				return fmt.Errorf("no context %q; saved: %s", args[0], cfg.saved())
			}
			cfg.Current = args[0]
			if _, err := saveConfig(cfg); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Switched to context %s (%s)\n", args[0], sc.Server)
			return nil
		},
	}
	current := &cobra.Command{
		Use:   "current",
		Short: "Print the current context's name",
		Args:  checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			if cfg.current() == nil {
				return fmt.Errorf("no current context: \"runplane login\" saves one")
			}
			fmt.Fprintln(a.stdout, cfg.Current)
			return nil
		},
	}
	del := &cobra.Command{
		Use:               "delete NAME...",
		Short:             "Forget saved contexts (and their tokens)",
		Args:              checkArgs(cobra.MinimumNArgs(1)),
		ValidArgsFunction: completeContexts,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			for _, n := range args {
				if _, ok := cfg.Contexts[n]; !ok {
					return fmt.Errorf("no context %q; saved: %s", n, cfg.saved())
				}
			}
			for _, n := range args {
				delete(cfg.Contexts, n)
				if cfg.Current == n {
					cfg.Current = ""
				}
			}
			if _, err := saveConfig(cfg); err != nil {
				return err
			}
			for _, n := range args {
				fmt.Fprintf(a.stdout, "context/%s deleted\n", n)
			}
			return nil
		},
	}
	cmd.AddCommand(list, use, current, del)
	return cmd
}

// completeContexts completes saved context names.
func completeContexts(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	cfg, err := loadConfig()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return cfg.names(), cobra.ShellCompDirectiveNoFileComp
}
