package api_test

import (
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
)

func TestWebhookValidate(t *testing.T) {
	tests := []struct {
		name    string
		w       api.Webhook
		wantErr string
	}{
		{"task", api.Webhook{Task: "hello"}, ""},
		{"workflow and scheme", api.Webhook{Workflow: "deploy", Scheme: api.WebhookSchemeGitHub, Secret: "test-secret-key"}, ""},
		{"Kriten's docs' secret", api.Webhook{Task: "hello-kriten", Secret: "supersecret"}, ""},
		{"no target", api.Webhook{}, "task or workflow is required"},
		{"both targets", api.Webhook{Task: "a", Workflow: "b"}, "name one of them"},
		{"bad task name", api.Webhook{Task: "a b"}, "task:"},
		{"short secret", api.Webhook{Task: "a", Secret: "k3y!"}, "secret shorter than 8"},
		{"long secret", api.Webhook{Task: "a", Secret: strings.Repeat("s", api.MaxWebhookSecret+1)}, "secret longer"},
		{"secret with a newline", api.Webhook{Task: "a", Secret: "secret\nsecret"}, "printable"},
		{"unknown scheme", api.Webhook{Task: "a", Scheme: "svix"}, `scheme "svix"`},
		{"description with spaces around", api.Webhook{Task: "a", Description: " x "}, "spaces"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.w.Validate()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Validate() = %v, want %q", err, tt.wantErr)
			}
			if err != nil && tt.w.Secret != "" && strings.Contains(err.Error(), tt.w.Secret) {
				t.Errorf("Validate() = %v quotes the secret", err)
			}
		})
	}
}

func FuzzWebhookValidate(f *testing.F) {
	f.Add("hello", "", "supersecret", "auto", "desc")
	f.Add("", "flow", "whsec_AAAA", "github", "")
	f.Fuzz(func(t *testing.T, task, workflow, secret, scheme, desc string) {
		w := api.Webhook{Task: task, Workflow: workflow, Secret: secret, Scheme: api.WebhookScheme(scheme), Description: desc}
		err := w.Validate()
		if err != nil && len(secret) >= 4 && strings.Contains(err.Error(), secret) {
			t.Fatalf("Validate() = %v quotes the secret", err)
		}
		if err == nil && ((task == "") == (workflow == "") || !api.ValidWebhookScheme(w.Scheme)) {
			t.Fatalf("Validate(%+v) = nil", w)
		}
	})
}
