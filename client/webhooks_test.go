package client_test

import (
	"errors"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
	"github.com/runplane/runplane/internal/server/servertest"
)

func TestWebhooks(t *testing.T) {
	url := servertest.Start(t)
	c := newClient(t, url)
	ctx := t.Context()
	w, err := c.CreateWebhook(ctx, api.Webhook{Task: "later", Description: "from NetBox", Scheme: api.WebhookSchemeNetBox})
	if err != nil {
		t.Fatalf("CreateWebhook: %v", err)
	}
	if w.ID == "" || w.Secret == "" || w.Scheme != api.WebhookSchemeNetBox || w.Owner != rootUser(t, c).ID {
		t.Fatalf("CreateWebhook = %+v, want an id, a made secret, scheme netbox, owned by root", w)
	}
	got, err := c.GetWebhook(ctx, w.ID)
	if err != nil || got.Secret != "" || got.Description != "from NetBox" {
		t.Errorf("GetWebhook = %+v, %v; want it without its secret", got, err)
	}
	for name, list := range map[string]func() ([]api.Webhook, error){
		"ListWebhooks":    func() ([]api.Webhook, error) { return c.ListWebhooks(ctx) },
		"ListAllWebhooks": func() ([]api.Webhook, error) { return c.ListAllWebhooks(ctx) },
	} {
		if ws, err := list(); err != nil || len(ws) != 1 || ws[0].ID != w.ID || ws[0].Secret != "" {
			t.Errorf("%s = %+v, %v; want the webhook without its secret", name, ws, err)
		}
	}
	if _, err := c.CreateWebhook(ctx, api.Webhook{Task: "t", Secret: "short"}); !errors.Is(err, client.ErrInvalid) {
		t.Errorf("CreateWebhook(short secret) error = %v, want ErrInvalid", err)
	}
	if err := c.DeleteWebhook(ctx, w.ID); err != nil {
		t.Fatalf("DeleteWebhook: %v", err)
	}
	if _, err := c.GetWebhook(ctx, w.ID); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("GetWebhook after delete error = %v, want ErrNotFound", err)
	}
}
