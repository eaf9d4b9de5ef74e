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
	var recursive bool
	var dry string
	cmd := &cobra.Command{
		Use:   "apply -f FILE|DIR|-",
		Short: "Create or update runners, tasks, workflows, cron jobs, event sinks, users, groups, roles, role bindings, state stores, destinations, Kratix promises and resource requests from YAML or JSON files",
		Long: "Create or update the objects declared in files. A file holds one or more documents (YAML\n" +
			"separated by \"---\", or JSON), each with a kind and the API's fields:\n\n" +
			"  kind: Runner\n  name: examples\n  gitURL: https://example.com/scripts.git\n  branch: main\n" +
			"  ---\n  kind: Task\n  name: hello\n  runner: examples\n  command: ./hello.sh\n\n" +
			"A workflow is a DAG of steps, each a task or an inline job; runplane's manifest (kind: Workflow,\n" +
			"name or metadata.name, its fields beside them or under spec) and Relay's workflow file unchanged\n" +
			"(version: v1, steps, with its !Parameter, !Output and !Secret tags) are both read. A Relay file names\n" +
			"no workflow: it is named after its file (deploy.yaml is workflow deploy), or add name: NAME to it.\n\n" +
			"A cron job starts a task's job (or a workflow's run) on a schedule, as you (its owner):\n\n" +
			"  kind: CronJob\n  name: nightly\n  task: hello            # or workflow: NAME\n  schedule: \"0 3 * * *\"\n" +
			"  timezone: Europe/Paris  # optional; UTC by default\n  extra_vars: {name: cron}\n\n" +
			"Users, groups, roles and role bindings refer to each other by name, since their ids are assigned by\n" +
			"the server; users and groups belong to a provider (local unless given):\n\n" +
			"  kind: Group\n  name: operators\n  users: [alice]          # optional: the members, by username\n" +
			"  ---\n  kind: User\n  username: bob\n  password: changeme-now  # needed to create a local user\n" +
			"  groups: [operators]     # optional: the user's groups, by name\n" +
			"  ---\n  kind: Role\n  name: run-hello\n  resource: jobs\n  resource_ids: [hello]\n  access: write\n" +
			"  ---\n  kind: RoleBinding\n  name: operators-run-hello\n  role: run-hello\n  group: operators\n\n" +
			"An event sink receives runplane's CloudEvents (job and run state changes) whose types start with\n" +
			"one of its prefixes; a header carrying a credential names a runner secret:\n\n" +
			"  kind: EventSink\n  name: ops\n  url: https://hooks.example.com/runplane\n  types: [dev.runplane.job.]\n" +
			"  headers:\n    Authorization: {secretRef: {runner: examples, key: hook_token}}\n\n" +
			"State stores and destinations are read as Kratix writes them, unchanged (kind GitStateStore or\n" +
			"Destination, apiVersion platform.kratix.io/v1alpha1, metadata.labels the destination's scheduling\n" +
			"labels), and runplane's own DirectoryStateStore:\n\n" +
			"  apiVersion: platform.runplane.dev/v1alpha1\n  kind: DirectoryStateStore\n  metadata: {name: local}\n" +
			"  spec: {path: /var/lib/runplane/state}\n\n" +
			"A Krateo CompositionDefinition (apiVersion core.krateo.io/v1alpha1) is read as Krateo's own file,\n" +
			"unchanged; the server reads its chart and apply says whether it is ready (its type) or why not.\n" +
			"A Kratix Promise (apiVersion platform.kratix.io/v1alpha1, kind: Promise) is read as Kratix's own file,\n" +
			"unchanged. A document of any other kind whose apiVersion is a group/version is a resource request of a\n" +
			"promise's API: its apiVersion and kind are looked up among the promises the files declare and the server\n" +
			"has, and its spec is checked against that API's schema (defaults applied) before it is sent.\n\n" +
			"A directory means its *.yaml, *.yml and *.json files, in name order; \"-\" means stdin. Every document\n" +
			"is checked before anything is sent, including that every name it refers to exists on the server or\n" +
			"is declared in the files. Objects are applied in this order: runners, tasks, workflows, cron jobs, event sinks, then groups\n" +
			"are created " + "(without members) so that users can name them, users are applied, group members are set, and roles\n" +
			"and role bindings follow. Membership declared on either side counts: a user ends up in a group when\n" +
			"the user's groups or the group's users name it; a side not declared is left as it is.\n\n" +
			"Applying the same files again changes nothing and says \"unchanged\". A runner whose document\n" +
			"carries a token, an image_pull_secret or secret values, or a user whose document carries a password,\n" +
			"is always sent and says \"configured\", since the server never shows them back. Setting a password ends that user's\n" +
			"sessions, so passwords of existing users are set last; leave them out of files applied often.\n\n" +
			"Before it changes anything, apply has the server check every change as one dry run (the server's own\n" +
			"validation, schema limits, image allowlist, permissions and names taken): if it would refuse one,\n" +
			"nothing is sent. --dry-run stops there and prints what would happen, storing nothing.",
		Example: "  runplane apply -f examples/ --dry-run\n  runplane apply -f examples/\n  runplane apply -f runner.yaml -f task.yaml\n  runplane apply -f users.yaml\n" +
			"  runplane apply -f deploy.yaml         # a Relay workflow file: workflow deploy\n" +
			"  runplane apply -f redis-promise.yaml  # a Kratix promise, then requests of its API: apply -f redis-request.yaml",
		Args: checkArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(files) == 0 {
				return usage(cmd, "-f is required")
			}
			if dry != "none" && dry != "server" {
				return usage(cmd, "--dry-run: want server or none, got %q", dry)
			}
			ms, err := a.loadManifests(files, recursive)
			if err != nil {
				return err
			}
			c, err := a.connect()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			identity, err := newIdentityApply(ctx, c, ms)
			if err != nil {
				return err
			}
			if err := resolveRequests(ctx, c, ms); err != nil {
				return err
			}
			plan, err := planRunnersTasks(ctx, c, ms)
			if err != nil {
				return err
			}
			if identity != nil {
				ip, err := identity.plan()
				if err != nil {
					return fmt.Errorf("apply: %w", err)
				}
				plan = append(plan, ip...)
			}
			if dry == "server" {
				return dryRun(ctx, c, plan, a.stdout)
			}
			if err := dryRun(ctx, c, plan, nil); errors.Is(err, errNoDryRun) {
				fmt.Fprintln(a.stderr, "Warning: the server cannot dry-run, so the documents were checked locally only")
			} else if err != nil {
				return err
			}
			for _, m := range ms {
				if m.kind != kindRunner && m.kind != kindTask && m.kind != kindWorkflow && m.kind != kindCronJob &&
					m.kind != kindEventSink && m.kind != kindEventRules && !api.IsStateStoreManifestKind(m.kind) &&
					m.kind != kindPromise && m.kind != kindRequest && m.kind != kindDefinition && m.kind != kindComposition {
					continue
				}
				result, err := applyOne(ctx, c, m)
				if err != nil {
					return fmt.Errorf("apply %s: %w", m.source, err)
				}
				fmt.Fprintf(a.stdout, "%s %s\n", m.ref(), result)
			}
			if identity != nil {
				return identity.apply(ctx, a.stdout)
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&files, "filename", "f", nil, "file, directory or - (stdin) holding the documents; repeatable")
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
	cmd.Flags().StringVar(&dry, "dry-run", "none", "server: have the server check every change and print what would happen, storing nothing")
	cmd.Flags().Lookup("dry-run").NoOptDefVal = "server"
	cmd.Flags().BoolVarP(&recursive, "recursive", "R", false, "read the directories given with -f and all their subdirectories")
	return cmd
}

