package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/audit"
	"github.com/runplane/runplane/internal/auth"
	"github.com/runplane/runplane/internal/jobs"
	"github.com/runplane/runplane/internal/runs"
	"github.com/runplane/runplane/internal/store"
	"github.com/runplane/runplane/internal/trigger"
	"github.com/runplane/runplane/internal/trigger/webhook"
)

// Webhooks, as Kriten has them: anyone may create webhooks for what they may start themselves and manage their
// own; other users' webhooks need webhooks access. The secret is answered once, by the create, and kept sealed.
// A delivery (POST /webhooks/run/{id}) carries no credentials: its signature is its authentication, and the job
// it starts runs as the webhook's owner, with the owner's rights at delivery time (trigger.Firer).

// errDelivery is the answer to every delivery that does not verify, whatever the reason (no signature, a bad one,
// a stale timestamp, an unknown webhook): a sender learns nothing but "no", and an unknown id cannot be told
// from a bad signature, so webhook ids cannot be probed.
var errDelivery = &auth.Error{Msg: "webhook authentication failed"}

// decoySecret is verified against when a delivery names no webhook, so that an unknown id costs the same work as
// a known one with a bad signature.
const decoySecret = "runplane-decoy-secret-never-matches"

func (h *Handler) listOwnWebhooks(w http.ResponseWriter, r *http.Request) error {
	p, _ := auth.PrincipalFrom(r.Context())
	all, err := h.st.ListWebhooks(r.Context(), p.UserID)
	if err != nil {
		return err
	}
	listOf(w, "webhooks", all, func(api.Webhook) bool { return true })
	return nil
}

func (h *Handler) listAllWebhooks(w http.ResponseWriter, r *http.Request) error {
	all, err := h.st.ListWebhooks(r.Context(), "")
	if err != nil {
		return err
	}
	p, _ := auth.PrincipalFrom(r.Context())
	ok := readable(r.Context(), api.ResourceWebhooks)
	listOf(w, "webhooks", all, func(x api.Webhook) bool { return x.Owner == p.UserID || ok(x.ID) })
	return nil
}

// createWebhook makes a webhook owned by the caller, who must be able to start its target now (a webhook widens
// no one's rights), and answers it with its secret: the given one, or one made here. It is the only time the
// secret is shown.
func (h *Handler) createWebhook(w http.ResponseWriter, r *http.Request) error {
	var in api.Webhook
	if err := decodeJSON(r.Body, &in); err != nil {
		return err
	}
	if in.ID != "" || in.Owner != "" {
		return api.Invalidf("id and owner are set by the server")
	}
	if err := in.Validate(); err != nil {
		return err
	}
	if err := mayStart(r.Context(), "webhook", in.Task, in.Workflow); err != nil {
		return err
	}
	if in.Secret == "" {
		s, err := newWebhookSecret()
		if err != nil {
			return err
		}
		in.Secret = s
	}
	p, _ := auth.PrincipalFrom(r.Context())
	in.Owner = p.UserID
	created, err := h.st.CreateWebhook(r.Context(), in)
	if err != nil {
		return storeErr(err)
	}
	return answer(w, created.ID, created)
}

// newWebhookSecret makes a secret of the Standard Webhooks form: "whsec_" and 24 random bytes in base64. Any
// sender can use it as text; Standard Webhooks libraries decode it.
func newWebhookSecret() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b), nil
}

func (h *Handler) getWebhook(w http.ResponseWriter, r *http.Request) error {
	x, err := h.st.GetWebhook(r.Context(), r.PathValue("id"))
	if err != nil {
		return storeErr(err)
	}
	x.Secret = "" // shown once, by the create
	writeJSON(w, http.StatusOK, x)
	return nil
}

func (h *Handler) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	if err := h.st.DeleteWebhook(r.Context(), r.PathValue("id")); err != nil {
		return storeErr(err)
	}
	return deleted(w, "webhook")
}

