package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/runplane/runplane/api"
)

// Errors of a delivery that does not verify. Callers answer every one the same (401), so that a sender learns
// nothing but "no".
var (
	// ErrUnsigned: the headers the scheme needs are missing.
	ErrUnsigned = errors.New("webhook: delivery is not signed")
	// ErrSignature: the signature is malformed or does not match the body and the secret.
	ErrSignature = errors.New("webhook: signature does not match")
	// ErrStale: a signed timestamp is further from now than Tolerance (a replay, or a sender's clock far off).
	ErrStale = errors.New("webhook: timestamp outside the tolerance")
)

// Tolerance is how far a Standard Webhooks timestamp may be from now, in the past or in the future.
const Tolerance = 5 * time.Minute

// MaxDeliveryID bounds a delivery id (it becomes the job's idempotency key).
const MaxDeliveryID = 255

// Delivery is what a verified delivery says about itself.
type Delivery struct {
	// ID identifies the delivery when the sender names it (webhook-id, X-GitHub-Delivery, Idempotency-Key...):
	// a sender's retry carries the same id. Empty when the scheme has none.
	ID string
	// Scheme is the scheme that verified it (for WebhookSchemeAuto, the one the delivery used).
	Scheme api.WebhookScheme
}

// Verifier checks one delivery: its headers, its body, the webhook's secret and the time now.
type Verifier func(h http.Header, body []byte, secret string, now time.Time) (Delivery, error)

// For returns the verifier of scheme ("" is api.WebhookSchemeAuto); false for an unknown scheme.
func For(scheme api.WebhookScheme) (Verifier, bool) {
	switch scheme {
	case "", api.WebhookSchemeAuto:
		return Auto, true
	case api.WebhookSchemeStandard, api.WebhookSchemeInfrahub:
		return Standard, true
	case api.WebhookSchemeNetBox, api.WebhookSchemeNautobot:
		return NetBox, true
	case api.WebhookSchemeGitHub:
		return GitHub, true
	case api.WebhookSchemeGitLab:
		return GitLab, true
	case api.WebhookSchemeHMAC:
		return HMACSHA256, true
	}
	return nil, false
}

// Verify checks a delivery by scheme; an unknown scheme verifies nothing.
func Verify(scheme api.WebhookScheme, h http.Header, body []byte, secret string, now time.Time) (Delivery, error) {
	v, ok := For(scheme)
	if !ok {
		return Delivery{}, fmt.Errorf("%w: unknown scheme %q", ErrSignature, scheme)
	}
	return v(h, body, secret, now)
}

// Auto verifies what Kriten accepts: Standard Webhooks when the delivery carries webhook-signature, else NetBox's
// X-Hook-Signature.
func Auto(h http.Header, body []byte, secret string, now time.Time) (Delivery, error) {
	switch {
	case h.Get(headerStandardSignature) != "":
		return Standard(h, body, secret, now)
	case h.Get(headerNetBox) != "":
		return NetBox(h, body, secret, now)
	}
	return Delivery{}, fmt.Errorf("%w: no webhook-signature or X-Hook-Signature header", ErrUnsigned)
}

// Header names.
const (
	headerStandardID        = "webhook-id"
	headerStandardTimestamp = "webhook-timestamp"
	headerStandardSignature = "webhook-signature"
	headerNetBox            = "X-Hook-Signature"
	headerGitHub            = "X-Hub-Signature-256"
	headerGitHubDelivery    = "X-GitHub-Delivery"
	headerGitLab            = "X-Gitlab-Token"
	headerGitLabEvent       = "X-Gitlab-Event-UUID"
	headerHMAC              = "X-Signature-256"
	headerIdempotency       = "Idempotency-Key"
)

// sign is HMAC(hash, key) over the parts, in order.
func sign(newHash func() hashFunc, key []byte, parts ...[]byte) []byte {
	m := hmac.New(newHash, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// hexEqual reports whether got, hex in either case, is want; in constant time for a got of the right length.
func hexEqual(got string, want []byte) bool {
	b, err := hex.DecodeString(got)
	return err == nil && hmac.Equal(b, want)
}

// sameSecret compares a secret sent in the clear with the webhook's, in time that depends on neither.
func sameSecret(got, secret string) bool {
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(secret))
	return hmac.Equal(a[:], b[:])
}

// deliveryID checks a sender's delivery id: bounded printable ASCII, or the delivery does not verify.
func deliveryID(name, id string) (string, error) {
	if len(id) > MaxDeliveryID {
		return "", fmt.Errorf("%w: %s longer than %d bytes", ErrSignature, name, MaxDeliveryID)
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return "", fmt.Errorf("%w: %s is not printable ASCII", ErrSignature, name)
		}
	}
	return id, nil
}

// firstID is the first of the named headers that is set, checked by deliveryID; "" when none is.
func firstID(h http.Header, names ...string) (string, error) {
	for _, n := range names {
		if v := strings.TrimSpace(h.Get(n)); v != "" {
			return deliveryID(n, v)
		}
	}
	return "", nil
}
