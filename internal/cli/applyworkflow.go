package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

// applyWorkflow creates or replaces a workflow, and says which, followed by the webhooks its triggers got with
// their secrets: the server shows them this once.
func applyWorkflow(ctx context.Context, c *client.Client, w api.Workflow) (string, error) {
	var secrets map[string]api.TriggerSecret
	save := func(replace bool) func(context.Context, api.Workflow) (api.Workflow, error) {
		return func(ctx context.Context, w api.Workflow) (api.Workflow, error) {
			saved, err := c.SaveWorkflow(ctx, w, replace)
			secrets = saved.TriggerSecrets
			return saved.Workflow, err
		}
	}
	result, err := upsert(ctx, w, w.Name, c.GetWorkflow, save(false), save(true), sameWorkflow)
	if err != nil {
		return result, err
	}
	names := make([]string, 0, len(secrets))
	for n := range secrets {
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteString(result)
	for _, n := range names {
		s := secrets[n]
		fmt.Fprintf(&b, "\n  trigger %s: webhook %s, POST %s, secret %s (shown once: copy it now)", n, s.Webhook, s.URL, s.Secret)
	}
	return b.String(), nil
}

// sameWorkflow compares a declared workflow with the server's, whose triggers name the objects the server made.
func sameWorkflow(want, cur api.Workflow) bool {
	for _, w := range []*api.Workflow{&want, &cur} {
		w.Triggers = slices.Clone(w.Triggers)
		for i := range w.Triggers {
			w.Triggers[i].Object = ""
		}
	}
	return sameFields(want, cur)
}
