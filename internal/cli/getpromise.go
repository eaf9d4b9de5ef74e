package cli

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

// promiseTable shows Kratix's printer columns for promises.
func promiseTable(w io.Writer, ps []api.Promise) {
	row(w, "NAME", "STATUS", "KIND", "API VERSION", "VERSION", "~MESSAGE")
	for _, p := range ps {
		row(w, p.Metadata.Name, orDash(p.Status.Status), orDash(p.Status.Kind), orDash(p.Status.APIVersion),
			orDash(p.Status.Version), cell(orDash(p.Status.Message), 80))
	}
}

// requestTable shows a promise's requests: their namespace, name, status message and generation.
func requestTable(w io.Writer, rs []api.ResourceRequest) {
	row(w, "NAMESPACE", "NAME", "STATUS", "~GENERATION", "~KIND")
	for _, r := range rs {
		var st struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(r.Status, &st)
		row(w, orDash(r.Metadata.Namespace), r.Metadata.Name, orDash(st.Message), fmt.Sprint(r.Metadata.Generation), r.Kind+"."+r.APIVersion)
	}
}

// getResources lists the requests of the promise args[0], or shows the one args[1] names.
func (a *app) getResources(cmd *cobra.Command, c *client.Client, args []string, o getOptions) error {
	if err := checkOutput(cmd, o.output); err != nil {
		return err
	}
	promise := args[0]
	if len(args) == 2 {
		r, err := c.GetResourceRequest(cmd.Context(), promise, o.namespace, args[1])
		if err != nil {
			return err
		}
		return a.print(cmd, o.output, r, func(w io.Writer) { requestTable(w, []api.ResourceRequest{r}) })
	}
	rs, err := c.ListResourceRequests(cmd.Context(), promise, o.namespace)
	if err != nil {
		return err
	}
	return a.print(cmd, o.output, rs, func(w io.Writer) { requestTable(w, rs) })
}