// loadManifests reads and checks every document, and orders them by kind as kinds lists them (otherwise keeping
// file order).
func (a *app) loadManifests(files []string, recursive bool) ([]manifest, error) {
	srcs, err := readManifestSources(files, a.stdin, recursive)
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
		return slices.Index(kinds, x.kind) - slices.Index(kinds, y.kind)
	})
	return ms, nil
}

// applyOne creates a runner, task or workflow or brings the server's object in line with it, and says which it
// did.
func applyOne(ctx context.Context, c *client.Client, m manifest) (string, error) {
	switch m.kind {
	case kindCronJob:
		return applyCronJob(ctx, c, m)
	case kindEventSink:
		return upsert(ctx, m.sink, m.sink.Name, c.GetEventSink, c.CreateEventSink, c.UpdateEventSink, sameFields)
	case kindEventRules:
		return upsert(ctx, m.rules, m.rules.Name, c.GetEventRules, c.CreateEventRules, c.UpdateEventRules, sameRules)
	case kindPromise:
		return applyPromise(ctx, c, m)
	case kindDefinition:
		return applyDefinition(ctx, c, m)
	case kindRequest:
		return applyRequest(ctx, c, m)
	case kindComposition:
		return applyComposition(ctx, c, m)
	case kindWorkflow:
		return applyWorkflow(ctx, c, m.flow)
	case kindRunner:
		return upsert(ctx, m.runner, m.runner.Name, c.GetRunner, c.CreateRunner, c.UpdateRunner, runnerUnchanged)
	case kindGitStateStore, kindDirectoryStateStore:
		return upsert(ctx, m.store, m.store.Name, c.GetStateStore, c.CreateStateStore, c.UpdateStateStore, storeUnchanged)
	case kindDestination:
		return upsert(ctx, m.dest, m.dest.Name, c.GetDestination, c.CreateDestination, c.UpdateDestination, sameDestination)
	}
	return upsert(ctx, m.task, m.task.Name, c.GetTask, c.CreateTask, c.UpdateTask, sameFields)
}

// upsert creates want, or brings the server's object of that name in line with it, and says which it did:
// "created", "unchanged" (same(want, cur)) or "configured".
func upsert[T any](ctx context.Context, want T, name string, get func(context.Context, string) (T, error),
	create, update func(context.Context, T) (T, error), same func(want, cur T) bool) (string, error) {
	cur, err := get(ctx, name)
	if errors.Is(err, client.ErrNotFound) {
		_, err = create(ctx, want)
		return "created", err
	}
	if err != nil {
		return "", err
	}
	if same(want, cur) {
		return "unchanged", nil
	}
	_, err = update(ctx, want)
	return "configured", err
}

// runnerUnchanged compares a declared runner with the server's masked view. Secret values cannot be compared,
// so a declaration carrying any (other than the mask itself) always counts as a change.
func runnerUnchanged(want, cur api.Runner) bool {
	if (want.Token != "" && want.Token != api.Mask) || (want.ImagePullSecret != "" && want.ImagePullSecret != api.Mask) {
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

// sameRules compares a declared rule set with the server's, whose owner and times the server sets.
func sameRules(want, cur api.EventRules) bool {
	cur.Owner, cur.CreateTime, cur.UpdateTime = want.Owner, want.CreateTime, want.UpdateTime
	return sameFields(want, cur)
}

// sameFields compares two API objects by their JSON, treating absent and zero-valued top-level fields alike
// (false, 0, "", null, {} and [] all mean "not set"). Nested values, such as a schema, compare exactly.
func sameFields[T any](a, b T) bool {
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
