package store

import (
	"context"
	"fmt"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/secret"
)

// Webhooks stores webhooks by id. A webhook's secret is plaintext at this boundary and sealed at rest, bound to
// its row (WebhookBinding).
type Webhooks interface {
	// CreateWebhook stores w (an id is made when w.ID is empty) and returns it as stored, secret included;
	// ErrConflict if the id is taken, ErrInvalid if the owner does not exist. The secret is required.
	CreateWebhook(ctx context.Context, w api.Webhook) (api.Webhook, error)
	// GetWebhook returns a webhook with its secret opened; ErrNotFound if absent.
	GetWebhook(ctx context.Context, id string) (api.Webhook, error)
	// ListWebhooks returns the webhooks of owner, every webhook when owner is "", ordered by creation time (then
	// id), WITHOUT their secrets; never nil.
	ListWebhooks(ctx context.Context, owner string) ([]api.Webhook, error)
	// DeleteWebhook removes a webhook; ErrNotFound if absent.
	DeleteWebhook(ctx context.Context, id string) error
}

// WebhookBinding is what webhook id's sealed secret is bound to (AES-GCM additional data): a sealed secret copied
// into another webhook's row does not open there.
func WebhookBinding(id string) string { return "webhook/" + id + "/secret" }

// SealWebhookSecret seals w's secret for storage; an empty secret is refused (a delivery signed with an empty key
// proves nothing).
func SealWebhookSecret(c *secret.Cipher, w api.Webhook) ([]byte, error) {
	if w.Secret == "" {
		return nil, fmt.Errorf("webhook %q: %w: a secret is required", w.ID, ErrInvalid)
	}
	b, err := c.Seal([]byte(w.Secret), WebhookBinding(w.ID))
	if err != nil {
		return nil, fmt.Errorf("webhook %q: seal secret: %w", w.ID, err)
	}
	return b, nil
}

// OpenWebhookSecret opens the sealed secret of webhook w.ID into w.Secret.
func OpenWebhookSecret(c *secret.Cipher, w *api.Webhook, sealed []byte) error {
	b, err := c.Open(sealed, WebhookBinding(w.ID))
	if err != nil {
		return fmt.Errorf("webhook %q: open secret (is this the key the store was created with, and the row it "+
			"was sealed for?): %w", w.ID, err)
	}
	w.Secret = string(b)
	return nil
}
