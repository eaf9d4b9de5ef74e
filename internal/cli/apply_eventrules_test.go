package cli_test

import (
	"strings"
	"testing"
)

// TestApplyEventRules: a Keptn job-executor config with kind EventRules and a name is applied like any document:
// created, unchanged when applied again, configured when changed; an unknown key is refused before anything is sent.
func TestApplyEventRules(t *testing.T) {
	h := newHarness(t, true)
	doc := `kind: EventRules
name: deploy
apiVersion: v2
actions:
  - name: "Hello World"
    events:
      - name: "sh.keptn.event.deployment.triggered"
    tasks:
      - name: "Greet the world"
        image: "alpine"
        cmd: ["echo"]
        args: ["Hello World"]
`
	steps := []struct{ doc, want string }{
		{doc, "eventrules/deploy created\n"},
		{doc, "eventrules/deploy unchanged\n"},
		{strings.Replace(doc, "Hello World\"]", "Hello again\"]", 1), "eventrules/deploy configured\n"},
	}
	for _, s := range steps {
		if got := h.ok(s.doc, "apply", "-f", "-"); got != s.want {
			t.Errorf("apply printed %q, want %q", got, s.want)
		}
	}
	if err := h.fail(doc+"extra: 1\n", "apply", "-f", "-"); !strings.Contains(err, `unknown field "extra"`) {
		t.Errorf("apply with an unknown key: %q, want it refused naming the key", err)
	}
	if err := h.fail(strings.Replace(doc, "apiVersion: v2", "apiVersion: v1", 1), "apply", "-f", "-"); !strings.Contains(err, "apiVersion v1 is not supported, use v2") {
		t.Errorf("apply with apiVersion v1: %q", err)
	}
}