// runWebhook serves a delivery. Nothing runs unless the delivery verifies against the webhook's secret (401
// otherwise, for an unknown webhook too); the body, bounded like every request body, becomes the job's input (or
// the run's parameters); the work is submitted as the webhook's owner (403 when the owner may not start it now),
// with the delivery's id as the idempotency key, so a sender's retry answers the job its first attempt started.
func (h *Handler) runWebhook(w http.ResponseWriter, r *http.Request) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		if isBodyError(err) {
			return err
		}
		return api.Invalidf("read request body: %v", err)
	}
	id := r.PathValue("id")
	hook, err := h.st.GetWebhook(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		_, _ = webhook.Auto(r.Header, body, decoySecret, time.Now())
		h.log.InfoContext(r.Context(), "webhook delivery refused", "webhook", id, "reason", "no such webhook",
			"request_id", requestID(r.Context()))
		return errDelivery
	}
	if err != nil {
		return err
	}
	d, err := webhook.Verify(hook.Scheme, r.Header, body, hook.Secret, time.Now())
	if err != nil {
		// The verifier's errors name headers and reasons, never a secret or a signature.
		h.log.InfoContext(r.Context(), "webhook delivery refused", "webhook", id, "reason", err.Error(),
			"request_id", requestID(r.Context()))
		return errDelivery
	}
	input, err := deliveryInput(body)
	if err != nil {
		return err
	}
	fired, err := h.firer.Fire(r.Context(), trigger.Firing{
		Target:    trigger.Target{Task: hook.Task, Workflow: hook.Workflow},
		OwnerID:   hook.Owner,
		TriggerID: hook.ID,
		Key:       d.ID,
		Input:     input,
		Payload:   input,
		Trigger:   api.Trigger{Kind: api.TriggerWebhook, Name: hook.ID, Delivery: d.ID},
	})
	h.auditDelivery(r, hook, fired, err)
	if errors.Is(err, trigger.ErrSkipped) {
		// A workflow trigger's when was false: the delivery is fine, it starts nothing.
		writeJSON(w, http.StatusOK, msg{Msg: "nothing started: " + strings.TrimPrefix(err.Error(), trigger.ErrSkipped.Error()+": ")})
		return nil
	}
	if err != nil {
		return deliveryErr(err, hook)
	}
	if fired.Run != "" {
		setTarget(w, fired.Run)
		answerCreated(w, preference{}, "/runs/", api.RunCreated{Msg: api.RunCreatedMsg, ID: fired.Run, Status: fired.RunStatus}, fired.Run)
		return nil
	}
	created := api.NewJobCreated(fired.Job, fired.JobStatus)
	answerCreated(w, preference{}, "/jobs/", created, fired.Job)
	return nil
}

// deliveryInput is a delivery's body as job input: nil when empty, otherwise JSON (400 if not).
func deliveryInput(body []byte) ([]byte, error) {
	in, err := readInput(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	return in, nil
}

// deliveryErr gives a verified delivery's failure its answer.
func deliveryErr(err error, hook api.Webhook) error {
	switch {
	case errors.Is(err, trigger.ErrRefused):
		return withMsg(ErrForbidden, "forbidden: the owner of webhook %q may not start its %s now", hook.ID, targetKind(hook.Task, hook.Workflow))
	case errors.Is(err, jobs.ErrTaskNotFound):
		return withMsg(err, "task %q of webhook %q not found", hook.Task, hook.ID)
	case errors.Is(err, runs.ErrWorkflowNotFound):
		return withMsg(err, "workflow %q of webhook %q not found", hook.Workflow, hook.ID)
	}
	return err
}

// auditDelivery records a verified delivery as its webhook's owner: deliveries carry no session, so the route
// adapter does not.
func (h *Handler) auditDelivery(r *http.Request, hook api.Webhook, fired trigger.Fired, err error) {
	e := api.AuditLog{UserID: hook.Owner, Username: fired.Owner, EventType: "run",
		EventCategory: api.ResourceWebhooks, EventTarget: hook.ID, Source: sourceAddr(r)}
	e.Status, e.Reason = outcome(err)
	if err != nil && errors.Is(err, trigger.ErrRefused) {
		e.Status, e.Reason = api.AuditDenied, "the owner may not start the webhook's "+targetKind(hook.Task, hook.Workflow)
	}
	h.audit.Record(context.WithoutCancel(r.Context()), audit.Bound(e))
}
