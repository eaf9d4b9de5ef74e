package cli_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/api"
)

func TestWebhook(t *testing.T) {
	h := newHarness(t, true)
	if got := h.fail("", "webhook", "create", "--scheme", "github"); !strings.Contains(got, "task or workflow is required") {
		t.Errorf("webhook create without a target: stderr %q", got)
	}
	if got := h.fail("", "webhook", "create", "--task", "t", "--scheme", "svix"); !strings.Contains(got, `scheme "svix"`) {
		t.Errorf("webhook create with an unknown scheme: stderr %q", got)
	}
	r := h.run("the-shared-key-42\n", "webhook", "create", "--task", "on-change", "--scheme", "netbox",
		"--description", "NetBox devices", "--secret-stdin")
	if r.code != 0 {
		t.Fatalf("webhook create: exit %d, stderr %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "secret: the-shared-key-42\n") || !strings.Contains(r.stderr, "will not be shown again") ||
		strings.Contains(r.stderr, "the-shared-key-42") {
		t.Errorf("webhook create: stdout %q stderr %q, want the secret once on stdout and a warning on stderr", r.stdout, r.stderr)
	}
	made := h.ok("", "webhook", "create", "--workflow", "deploy", "--scheme", "github")
	if !strings.Contains(made, "secret: whsec_") {
		t.Errorf("webhook create without a secret: stdout %q, want a made one", made)
	}

	hooks := unmarshal[[]api.Webhook](t, h.ok("", "get", "webhooks", "-o", "json"))
	if len(hooks) != 2 || hooks[0].Secret != "" || hooks[1].Secret != "" || !strings.Contains(r.stdout, hooks[0].ID) {
		t.Fatalf("get webhooks = %+v, want both, without secrets", hooks)
	}
	want := [][]string{{"ID", "TARGET", "SCHEME", "DESCRIPTION"},
		{hooks[0].ID, "task/on-change", "netbox", "NetBox", "devices"}, {hooks[1].ID, "workflow/deploy", "github", "-"}}
	for _, args := range [][]string{{"get", "webhooks"}, {"webhook", "list"}, {"get", "webhooks", "--all"}} {
		if got := table(h.ok("", args...)); !cmp.Equal(got, want) {
			t.Errorf("%v = %v, want %v", args, got, want)
		}
	}
	if got := table(h.ok("", "get", "webhook", hooks[1].ID)); !cmp.Equal(got, [][]string{want[0], want[2]}) {
		t.Errorf("get webhook %s = %v", hooks[1].ID, got)
	}
	if got, wantOut := h.ok("", "delete", "webhook", hooks[0].ID), "webhook/"+hooks[0].ID+" deleted\n"; got != wantOut {
		t.Errorf("delete webhook: %q, want %q", got, wantOut)
	}
	if got, wantOut := h.ok("", "webhook", "delete", hooks[1].ID), "webhook/"+hooks[1].ID+" deleted\n"; got != wantOut {
		t.Errorf("webhook delete: %q, want %q", got, wantOut)
	}
	if got := h.fail("", "get", "webhook", hooks[1].ID); !strings.Contains(got, "(404)") {
		t.Errorf("get a deleted webhook: stderr %q, want 404", got)
	}
}
