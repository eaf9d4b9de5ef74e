package cli_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/server/servertest"
)

// TestApplyEventSink: kind EventSink is created, left unchanged, configured, and checked before anything is sent.
func TestApplyEventSink(t *testing.T) {
	h := newHarness(t, true)
	runner := "kind: Runner\nname: hooks\ngitURL: " + h.gitURL + "\nsecret:\n  hook_token: Bearer abc\n"
	sink := "kind: EventSink\nname: ops\nurl: https://hooks.example.com/runplane\ntypes: [dev.runplane.job.]\n" +
		"headers:\n  X-Team: ops\n  Authorization: {secretRef: {runner: hooks, key: hook_token}}\n"
	if got, want := h.ok(runner+"---\n"+sink, "apply", "-f", "-"), "runner/hooks created\neventsink/ops created\n"; got != want {
		t.Errorf("apply printed %q, want %q", got, want)
	}
	if got, want := h.ok(sink, "apply", "-f", "-"), "eventsink/ops unchanged\n"; got != want {
		t.Errorf("re-apply printed %q, want %q", got, want)
	}
	// The Kubernetes form, with another URL.
	k8s := "apiVersion: runplane.io/v1\nkind: EventSink\nmetadata:\n  name: ops\nspec:\n  url: https://elsewhere.example.com/\n" +
		"  include_result: true\n"
	if got, want := h.ok(k8s, "apply", "-f", "-"), "eventsink/ops configured\n"; got != want {
		t.Errorf("apply of a changed sink printed %q, want %q", got, want)
	}
	c, err := client.New(h.url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(t.Context(), api.Login{Username: "root", Password: servertest.RootPassword, Provider: api.ProviderLocal}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetEventSink(t.Context(), "ops")
	if err != nil {
		t.Fatal(err)
	}
	want := api.EventSink{Name: "ops", URL: "https://elsewhere.example.com/", Types: []string{}, IncludeResult: true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sink after apply (-want +got):\n%s", diff)
	}

	for _, tt := range []struct{ name, doc, wantErr string }{
		{"bad url", "kind: EventSink\nname: bad\nurl: ftp://h/e\n", "want an http or https URL"},
		{"literal credential", "kind: EventSink\nname: bad\nurl: https://h/e\nheaders:\n  Authorization: Bearer x\n", "name a runner secret"},
		{"unknown secret", "kind: EventSink\nname: bad\nurl: https://h/e\nheaders:\n  Authorization: {secretRef: {runner: hooks, key: nope}}\n",
			`runner "hooks" has no secret "nope"`},
		{"unknown field", "kind: EventSink\nname: bad\nurl: https://h/e\nfilter: x\n", `unknown field "filter"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if out := h.fail(tt.doc, "apply", "-f", "-"); !strings.Contains(out, tt.wantErr) {
				t.Errorf("apply of %s printed %q, want %q", tt.name, out, tt.wantErr)
			}
			if _, err := c.GetEventSink(t.Context(), "bad"); err == nil {
				t.Errorf("apply of %s stored the sink", tt.name)
			}
		})
	}
}
