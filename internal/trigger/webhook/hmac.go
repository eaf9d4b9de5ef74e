package webhook

import (
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"net/http"
	"strings"
	"time"

	"github.com/runplane/runplane/api"
)

type hashFunc = hash.Hash

// NetBox verifies X-Hook-Signature: the hex HMAC-SHA512 of the body keyed with the secret, as NetBox and Nautobot
// send it. They name no delivery, so every delivery is a new one.
func NetBox(h http.Header, body []byte, secret string, _ time.Time) (Delivery, error) {
	got := strings.TrimSpace(h.Get(headerNetBox))
	if got == "" {
		return Delivery{}, fmt.Errorf("%w: no %s header", ErrUnsigned, headerNetBox)
	}
	if secret == "" || !hexEqual(got, sign(sha512.New, []byte(secret), body)) {
		return Delivery{}, fmt.Errorf("%w: %s", ErrSignature, headerNetBox)
	}
	return Delivery{Scheme: api.WebhookSchemeNetBox}, nil
}

// GitHub verifies X-Hub-Signature-256: "sha256=" and the hex HMAC-SHA256 of the body. X-GitHub-Delivery (kept
// by GitHub's redeliveries) names the delivery.
func GitHub(h http.Header, body []byte, secret string, _ time.Time) (Delivery, error) {
	if err := prefixedSHA256(h, headerGitHub, true, body, secret); err != nil {
		return Delivery{}, err
	}
	id, err := firstID(h, headerGitHubDelivery)
	if err != nil {
		return Delivery{}, err
	}
	return Delivery{ID: id, Scheme: api.WebhookSchemeGitHub}, nil
}

// HMACSHA256 verifies runplane's generic scheme, for senders that can compute an HMAC but speak none of the
// others: X-Signature-256 is "sha256=" and the hex HMAC-SHA256 of the body (GitHub's form; the bare hex is
// accepted too). An Idempotency-Key header, if any, names the delivery.
func HMACSHA256(h http.Header, body []byte, secret string, _ time.Time) (Delivery, error) {
	if err := prefixedSHA256(h, headerHMAC, false, body, secret); err != nil {
		return Delivery{}, err
	}
	id, err := firstID(h, headerIdempotency)
	if err != nil {
		return Delivery{}, err
	}
	return Delivery{ID: id, Scheme: api.WebhookSchemeHMAC}, nil
}

// prefixedSHA256 checks header name: "sha256=<hex HMAC-SHA256 of body>", the prefix optional unless required.
func prefixedSHA256(h http.Header, name string, required bool, body []byte, secret string) error {
	got := strings.TrimSpace(h.Get(name))
	if got == "" {
		return fmt.Errorf("%w: no %s header", ErrUnsigned, name)
	}
	hexSig, prefixed := strings.CutPrefix(got, "sha256=")
	if required && !prefixed {
		return fmt.Errorf("%w: %s does not start with sha256=", ErrSignature, name)
	}
	if secret == "" || !hexEqual(hexSig, sign(sha256.New, []byte(secret), body)) {
		return fmt.Errorf("%w: %s", ErrSignature, name)
	}
	return nil
}

// GitLab verifies X-Gitlab-Token: GitLab signs nothing and sends the secret itself, compared here in constant
// time. Idempotency-Key (kept by GitLab's retries), else X-Gitlab-Event-UUID, names the delivery.
func GitLab(h http.Header, _ []byte, secret string, _ time.Time) (Delivery, error) {
	got := h.Get(headerGitLab)
	if got == "" {
		return Delivery{}, fmt.Errorf("%w: no %s header", ErrUnsigned, headerGitLab)
	}
	if secret == "" || !sameSecret(got, secret) {
		return Delivery{}, fmt.Errorf("%w: %s", ErrSignature, headerGitLab)
	}
	id, err := firstID(h, headerIdempotency, headerGitLabEvent)
	if err != nil {
		return Delivery{}, err
	}
	return Delivery{ID: id, Scheme: api.WebhookSchemeGitLab}, nil
}
