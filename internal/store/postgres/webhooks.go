package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

const webhookCols = `id, owner, description, task, workflow, scheme, create_time, update_time`

// CreateWebhook stores a webhook with its secret sealed; ErrConflict if the id is taken, ErrInvalid if the owner
// does not exist or the secret is empty.
func (s *Store) CreateWebhook(ctx context.Context, w api.Webhook) (api.Webhook, error) {
	if w.ID == "" {
		w.ID = uuid.NewString()
	}
	if w.Scheme == "" {
		w.Scheme = api.WebhookSchemeAuto
	}
	store.SetAuditTarget(ctx, w.ID)
	now := s.now()
	w.CreateTime, w.UpdateTime = storedTime(w.CreateTime, now), storedTime(w.UpdateTime, now)
	for _, v := range []string{w.ID, w.Owner, w.Description, w.Task, w.Workflow, string(w.Scheme)} {
		if !textOK(v) {
			return api.Webhook{}, invalidf("webhook %q: text that is not UTF-8 or holds NUL", w.ID)
		}
	}
	if w.Secret == "" {
		return api.Webhook{}, invalidf("webhook %q: a secret is required", w.ID)
	}
	sealed, err := store.SealWebhookSecret(s.cipher, w)
	if err != nil {
		return api.Webhook{}, wrap(err, "postgres: create webhook %q", w.ID)
	}
	// Under catalogLock, so that DeleteUser cannot remove the owner between the check and the insert.
	err = s.write(ctx, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)`, w.Owner).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return invalidf("owner %q does not exist", w.Owner)
		}
		_, err := tx.Exec(ctx, `INSERT INTO webhooks (`+webhookCols+`, secret_enc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			w.ID, w.Owner, w.Description, w.Task, w.Workflow, string(w.Scheme), w.CreateTime, w.UpdateTime, sealed)
		if violated(err) == "webhooks_pkey" {
			return conflictf("webhook %q already exists", w.ID)
		}
		return err
	})
	if err != nil {
		return api.Webhook{}, wrap(err, "postgres: create webhook %q", w.ID)
	}
	return w, nil
}

// GetWebhook returns a webhook with its secret opened; ErrNotFound if absent.
func (s *Store) GetWebhook(ctx context.Context, id string) (api.Webhook, error) {
	if !textOK(id) {
		return api.Webhook{}, notFoundf("webhook %q not found", id)
	}
	var sealed []byte
	w, err := scanWebhook(s.pool.QueryRow(ctx, `SELECT `+webhookCols+`, secret_enc FROM webhooks WHERE id = $1`, id), &sealed)
	if missing(err) {
		return api.Webhook{}, notFoundf("webhook %q not found", id)
	}
	if err != nil {
		return api.Webhook{}, wrap(err, "postgres: get webhook %q", id)
	}
	if err := store.OpenWebhookSecret(s.cipher, &w, sealed); err != nil {
		return api.Webhook{}, fmt.Errorf("postgres: get webhook: %w", err)
	}
	return w, nil
}

// ListWebhooks returns the webhooks of owner, every webhook when owner is "", ordered by creation time (then
// id), without their secrets; never nil.
func (s *Store) ListWebhooks(ctx context.Context, owner string) ([]api.Webhook, error) {
	if !textOK(owner) {
		return []api.Webhook{}, nil // no user has such an id
	}
	var rows pgx.Rows
	var err error
	if owner == "" {
		rows, err = s.pool.Query(ctx, `SELECT `+webhookCols+` FROM webhooks ORDER BY create_time, id`)
	} else {
		rows, err = s.pool.Query(ctx, `SELECT `+webhookCols+` FROM webhooks WHERE owner = $1 ORDER BY create_time, id`, owner)
	}
	if err != nil {
		return nil, wrap(err, "postgres: list webhooks")
	}
	ws, err := collect(rows, func(row pgx.Row) (api.Webhook, error) { return scanWebhook(row, nil) })
	if err != nil {
		return nil, wrap(err, "postgres: list webhooks")
	}
	return ws, nil
}

// DeleteWebhook removes a webhook; ErrNotFound if absent.
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	if !textOK(id) {
		return notFoundf("webhook %q not found", id)
	}
	store.SetAuditTarget(ctx, id)
	err := s.change(ctx, func(q dbtx) error {
		tag, err := q.Exec(ctx, `DELETE FROM webhooks WHERE id = $1`, id)
		return oneRow(tag, err, "webhook", id)
	})
	return wrap(err, "postgres: delete webhook %q", id)
}

// scanWebhook scans webhookCols, and the sealed secret after them into sealed when it is not nil.
func scanWebhook(row pgx.Row, sealed *[]byte) (api.Webhook, error) {
	var w api.Webhook
	var scheme string
	var created, updated time.Time
	dest := []any{&w.ID, &w.Owner, &w.Description, &w.Task, &w.Workflow, &scheme, &created, &updated}
	if sealed != nil {
		dest = append(dest, sealed)
	}
	if err := row.Scan(dest...); err != nil {
		return api.Webhook{}, err
	}
	w.Scheme, w.CreateTime, w.UpdateTime = api.WebhookScheme(scheme), created.UTC(), updated.UTC()
	return w, nil
}
