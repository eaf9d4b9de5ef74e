package storetest

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// webhook returns a webhook of owner for task, created and updated at(n).
func webhook(owner, task string, n int) api.Webhook {
	return api.Webhook{ID: uuid.NewString(), Owner: owner, Secret: "s3cret-of-" + task, Description: "hook " + task,
		Task: task, Scheme: api.WebhookSchemeStandard, CreateTime: at(n), UpdateTime: at(n)}
}

func createWebhook(t *testing.T, s store.Store, w api.Webhook) api.Webhook {
	t.Helper()
	got, err := s.CreateWebhook(t.Context(), w)
	must(t, "CreateWebhook", err)
	return got
}

// withoutSecret is w as lists show it.
func withoutSecret(w api.Webhook) api.Webhook {
	w.Secret = ""
	return w
}

func testWebhookRoundTrip(t *testing.T, s store.Store) {
	ann := createUser(t, s, user("ann", local))
	flow := webhook(ann.ID, "", 1)
	flow.Workflow, flow.Scheme, flow.Secret = "deploy", api.WebhookSchemeGitHub, "another s3cret, with spaces"
	defaulted := webhook(ann.ID, "hello", 2)
	defaulted.Scheme = ""
	tests := []struct {
		name string
		in   api.Webhook
		want func(api.Webhook) api.Webhook
	}{
		{"task", webhook(ann.ID, "hello", 0), func(w api.Webhook) api.Webhook { return w }},
		{"workflow", flow, func(w api.Webhook) api.Webhook { return w }},
		{"scheme defaults to auto", defaulted, func(w api.Webhook) api.Webhook { w.Scheme = api.WebhookSchemeAuto; return w }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want(tt.in)
			created := createWebhook(t, s, tt.in)
			if diff := cmp.Diff(want, created); diff != "" {
				t.Errorf("CreateWebhook() (-want +got):\n%s", diff)
			}
			got, err := s.GetWebhook(t.Context(), tt.in.ID)
			must(t, "GetWebhook", err)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("GetWebhook(%q) (-want +got):\n%s", tt.in.ID, diff)
			}
		})
	}
	// An id made by the store.
	noID := webhook(ann.ID, "made", 3)
	noID.ID = ""
	made := createWebhook(t, s, noID)
	if _, err := uuid.Parse(made.ID); err != nil {
		t.Errorf("CreateWebhook without an id made id %q, want a UUID", made.ID)
	}
}

func testWebhookCreateRefused(t *testing.T, s store.Store) {
	ann := createUser(t, s, user("ann", local))
	w := createWebhook(t, s, webhook(ann.ID, "hello", 0))
	sameID := webhook(ann.ID, "other", 1)
	sameID.ID = w.ID
	noSecret := webhook(ann.ID, "bare", 2)
	noSecret.Secret = ""
	missing := uuid.NewString()
	tests := []struct {
		name string
		in   api.Webhook
		kind error
		msg  string
	}{
		{"taken id", sameID, store.ErrConflict, fmt.Sprintf("webhook %q already exists", w.ID)},
		{"missing owner", webhook(missing, "hello", 3), store.ErrInvalid, fmt.Sprintf("owner %q does not exist", missing)},
		{"no secret", noSecret, store.ErrInvalid, fmt.Sprintf("webhook %q: a secret is required", noSecret.ID)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.CreateWebhook(t.Context(), tt.in)
			checkErr(t, "CreateWebhook", err, tt.kind, tt.msg)
		})
	}
	list, err := s.ListWebhooks(t.Context(), "")
	must(t, "ListWebhooks", err)
	if diff := cmp.Diff([]api.Webhook{withoutSecret(w)}, list); diff != "" {
		t.Errorf("ListWebhooks() after refused creates (-want +got):\n%s", diff)
	}
}

func testWebhookList(t *testing.T, s store.Store) {
	ann := createUser(t, s, user("ann", local))
	bob := createUser(t, s, user("bob", local))
	empty, err := s.ListWebhooks(t.Context(), "")
	must(t, "ListWebhooks", err)
	if empty == nil || len(empty) != 0 {
		t.Errorf("ListWebhooks() of an empty store = %#v, want []", empty)
	}
	a2 := createWebhook(t, s, webhook(ann.ID, "two", 2))
	b1 := createWebhook(t, s, webhook(bob.ID, "one", 1))
	a0 := createWebhook(t, s, webhook(ann.ID, "zero", 0))
	tests := []struct {
		owner string
		want  []api.Webhook
	}{
		{"", []api.Webhook{a0, b1, a2}},
		{ann.ID, []api.Webhook{a0, a2}},
		{bob.ID, []api.Webhook{b1}},
		{uuid.NewString(), []api.Webhook{}},
		{"not\x00text", []api.Webhook{}},
	}
	for _, tt := range tests {
		t.Run("owner "+tt.owner, func(t *testing.T) {
			got, err := s.ListWebhooks(t.Context(), tt.owner)
			must(t, "ListWebhooks", err)
			want := make([]api.Webhook, len(tt.want))
			for i, w := range tt.want {
				want[i] = withoutSecret(w) // lists never carry secrets
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ListWebhooks(%q) (-want +got):\n%s", tt.owner, diff)
			}
		})
	}
}

func testWebhookDelete(t *testing.T, s store.Store) {
	ann := createUser(t, s, user("ann", local))
	w := createWebhook(t, s, webhook(ann.ID, "hello", 0))
	keep := createWebhook(t, s, webhook(ann.ID, "keep", 1))
	must(t, "DeleteWebhook", s.DeleteWebhook(t.Context(), w.ID))
	for _, id := range []string{w.ID, uuid.NewString(), "not\x00text"} {
		_, err := s.GetWebhook(t.Context(), id)
		checkErr(t, "GetWebhook", err, store.ErrNotFound, fmt.Sprintf("webhook %q not found", id))
		checkErr(t, "DeleteWebhook", s.DeleteWebhook(t.Context(), id), store.ErrNotFound, "")
	}
	if got, err := s.GetWebhook(t.Context(), keep.ID); err != nil || got.Secret != keep.Secret {
		t.Errorf("GetWebhook(%q) after deleting another = %+v, %v; want it with its secret", keep.ID, got, err)
	}
	// A webhook outlives its owner (its deliveries are refused then).
	must(t, "DeleteUser", s.DeleteUser(t.Context(), ann.ID))
	if _, err := s.GetWebhook(t.Context(), keep.ID); err != nil {
		t.Errorf("GetWebhook(%q) after its owner was deleted: %v", keep.ID, err)
	}
}
