package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"

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
	if w.Secret == "" {
		return api.Webhook{}, invalidf("webhook %q: a secret is required", w.ID)
	}
	sealed, err := store.SealWebhookSecret(s.cipher, w)
	if err != nil {
		return api.Webhook{}, wrap(err, "sqlite: create webhook %q", w.ID)
	}
	err = s.write(ctx, func(tx *wtx) error {
		var one int
		err := tx.queryRow(userExists, w.Owner).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return invalidf("owner %q does not exist", w.Owner)
		}
		if err != nil {
			return err
		}
		_, err = tx.exec(insertWebhook, w.ID, w.Owner, w.Description, w.Task, w.Workflow, string(w.Scheme),
			toNanos(w.CreateTime), toNanos(w.UpdateTime), sealed)
		if isPrimaryKey(err) {
			return conflictf("webhook %q already exists", w.ID)
		}
		return err
	}, userExists, insertWebhook)
	if err != nil {
		return api.Webhook{}, wrap(err, "sqlite: create webhook %q", w.ID)
	}
	return w, nil
}

// GetWebhook returns a webhook with its secret opened; ErrNotFound if absent.
func (s *Store) GetWebhook(ctx context.Context, id string) (api.Webhook, error) {
	var sealed []byte
	w, err := getOne(ctx, s.rs, func(row scanner) (api.Webhook, error) { return scanWebhook(row, &sealed) },
		notFoundf("webhook %q not found", id), fmt.Sprintf("sqlite: get webhook %q", id),
		`SELECT `+webhookCols+`, secret_enc FROM webhooks WHERE id = ?`, id)
	if err != nil {
		return api.Webhook{}, err
	}
	if err := store.OpenWebhookSecret(s.cipher, &w, sealed); err != nil {
		return api.Webhook{}, fmt.Errorf("sqlite: get webhook: %w", err)
	}
	return w, nil
}

// ListWebhooks returns the webhooks of owner, every webhook when owner is "", ordered by creation time (then
// id), without their secrets; never nil.
func (s *Store) ListWebhooks(ctx context.Context, owner string) ([]api.Webhook, error) {
	const what = "sqlite: list webhooks"
	scan := func(row scanner) (api.Webhook, error) { return scanWebhook(row, nil) }
	if owner == "" {
		return listAll(ctx, s.rs, scan, what, `SELECT `+webhookCols+` FROM webhooks ORDER BY create_time, id`)
	}
	return listAll(ctx, s.rs, scan, what,
		`SELECT `+webhookCols+` FROM webhooks WHERE owner = ? ORDER BY create_time, id`, owner)
}

// DeleteWebhook removes a webhook; ErrNotFound if absent.
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	store.SetAuditTarget(ctx, id)
	err := s.write(ctx, func(tx *wtx) error {
		res, err := tx.exec(deleteWebhook, id)
		return oneRow(res, err, "webhook", id)
	}, deleteWebhook)
	return wrap(err, "sqlite: delete webhook %q", id)
}

const (
	insertWebhook = `INSERT INTO webhooks (` + webhookCols + `, secret_enc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	deleteWebhook = `DELETE FROM webhooks WHERE id = ?`
)

// scanWebhook scans webhookCols, and the sealed secret after them into sealed when it is not nil.
func scanWebhook(row scanner, sealed *[]byte) (api.Webhook, error) {
	var w api.Webhook
	var scheme string
	var created, updated int64
	dest := []any{&w.ID, &w.Owner, &w.Description, &w.Task, &w.Workflow, &scheme, &created, &updated}
	if sealed != nil {
		dest = append(dest, sealed)
	}
	if err := row.Scan(dest...); err != nil {
		return api.Webhook{}, err
	}
	w.Scheme, w.CreateTime, w.UpdateTime = api.WebhookScheme(scheme), fromNanos(created), fromNanos(updated)
	return w, nil
}
