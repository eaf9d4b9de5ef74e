package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/runplane/runplane/api"
)

// maxSignatures bounds the signatures one webhook-signature header may list (a sender rotating its key sends two).
const maxSignatures = 16

// Standard verifies a Standard Webhooks delivery (https://www.standardwebhooks.com), as Infrahub sends it:
// webhook-id, webhook-timestamp (Unix seconds, within Tolerance of now) and webhook-signature, a space-separated
// list of "v1,<base64 HMAC-SHA256 of id.timestamp.body>" of which one must match; other versions are ignored.
// webhook-id names the delivery.
//
// The key is the secret's bytes, as Kriten and Infrahub use it; a secret of the spec's form "whsec_<base64>" is
// tried both ways (the spec's decoded key, and the text as Infrahub would use it).
//
// Infrahub signs its payload serialized by Python's json.dumps (compact, non-ASCII escaped as \uXXXX) but sends
// the body its HTTP client serializes, which may differ in exactly those ways; so a body that is valid JSON also
// verifies when the signature covers that canonical form of it. Both forms are the same JSON value.
func Standard(h http.Header, body []byte, secret string, now time.Time) (Delivery, error) {
	id, ts, sigs := h.Get(headerStandardID), h.Get(headerStandardTimestamp), h.Get(headerStandardSignature)
	if id == "" || ts == "" || sigs == "" {
		return Delivery{}, fmt.Errorf("%w: webhook-id, webhook-timestamp and webhook-signature are required", ErrUnsigned)
	}
	if _, err := deliveryID(headerStandardID, id); err != nil {
		return Delivery{}, err
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || ts[0] == '+' || ts[0] == '-' {
		return Delivery{}, fmt.Errorf("%w: webhook-timestamp is not Unix seconds", ErrSignature)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > Tolerance || d < -Tolerance {
		return Delivery{}, fmt.Errorf("%w: webhook-timestamp is %s from now", ErrStale, d.Round(time.Second))
	}
	if secret == "" {
		return Delivery{}, fmt.Errorf("%w: the webhook has no secret", ErrSignature)
	}
	var macs [][]byte
	prefix := []byte(id + "." + ts + ".")
	for _, key := range standardKeys(secret) {
		macs = append(macs, sign(sha256.New, key, prefix, body))
		if c, ok := pythonJSON(body); ok && !bytes.Equal(c, body) {
			macs = append(macs, sign(sha256.New, key, prefix, c))
		}
	}
	fields := strings.Fields(sigs)
	if len(fields) > maxSignatures {
		return Delivery{}, fmt.Errorf("%w: more than %d signatures", ErrSignature, maxSignatures)
	}
	for _, f := range fields {
		version, b64, ok := strings.Cut(f, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			continue
		}
		for _, m := range macs {
			if hmac.Equal(got, m) {
				return Delivery{ID: id, Scheme: api.WebhookSchemeStandard}, nil
			}
		}
	}
	return Delivery{}, fmt.Errorf("%w: no v1 signature in webhook-signature matches", ErrSignature)
}

// standardKeys are the keys a secret stands for: its bytes, and for "whsec_<base64>" the decoded bytes too.
func standardKeys(secret string) [][]byte {
	keys := [][]byte{[]byte(secret)}
	if rest, ok := strings.CutPrefix(secret, "whsec_"); ok {
		if k, err := base64.StdEncoding.DecodeString(rest); err == nil && len(k) > 0 {
			keys = append(keys, k)
		}
	}
	return keys
}

// pythonJSON is body as Python's json.dumps(v, separators=(",", ":")) writes it (ensure_ascii): insignificant
// space removed, and every character outside space..tilde that is not already escaped written as \uXXXX (UTF-16
// surrogate pairs past U+FFFF, lowercase hex). In valid JSON such characters appear only inside strings, so the
// result is the same value. False when body is not valid JSON (or not UTF-8).
func pythonJSON(body []byte) ([]byte, bool) {
	if !json.Valid(body) {
		return nil, false
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, body); err != nil {
		return nil, false
	}
	src := compact.Bytes()
	out := make([]byte, 0, len(src))
	for i := 0; i < len(src); {
		c := src[i]
		if c >= 0x20 && c < 0x7f {
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(src[i:])
		if r == utf8.RuneError && n <= 1 {
			return nil, false
		}
		i += n
		if r > 0xffff {
			hi, lo := utf16.EncodeRune(r)
			out = fmt.Appendf(out, `\u%04x\u%04x`, hi, lo)
			continue
		}
		out = fmt.Appendf(out, `\u%04x`, r)
	}
	return out, true
}
