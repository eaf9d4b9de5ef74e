package cli

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

// getWebhooks prints one webhook by id, or the caller's webhooks (with all, every user's the caller may read).
// Secrets are never shown: the server answers a secret only to the create.
func (a *app) getWebhooks(cmd *cobra.Command, c *client.Client, name string, o getOptions) error {
	list := c.ListWebhooks
	if o.allTokens {
		list = c.ListAllWebhooks
	}
	return getOrList(a, cmd, o.output, name, c.GetWebhook, list, webhookTable)
}

func webhookTable(w io.Writer, ws []api.Webhook) {
	row(w, "ID", "TARGET", "SCHEME", "DESCRIPTION", "~OWNER", "~CREATED")
	for _, x := range ws {
		target := "task/" + x.Task
		if x.Workflow != "" {
			target = "workflow/" + x.Workflow
		}
		row(w, x.ID, cell(target, 50), string(x.Scheme), cell(x.Description, 50), x.Owner,
			x.CreateTime.UTC().Format("2006-01-02T15:04:05Z"))
	}
}
