package api

import (
	"time"
	"unicode/utf8"
)

// Webhook lets another system start a job of Task (or a run of Workflow) by POSTing a signed delivery to
// /api/v1/webhooks/run/{id}; the body becomes the job's input and the job runs as Owner, with Owner's rights at
// delivery time. Secret signs the deliveries: it is answered once, by the create, and never again (runplane keeps
// it encrypted). Owner is the id of the user who created the webhook.
type Webhook struct {
	ID          string `json:"id"`
	Owner       string `json:"owner"`
	Secret      string `json:"secret,omitempty"`
	Description string `json:"description,omitempty"`
	Task        string `json:"task,omitempty"`
	Workflow    string `json:"workflow,omitempty"`
	// Scheme is how deliveries are signed (WebhookScheme*); empty on create means WebhookSchemeAuto.
	Scheme     WebhookScheme `json:"scheme"`
	CreateTime time.Time     `json:"created_at"`
	UpdateTime time.Time     `json:"updated_at"`
}

// WebhookScheme names how a webhook's deliveries are signed.
type WebhookScheme string

// The signature schemes. See internal/trigger/webhook for what each checks.
const (
	// WebhookSchemeAuto accepts what Kriten accepts: a Standard Webhooks signature (Infrahub) when the delivery
	// carries webhook-signature, else a NetBox X-Hook-Signature.
	WebhookSchemeAuto WebhookScheme = "auto"
	// WebhookSchemeStandard is Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature), as Infrahub
	// sends it; WebhookSchemeInfrahub is the same scheme by its sender's name.
	WebhookSchemeStandard WebhookScheme = "standard"
	WebhookSchemeInfrahub WebhookScheme = "infrahub"
	// WebhookSchemeNetBox is X-Hook-Signature, hex HMAC-SHA512 of the body (NetBox; Nautobot by its own name).
	WebhookSchemeNetBox   WebhookScheme = "netbox"
	WebhookSchemeNautobot WebhookScheme = "nautobot"
	// WebhookSchemeGitHub is X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>.
	WebhookSchemeGitHub WebhookScheme = "github"
	// WebhookSchemeGitLab is X-Gitlab-Token equal to the secret (GitLab signs nothing: the secret travels).
	WebhookSchemeGitLab WebhookScheme = "gitlab"
	// WebhookSchemeHMAC is X-Signature-256: sha256=<hex HMAC-SHA256 of the body>, for any sender that can compute one.
	WebhookSchemeHMAC WebhookScheme = "hmac-sha256"
)

// WebhookSchemes lists every scheme, in a stable order.
var WebhookSchemes = []WebhookScheme{WebhookSchemeAuto, WebhookSchemeStandard, WebhookSchemeInfrahub,
	WebhookSchemeNetBox, WebhookSchemeNautobot, WebhookSchemeGitHub, WebhookSchemeGitLab, WebhookSchemeHMAC}

// Bounds of a webhook's fields.
const (
	// MinWebhookSecret is the shortest secret accepted. Short secrets are guessed offline from one signed
	// delivery, but Kriten's clients and documentation use secrets of 11 characters; leave it out and the server
	// makes a strong one.
	MinWebhookSecret = 8
	MaxWebhookSecret = 1024
)

// Validate checks a webhook's settable fields, without a store: a secret when one is given (none: the server
// makes one), exactly one of task and workflow, a known scheme.
func (w *Webhook) Validate() error {
	if err := validateLabel("description", w.Description, 1024); err != nil {
		return err
	}
	switch {
	case w.Task == "" && w.Workflow == "":
		return Invalidf("task or workflow is required")
	case w.Task != "" && w.Workflow != "":
		return Invalidf("task and workflow: name one of them")
	case w.Task != "":
		if err := ValidateName(w.Task); err != nil {
			return Invalidf("task: %s", invalidMsg(err))
		}
	default:
		if err := ValidateName(w.Workflow); err != nil {
			return Invalidf("workflow: %s", invalidMsg(err))
		}
	}
	if w.Secret != "" {
		// The secret itself is never quoted: an error may reach a log.
		switch {
		case len(w.Secret) < MinWebhookSecret:
			return Invalidf("secret shorter than %d characters: give a longer one, or none and the server makes one", MinWebhookSecret)
		case len(w.Secret) > MaxWebhookSecret:
			return Invalidf("secret longer than %d characters", MaxWebhookSecret)
		case !utf8.ValidString(w.Secret) || hasControl(w.Secret):
			return Invalidf("secret must be printable text: senders send it in forms and headers")
		}
	}
	if !ValidWebhookScheme(w.Scheme) {
		return Invalidf("scheme %q: want one of %v", w.Scheme, WebhookSchemes)
	}
	return nil
}

// ValidWebhookScheme reports whether s names a scheme; "" is valid (it means WebhookSchemeAuto).
func ValidWebhookScheme(s WebhookScheme) bool {
	if s == "" {
		return true
	}
	for _, x := range WebhookSchemes {
		if s == x {
			return true
		}
	}
	return false
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

// invalidMsg is the message of an *InvalidError, or err's text.
func invalidMsg(err error) string {
	if e, ok := err.(*InvalidError); ok {
		return e.Msg
	}
	return err.Error()
}
