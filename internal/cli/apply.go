package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/spf13/cobra"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

func (a *app) applyCommand() *cobra.Command {
	var files []string
	cmd := &cobra.Command{
		Use:   "apply -f FILE|DIR|-",
		Short: "Create or update runners and tasks from YAML or JSON files",
		Long: "Create or update runners and tasks declared in files. A file holds one or more documents (YAML\n" +
			"separated by \"---\", or JSON), each with a kind and the API's fields:\n\n" +
			"  kind: Runner\n  name: examples\n  gitURL: https://example.com/scripts.git\n  branch: main\n" +
			"  ---\n  kind: Task\n  name: hello\n  runner: examples\n  command: ./hello.sh\n\n" +
			"A directory means its *.yaml, *.yml and *.json files, in name order; \"-\" means stdin. Every document\n" +
			"is checked before anything is sent, and runners are applied before tasks. Applying the same files\n" +
			"again changes nothing and says \"unchanged\" (a runner whose document carries a token or secret values\n" +
			"is always sent, since the server never shows them back).",
		Example: "  runplane apply -f examples/\n  runplane apply -f runner.yaml -f task.yaml",
		Args:    checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(files) == 0 {
				return usage(cmd, "-f is required")
			}
			ms, err := a.loadManifests(files)
			if err != nil {
				return err
			}
			c, err := a.connect()
			if err != nil {
				return err
			}
			for _, m := range ms {
				result, err := applyOne(cmd.Context(), c, m)
				if err != nil {
					return fmt.Errorf("apply %s: %w", m.source, err)
				}
				fmt.Fprintf(a.stdout, "%s %s\n", m.ref(), result)
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&files, "filename", "f", nil, "file, directory or - (stdin) holding the documents; repeatable")
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
	return cmd
}

// loadManifests reads and checks every document, and orders runners before tasks (otherwise keeping file order).
func (a *app) loadManifests(files []string) ([]manifest, error) {
	srcs, err := readManifestSources(files, a.stdin)
	if err != nil {
		return nil, err
	}
	var ms []manifest
	seen := map[string]string{}
	for _, src := range srcs {
		got, err := parseManifests(src)
		if err != nil {
			return nil, err
		}
		for _, m := range got {
			if prev, ok := seen[m.ref()]; ok {
				return nil, fmt.Errorf("apply %s: %s is also declared in %s", m.source, m.ref(), prev)
			}
			seen[m.ref()] = m.source
		}
		ms = append(ms, got...)
	}
	slices.SortStableFunc(ms, func(x, y manifest) int {
		return btoi(x.kind == kindTask) - btoi(y.kind == kindTask)
	})
	return ms, nil
}

// applyOne creates m or brings the server's object in line with it, and says which it did.
func applyOne(ctx context.Context, c *client.Client, m manifest) (string, error) {
	if m.kind == kindRunner {
		cur, err := c.GetRunner(ctx, m.runner.Name)
		if errors.Is(err, client.ErrNotFound) {
			_, err = c.CreateRunner(ctx, m.runner)
			return "created", err
		}
		if err != nil {
			return "", err
		}
		if runnerUnchanged(m.runner, cur) {
			return "unchanged", nil
		}
		_, err = c.UpdateRunner(ctx, m.runner)
		return "configured", err
	}
	cur, err := c.GetTask(ctx, m.task.Name)
	if errors.Is(err, client.ErrNotFound) {
		_, err = c.CreateTask(ctx, m.task)
		return "created", err
	}
	if err != nil {
		return "", err
	}
	if sameFields(m.task, cur) {
		return "unchanged", nil
	}
	_, err = c.UpdateTask(ctx, m.task)
	return "configured", err
}

// runnerUnchanged compares a declared runner with the server's masked view. Secret values cannot be compared,
// so a declaration carrying any (other than the mask itself) always counts as a change.
func runnerUnchanged(want, cur api.Runner) bool {
	if want.Token != "" && want.Token != api.Mask {
		return false
	}
	for _, v := range want.Secret {
		if v != "" && v != api.Mask {
			return false
		}
	}
	if want.Branch == "" {
		want.Branch = api.DefaultBranch
	}
	if cur.Branch == "" {
		cur.Branch = api.DefaultBranch
	}
	// "" deletes a secret key: the same as not declaring it.
	secret := map[string]string{}
	for k, v := range want.Secret {
		if v != "" {
			secret[k] = v
		}
	}
	want.Secret = secret
	return sameFields(want.Masked(), cur)
}

// sameFields compares two API objects by their JSON, treating absent and zero-valued top-level fields alike
// (false, 0, "", null, {} and [] all mean "not set"). Nested values, such as a schema, compare exactly.
func sameFields(a, b any) bool {
	x, err1 := topLevel(a)
	y, err2 := topLevel(b)
	return err1 == nil && err2 == nil && reflect.DeepEqual(x, y)
}

func topLevel(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for k, v := range m {
		switch v := v.(type) {
		case nil:
			delete(m, k)
		case bool:
			if !v {
				delete(m, k)
			}
		case float64:
			if v == 0 {
				delete(m, k)
			}
		case string:
			if v == "" {
				delete(m, k)
			}
		case map[string]any:
			if len(v) == 0 {
				delete(m, k)
			}
		case []any:
			if len(v) == 0 {
				delete(m, k)
			}
		}
	}
	return m, nil
}
