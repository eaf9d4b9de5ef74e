package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/runplane/runplane/api"
)

// Webhooks have no name, only an id the server makes, and their secret is shown once: they are created with
// "runplane webhook create" rather than declared for apply, where a second apply could not tell its webhook from
// a new one.

func (a *app) webhookCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "webhook create|list|delete",
		Short: "Create, list and delete webhooks",
		Long: "A webhook lets another system (Infrahub, NetBox, GitHub, GitLab, ...) start a task or workflow by\n" +
			"POSTing a signed delivery to /api/v1/webhooks/run/ID; the job runs as you, with your rights at the\n" +
			"time of the delivery.",
		Args: checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usage(cmd, "name a subcommand: create, list or delete")
		},
	}
	cmd.AddCommand(a.webhookCreateCommand(), a.webhookListCommand(), a.webhookDeleteCommand())
	return cmd
}

func (a *app) webhookCreateCommand() *cobra.Command {
	var w api.Webhook
	var scheme string
	cmd := &cobra.Command{
		Use:   "create (--task NAME | --workflow NAME) [--scheme SCHEME] [--description TEXT] [--secret-stdin]",
		Short: "Create a webhook and print its URL path and secret",
		Long: "Create a webhook owned by you and print, on stdout, its delivery path and its secret. The secret is\n" +
			"shown only this once; without --secret-stdin the server makes one. --scheme says how the sender\n" +
			"signs: auto (Infrahub or NetBox, as Kriten), standard or infrahub, netbox or nautobot, github,\n" +
			"gitlab, hmac-sha256.",
		Example: "  runplane webhook create --task on-device-change --scheme netbox --description 'NetBox devices'\n" +
			"  printf %s \"$SHARED_KEY\" | runplane webhook create --workflow deploy --scheme github --secret-stdin",
		Args: checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			w.Scheme = api.WebhookScheme(scheme)
			if stdin, _ := cmd.Flags().GetBool("secret-stdin"); stdin {
				s, err := a.readLine()
				if err != nil {
					return fmt.Errorf("read the secret from stdin: %w", err)
				}
				w.Secret = s
			}
			if err := w.Validate(); err != nil {
				return usage(cmd, "%v", err)
			}
			c, err := a.connect()
			if err != nil {
				return err
			}
			got, err := c.CreateWebhook(cmd.Context(), w)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "Created webhook %s (scheme %s). Copy the secret now: it will not be shown again.\n", got.ID, got.Scheme)
			fmt.Fprintf(a.stdout, "url: /api/v1/webhooks/run/%s\nsecret: %s\n", got.ID, got.Secret)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&w.Task, "task", "", "the task a delivery runs")
	f.StringVar(&w.Workflow, "workflow", "", "the workflow a delivery starts")
	f.StringVar(&scheme, "scheme", "", "how deliveries are signed (default auto)")
	f.StringVar(&w.Description, "description", "", "what the webhook is for")
	f.Bool("secret-stdin", false, "read the secret from stdin (one line) instead of letting the server make one")
	return cmd
}

func (a *app) webhookListCommand() *cobra.Command {
	var o getOptions
	cmd := &cobra.Command{
		Use:     "list [--all]",
		Aliases: []string{"ls"},
		Short:   "List your webhooks (the same as \"runplane get webhooks\")",
		Args:    checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(cmd, o.output); err != nil {
				return err
			}
			c, err := a.connect()
			if err != nil {
				return err
			}
			return a.getWebhooks(cmd, c, "", o)
		},
	}
	addOutputFlag(cmd, &o.output)
	cmd.Flags().BoolVar(&o.allTokens, "all", false, "list every user's webhooks you may read, not only yours")
	return cmd
}

func (a *app) webhookDeleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "delete ID...",
		Aliases: []string{"rm"},
		Short:   "Delete webhooks; their deliveries are refused from then on",
		Args:    checkArgs(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.deleteAll(cmd, "webhooks", args)
		},
	}
}
