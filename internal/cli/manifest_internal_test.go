package cli

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/workflow"
)

func TestSplitYAML(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"one", "a: 1\n", []string{"a: 1\n"}},
		{"leading separator", "---\na: 1\n", []string{"", "a: 1\n"}},
		{"two", "a: 1\n---\nb: 2\n", []string{"a: 1\n", "b: 2\n"}},
		{"separator with trailing spaces", "a: 1\n---  \nb: 2", []string{"a: 1\n", "b: 2\n"}},
		{"not a separator", "a: ---\n--- # c\nb: '---'\n", []string{"a: ---\n--- # c\nb: '---'\n"}},
		{"CRLF", "a: 1\r\n---\r\nb: 2\r\n", []string{"a: 1\n", "b: 2\n"}},
	}
	for _, tt := range tests {
		var got []string
		for _, d := range splitYAML([]byte(tt.in)) {
			got = append(got, string(d))
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: splitYAML(%q) (-want +got):\n%s", tt.name, tt.in, diff)
		}
	}
}

func TestParseManifests(t *testing.T) {
	runner := api.Runner{Name: "r", GitURL: "https://example.com/r.git"}
	tests := []struct {
		name    string
		json    bool
		in      string
		want    []manifest
		wantErr string
	}{
		{name: "flat YAML", in: "kind: Runner\nname: r\ngitURL: https://example.com/r.git\n",
			want: []manifest{{source: "f (document 1)", kind: kindRunner, runner: runner}}},
		{name: "kubernetes form", in: "apiVersion: v1\nkind: Runner\nmetadata: {name: r}\nspec: {gitURL: 'https://example.com/r.git'}\n",
			want: []manifest{{source: "f (document 1)", kind: kindRunner, runner: runner}}},
		{name: "comments and empty documents skipped",
			in: "# header\n---\n---\nkind: Task\nname: t\nrunner: r\ncommand: ./x\ntimeout: 90\nsync_timeout: 1m\nschema: {type: object}\n---\n# end\n",
			want: []manifest{{source: "f (document 1)", kind: kindTask, task: api.Task{Name: "t", Runner: "r", Command: "./x",
				Timeout: api.Duration(90 * time.Second), SyncTimeout: api.Duration(time.Minute), Schema: json.RawMessage(`{"type":"object"}`)}}}},
		{name: "JSON stream and array", json: true,
			in: `{"kind":"Runner","name":"r","gitURL":"https://example.com/r.git"} [{"kind":"Task","name":"t","runner":"r","command":"x"}]`,
			want: []manifest{{source: "f (document 1)", kind: kindRunner, runner: runner},
				{source: "f (document 2)", kind: kindTask, task: api.Task{Name: "t", Runner: "r", Command: "x"}}}},
		{name: "duplicate key", in: "kind: Runner\nname: a\nname: b\n", wantErr: "apply f (document 1): invalid YAML"},
		{name: "name in metadata and spec", in: "kind: Task\nmetadata: {name: a}\nspec: {name: a}\n", wantErr: "name is given both"},
		{name: "fields beside spec", in: "kind: Task\nspec: {name: a}\nrunner: r\n", wantErr: "must hold its fields under spec"},
		{name: "wrong type", in: "kind: Task\nname: t\nrunner: r\ncommand: x\nsynchronous: sometimes\n", wantErr: "Task: cannot unmarshal"},
		{name: "scalar", in: "hello\n", wantErr: "a document must be a mapping"},
		{name: "kind not a string", in: "kind: [Runner]\n", wantErr: "kind is missing"},
		{name: "user, group, role and binding",
			in: "kind: User\nusername: alice\npassword: alice-password\ngroups: [ops]\n---\n" +
				"kind: Group\nname: ops\nprovider: active_directory\nusers: [bob]\n---\n" +
				"kind: Role\nname: r\nresource: jobs\nresource_names: [hello]\naccess: write\n---\n" +
				"kind: RoleBinding\nname: b\nrole: r\ngroup: ops\n",
			want: []manifest{
				{source: "f (document 1)", kind: kindUser, user: userDoc{Username: "alice", Provider: api.ProviderLocal, Password: "alice-password", Groups: []string{"ops"}}},
				{source: "f (document 2)", kind: kindGroup, group: groupDoc{Name: "ops", Provider: api.ProviderActiveDirectory, Users: []string{"bob"}}},
				{source: "f (document 3)", kind: kindRole, role: roleDoc{Name: "r", Resource: "jobs", ResourceNames: []string{"hello"}, Access: api.AccessWrite}},
				{source: "f (document 4)", kind: kindRoleBinding, binding: bindingDoc{Name: "b", Role: "r", Group: "ops", Provider: api.ProviderLocal}},
			}},
		{name: "user in kubernetes form", in: "kind: User\nmetadata: {name: DOMAIN\\jane}\nspec: {provider: active_directory, groups: []}\n",
			want: []manifest{{source: "f (document 1)", kind: kindUser,
				user: userDoc{Username: `DOMAIN\jane`, Provider: api.ProviderActiveDirectory, Groups: []string{}}}}},
		{name: "group without users", json: true, in: `{"kind":"Group","name":"g"}`,
			want: []manifest{{source: "f (document 1)", kind: kindGroup, group: groupDoc{Name: "g", Provider: api.ProviderLocal}}}},
		{name: "user named by name", in: "kind: User\nname: alice\n", wantErr: `User: unknown field "name"`},
		{name: "user without username", in: "kind: User\npassword: long-enough\n", wantErr: "User: username is required"},
		{name: "username twice", in: "kind: User\nmetadata: {name: a}\nspec: {username: a}\n", wantErr: "username is given both"},
		{name: "short password", in: "kind: User\nusername: a\npassword: short\n", wantErr: "User: password must be at least"},
		{name: "directory user with password", in: "kind: User\nusername: a\nprovider: active_directory\npassword: long-enough\n",
			wantErr: "User: an active_directory user has no password"},
		{name: "unknown provider", in: "kind: Group\nname: g\nprovider: ldap\n", wantErr: `Group: unknown provider "ldap"`},
		{name: "group listed twice", in: "kind: User\nusername: a\ngroups: [x, x]\n", wantErr: `User: groups: "x" listed twice`},
		{name: "empty user name", in: "kind: Group\nname: g\nusers: ['']\n", wantErr: "Group: users: empty name"},
		{name: "group ids are not accepted", in: "kind: Group\nname: g\nuser_ids: [x]\n", wantErr: `Group: unknown field "user_ids"`},
		{name: "role ids and names", in: "kind: Role\nname: r\nresource: jobs\nresource_ids: [a]\nresource_names: [a]\naccess: read\n",
			wantErr: "Role: give resource_ids or resource_names, not both"},
		{name: "role without ids", in: "kind: Role\nname: r\nresource: jobs\naccess: read\n", wantErr: "Role: resource_ids is required"},
		{name: "role with unknown resource", in: "kind: Role\nname: r\nresource: widgets\nresource_ids: ['*']\naccess: read\n",
			wantErr: `Role: resource "widgets"`},
		{name: "role with bad access", in: "kind: Role\nname: r\nresource: jobs\nresource_ids: ['*']\naccess: admin\n",
			wantErr: `Role: access "admin"`},
		{name: "binding without group", in: "kind: RoleBinding\nname: b\nrole: r\n", wantErr: "RoleBinding: group is required"},
		{name: "binding without role", in: "kind: RoleBinding\nname: b\ngroup: g\n", wantErr: "RoleBinding: role is required"},
		{name: "binding by id", in: "kind: RoleBinding\nname: b\nrole_id: x\ngroup_id: y\n", wantErr: `RoleBinding: unknown field "group_id"`},
		{name: "binding with bad provider", in: "kind: RoleBinding\nname: b\nrole: r\ngroup: g\nprovider: x\n",
			wantErr: `RoleBinding: unknown provider "x"`},
		{name: "unknown kind lists all", in: "kind: Users\n", wantErr: `unknown kind "Users": want Runner, Task, Workflow, CronJob, EventSink, Group, User, Role, RoleBinding, EventRules, GitStateStore, DirectoryStateStore, Destination, Promise or CompositionDefinition, or the kind of a promise's API`},
		{name: "task with kubernetes settings pasted from a pod spec",
			in: "kind: Task\nmetadata: {name: t}\nspec:\n  runner: r\n  command: x\n  kubernetes:\n" +
				"    resources:\n      requests: {cpu: 100m, memory: 64Mi}\n      limits: {cpu: 1, nvidia.com/gpu: 1}\n" +
				"    serviceAccount: jobs\n    nodeSelector: {disktype: ssd}\n" +
				"    tolerations:\n    - {key: dedicated, operator: Equal, value: jobs, effect: NoSchedule}\n" +
				"    - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 300}\n" +
				"    imagePullSecrets: [regcred]\n    imagePullPolicy: IfNotPresent\n",
			want: []manifest{{source: "f (document 1)", kind: kindTask, task: api.Task{Name: "t", Runner: "r", Command: "x",
				Kubernetes: &api.TaskKubernetes{
					Resources: &api.ResourceRequirements{Requests: map[string]string{"cpu": "100m", "memory": "64Mi"},
						Limits: map[string]string{"cpu": "1", "nvidia.com/gpu": "1"}},
					ServiceAccount: "jobs", NodeSelector: map[string]string{"disktype": "ssd"},
					Tolerations: []api.Toleration{{Key: "dedicated", Operator: "Equal", Value: "jobs", Effect: "NoSchedule"},
						{Key: "node.kubernetes.io/unreachable", Operator: "Exists", Effect: "NoExecute", TolerationSeconds: ptr(int64(300))}},
					ImagePullSecrets: []string{"regcred"}, ImagePullPolicy: "IfNotPresent",
				}}}}},
		{name: "kubernetes field misspelt", in: "kind: Task\nname: t\nrunner: r\ncommand: x\nkubernetes: {nodeSelectr: {a: b}}\n",
			wantErr: `Task: unknown field "nodeSelectr"`},
		{name: "kubernetes resources misspelt", in: "kind: Task\nname: t\nrunner: r\ncommand: x\nkubernetes: {resources: {request: {cpu: 1}}}\n",
			wantErr: `Task: kubernetes.resources: unknown field "request": want requests or limits`},
		{name: "kubernetes bad quantity", in: "kind: Task\nname: t\nrunner: r\ncommand: x\nkubernetes: {resources: {limits: {memory: 64MB}}}\n",
			wantErr: `Task: kubernetes.resources.limits.memory: "64MB" is not a quantity`},
		{name: "kubernetes bad pull policy", in: "kind: Task\nname: t\nrunner: r\ncommand: x\nkubernetes: {imagePullPolicy: always}\n",
			wantErr: `Task: kubernetes.imagePullPolicy "always": want Always, IfNotPresent or Never`},
		{name: "kubernetes unquoted boolean label", in: "kind: Task\nname: t\nrunner: r\ncommand: x\nkubernetes: {nodeSelector: {gpu: true}}\n",
			wantErr: `Task: cannot unmarshal bool`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseManifests(manifestSource{name: "f", data: []byte(tt.in), json: tt.json})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseManifests(%q) error = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseManifests(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(manifest{})); diff != "" {
				t.Errorf("parseManifests(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func FuzzParseManifests(f *testing.F) {
	f.Add([]byte("kind: Runner\nname: r\ngitURL: https://example.com/r.git\n---\nkind: Task\nname: t\nrunner: r\ncommand: x\n"), false)
	f.Add([]byte("kind: Task\nmetadata: {name: t}\nspec: {runner: r, command: x, schema: {type: object}}\n"), false)
	f.Add([]byte("kind: Task\nname: t\nrunner: r\ncommand: x\nkubernetes: {resources: {limits: {cpu: 1}}, tolerations: [{operator: Exists}]}\n"), false)
	f.Add([]byte(`[{"kind":"Runner","name":"r"}] {"kind":"Task"}`), true)
	f.Add([]byte("kind: User\nusername: alice\npassword: alice-password\ngroups: [ops]\n---\nkind: Group\nname: ops\nusers: [alice]\n"), false)
	f.Add([]byte("kind: User\nmetadata: {name: jane}\nspec: {provider: active_directory}\n"), false)
	f.Add([]byte("kind: Role\nname: r\nresource: '*'\nresource_names: ['*']\naccess: read\n---\nkind: RoleBinding\nname: b\nrole: r\ngroup: g\n"), false)
	f.Add([]byte(`{"kind":"RoleBinding","name":"b","role":"r","group":"g","provider":"active_directory"} {"kind":"Group","name":"g","users":[""]}`), true)
	f.Add([]byte("kind: Workflow\nname: w\nsteps:\n  - {name: a, image: alpine, command: [sh, -c, 'true']}\n  - {name: b, task: t, dependsOn: a, when: ${parameters.x}}\n"), false)
	f.Add([]byte("version: v1\nname: r\nsteps:\n  - name: a\n    env: {X: !Parameter x}\n    input: [echo $X]\n"), false)
	f.Add([]byte(`{"kind":"Workflow","metadata":{"name":"w"},"spec":{"steps":[{"name":"a","task":"t"}]}}`), true)
	f.Fuzz(func(t *testing.T, data []byte, isJSON bool) {
		ms, err := parseManifests(manifestSource{name: "f", data: data, json: isJSON})
		if err != nil {
			return
		}
		for _, m := range ms {
			// Every document accepted is one the server could take: a known kind that validates.
			var verr error
			switch m.kind {
			case kindRunner:
				verr = m.runner.Validate()
			case kindTask:
				verr = m.task.Validate()
			case kindUser:
				u := api.User{Username: m.user.Username, Provider: m.user.Provider, Password: m.user.Password, Groups: m.user.Groups}
				verr = u.Validate(false)
			case kindGroup:
				g := api.Group{Name: m.group.Name, Provider: m.group.Provider, UserIDs: m.group.Users}
				verr = g.Validate()
			case kindRole:
				r := m.role.apiRole()
				verr = r.Validate()
			case kindRoleBinding:
				b := m.binding
				rb := api.RoleBinding{Name: b.Name, RoleName: b.Role, SubjectProvider: b.Provider, SubjectName: b.Group}
				verr = rb.Validate()
				if verr == nil && b.Group == "" {
					verr = errors.New("no group")
				}
			case kindWorkflow:
				verr = workflow.Validate(m.flow, nil)
				if verr == nil {
					verr = api.ValidateName(m.flow.Name)
				}
			default:
				t.Fatalf("accepted kind %q", m.kind)
			}
			if m.name() == "" {
				t.Fatalf("accepted a %s without a name", m.kind)
			}
			if verr != nil {
				t.Fatalf("accepted an invalid %s: %v", m.kind, verr)
			}
		}
	})
}

func TestRunnerUnchanged(t *testing.T) {
	stored := api.Runner{Name: "r", GitURL: "https://x/r.git", Branch: "main", Token: api.Mask, Secret: map[string]string{"K": api.Mask}}
	tests := []struct {
		name string
		want api.Runner
		cur  api.Runner
		same bool
	}{
		{"identical, default branch", api.Runner{Name: "r", GitURL: "https://x/r.git"}, api.Runner{Name: "r", GitURL: "https://x/r.git", Branch: "main"}, true},
		{"image changed", api.Runner{Name: "r", GitURL: "https://x/r.git", Image: "a"}, api.Runner{Name: "r", GitURL: "https://x/r.git"}, false},
		{"plain token cannot be compared", api.Runner{Name: "r", GitURL: "https://x/r.git", Branch: "main", Token: "t", Secret: map[string]string{"K": api.Mask}}, stored, false},
		{"plain secret cannot be compared", api.Runner{Name: "r", GitURL: "https://x/r.git", Token: api.Mask, Secret: map[string]string{"K": "v"}}, stored, false},
		{"masks compare", api.Runner{Name: "r", GitURL: "https://x/r.git", Token: api.Mask, Secret: map[string]string{"K": api.Mask}}, stored, true},
		{"token to remove", api.Runner{Name: "r", GitURL: "https://x/r.git", Secret: map[string]string{"K": api.Mask}}, stored, false},
		{"secret to remove", api.Runner{Name: "r", GitURL: "https://x/r.git", Token: api.Mask}, stored, false},
		{"empty secret value is absent", api.Runner{Name: "r", GitURL: "https://x/r.git", Secret: map[string]string{"K": ""}}, api.Runner{Name: "r", GitURL: "https://x/r.git"}, true},
	}
	for _, tt := range tests {
		if got := runnerUnchanged(tt.want, tt.cur); got != tt.same {
			t.Errorf("%s: runnerUnchanged = %v, want %v", tt.name, got, tt.same)
		}
	}
}

func TestSameFields(t *testing.T) {
	tests := []struct {
		name string
		a, b api.Task
		same bool
	}{
		{"zero values are absent", api.Task{Name: "t", Schema: json.RawMessage(`null`)}, api.Task{Name: "t", Synchronous: false}, true},
		{"schema compared by value", api.Task{Name: "t", Schema: json.RawMessage(`{"a":1,"b":[1]}`)}, api.Task{Name: "t", Schema: json.RawMessage(`{ "b": [1], "a": 1 }`)}, true},
		{"nested zero values count", api.Task{Name: "t", Schema: json.RawMessage(`{"default":""}`)}, api.Task{Name: "t", Schema: json.RawMessage(`{}`)}, false},
		{"timeout", api.Task{Name: "t", Timeout: api.Duration(time.Minute)}, api.Task{Name: "t", Timeout: api.Duration(60 * time.Second)}, true},
		{"synchronous", api.Task{Name: "t", Synchronous: true}, api.Task{Name: "t"}, false},
	}
	for _, tt := range tests {
		if got := sameFields(tt.a, tt.b); got != tt.same {
			t.Errorf("%s: sameFields = %v, want %v", tt.name, got, tt.same)
		}
	}
}

func TestAgeAndCell(t *testing.T) {
	now := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	ages := []struct {
		ago  time.Duration
		want string
	}{{-time.Second, "0s"}, {5 * time.Second, "5s"}, {119 * time.Second, "119s"}, {2 * time.Minute, "2m"},
		{3 * time.Hour, "3h"}, {47 * time.Hour, "47h"}, {72 * time.Hour, "3d"}}
	for _, tt := range ages {
		if got := age(now, now.Add(-tt.ago)); got != tt.want {
			t.Errorf("age(%v ago) = %q, want %q", tt.ago, got, tt.want)
		}
	}
	if got := age(now, time.Time{}); got != "-" {
		t.Errorf("age(zero) = %q, want -", got)
	}
	cells := []struct{ in, want string }{{"", "-"}, {"abc", "abc"}, {"abcdef", "abcd..."}, {"a\tb\nc", "a b..."}, {"ééééé", "éééé..."}}
	for _, tt := range cells {
		if got := cell(tt.in, 4); got != tt.want {
			t.Errorf("cell(%q, 4) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRefs(t *testing.T) {
	tests := []struct {
		m    manifest
		want string
	}{
		{manifest{kind: kindRunner, runner: api.Runner{Name: "r"}}, "runner/r"},
		{manifest{kind: kindUser, user: userDoc{Username: "alice", Provider: api.ProviderLocal}}, "user/alice"},
		{manifest{kind: kindUser, user: userDoc{Username: "jane", Provider: api.ProviderActiveDirectory}}, "user/jane (active_directory)"},
		{manifest{kind: kindGroup, group: groupDoc{Name: "ops", Provider: api.ProviderActiveDirectory}}, "group/ops (active_directory)"},
		{manifest{kind: kindRole, role: roleDoc{Name: "r"}}, "role/r"},
		{manifest{kind: kindRoleBinding, binding: bindingDoc{Name: "b", Provider: api.ProviderActiveDirectory}}, "rolebinding/b"},
	}
	for _, tt := range tests {
		if got := tt.m.ref(); got != tt.want {
			t.Errorf("ref(%s %q) = %q, want %q", tt.m.kind, tt.m.name(), got, tt.want)
		}
	}
}

func TestParseExpiry(t *testing.T) {
	now := time.Date(2026, 1, 10, 12, 0, 0, 500, time.UTC)
	at := func(s string) *time.Time {
		x, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return &x
	}
	tests := []struct {
		in      string
		want    *time.Time
		wantErr string
	}{
		{in: "", want: nil},
		{in: "720h", want: at("2026-02-09T12:00:00Z")},
		{in: "30d", want: at("2026-02-09T12:00:00Z")},
		{in: "90m", want: at("2026-01-10T13:30:00Z")},
		{in: "2027-01-01", want: at("2027-01-01T00:00:00Z")},
		{in: "2027-01-01T02:00:00+02:00", want: at("2027-01-01T00:00:00Z")},
		{in: "-1h", wantErr: "must be positive"},
		{in: "0d", wantErr: "must be positive"},
		{in: "2020-01-01", wantErr: "is in the past"},
		{in: "tomorrow", wantErr: "is not a duration"},
		{in: "1.5d", wantErr: "is not a duration"},
		{in: "99999999d", wantErr: "is not a duration"},
	}
	for _, tt := range tests {
		got, err := parseExpiry(tt.in, now)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseExpiry(%q) = %v, %v; want an error containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !cmp.Equal(tt.want, got) {
			t.Errorf("parseExpiry(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestPick(t *testing.T) {
	us := []api.User{
		{ID: "1", Username: "alice", Provider: api.ProviderLocal},
		{ID: "2", Username: "jane", Provider: api.ProviderLocal},
		{ID: "3", Username: "jane", Provider: api.ProviderActiveDirectory},
		{ID: "4", Username: "1", Provider: api.ProviderLocal},
	}
	id := func(u api.User) string { return u.ID }
	name := func(u api.User) string { return u.Username }
	tests := []struct {
		key, wantID, wantErr string
	}{
		{key: "alice", wantID: "1"},
		{key: "3", wantID: "3"},
		{key: "1", wantID: "1"}, // an id wins over a name
		{key: "jane", wantErr: `2 users are named "jane": name one by its id (2, 3)`},
		{key: "bob", wantErr: `user "bob" not found`},
	}
	for _, tt := range tests {
		got, err := pick("user", tt.key, us, id, name)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("pick(%q) = %+v, %v; want error %q", tt.key, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got.ID != tt.wantID {
			t.Errorf("pick(%q) = %+v, %v; want id %s", tt.key, got, err, tt.wantID)
		}
	}
}

func TestSameSet(t *testing.T) {
	tests := []struct {
		a, b []string
		want bool
	}{
		{nil, nil, true},
		{nil, []string{}, true},
		{[]string{"a", "b"}, []string{"b", "a"}, true},
		{[]string{"a"}, []string{"a", "b"}, false},
		{[]string{"a", "a"}, []string{"a"}, true},
	}
	for _, tt := range tests {
		if got := sameSet(tt.a, tt.b); got != tt.want {
			t.Errorf("sameSet(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
