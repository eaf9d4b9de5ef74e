package webhook_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/runplane/runplane/internal/trigger/webhook"
)

// The fuzz targets check, for any input, that a verifier never panics, accepts what is signed right with the
// secret, and refuses the same delivery with its body changed or another secret.

func FuzzStandard(f *testing.F) {
	f.Add("msg_1", int64(0), []byte(`{"a":1}`), "0123456789abcdef", "v1,AAAA v2,BBBB")
	f.Add("msg_2", int64(-299), []byte("{\"d\": \"für\"}"), "whsec_MDEyMzQ1Njc4OWFiY2RlZg==", "")
	f.Add("", int64(301), []byte(nil), "", "v1,")
	f.Fuzz(func(t *testing.T, id string, skew int64, body []byte, secret, junk string) {
		ts := strconv.FormatInt(now.Unix()+skew, 10)
		// Arbitrary headers: no panic, and never accepted without a signature made with the secret.
		if _, err := webhook.Standard(hdr("webhook-id", id, "webhook-timestamp", ts, "webhook-signature", junk), body, secret, now); err == nil && junk != "" {
			if _, err := webhook.Standard(hdr("webhook-id", id, "webhook-timestamp", ts, "webhook-signature", junk), body, secret+"x", now); err == nil {
				t.Fatalf("Standard(junk %q) verified with two secrets", junk)
			}
		}
		sig := standardSig([]byte(secret), id, ts, body)
		h := hdr("webhook-id", id, "webhook-timestamp", ts, "webhook-signature", junk+" "+sig)
		_, err := webhook.Standard(h, body, secret, now)
		valid := id != "" && secret != "" && skew >= -300 && skew <= 300 && printable(id) && len(bytes.Fields([]byte(junk))) < 16
		if valid && err != nil {
			t.Fatalf("Standard(signed right) error = %v", err)
		}
		if _, err := webhook.Standard(h, append(append([]byte(nil), body...), '!'), secret, now); err == nil {
			t.Fatalf("Standard(body changed) verified")
		}
		if _, err := webhook.Standard(h, body, secret+"x", now); err == nil {
			t.Fatalf("Standard(another secret) verified")
		}
	})
}

func printable(s string) bool {
	if len(s) > webhook.MaxDeliveryID {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// fuzzBody fuzzes a verifier of a signature over the body alone, sent in header name as prefix+hex.
func fuzzBody(f *testing.F, v webhook.Verifier, name, prefix string, h func() hash.Hash) {
	f.Add([]byte(`{"event":"created"}`), "0123456789abcdef", "sha256=00", "")
	f.Add([]byte(nil), "s", "", "id-1")
	f.Fuzz(func(t *testing.T, body []byte, secret, junk, id string) {
		_, _ = v(hdr(name, junk), body, secret, now) // no panic
		good := hdr(name, prefix+hexMAC(h, secret, body), "X-GitHub-Delivery", id, "Idempotency-Key", id)
		_, err := v(good, body, secret, now)
		if secret != "" && (id == "" || printable(id)) && err != nil {
			t.Fatalf("verify(signed right) error = %v", err)
		}
		if _, err := v(good, append(append([]byte(nil), body...), ' '), secret, now); err == nil {
			t.Fatalf("verify(body changed) verified")
		}
		if _, err := v(good, body, secret+"x", now); err == nil {
			t.Fatalf("verify(another secret) verified")
		}
	})
}

func FuzzNetBox(f *testing.F) { fuzzBody(f, webhook.NetBox, "X-Hook-Signature", "", sha512.New) }
func FuzzGitHub(f *testing.F) {
	fuzzBody(f, webhook.GitHub, "X-Hub-Signature-256", "sha256=", sha256.New)
}
func FuzzHMACSHA256(f *testing.F) {
	fuzzBody(f, webhook.HMACSHA256, "X-Signature-256", "sha256=", sha256.New)
}

func FuzzGitLab(f *testing.F) {
	f.Add("0123456789abcdef", "0123456789abcdef", "k")
	f.Add("a", "b", "")
	f.Fuzz(func(t *testing.T, token, secret, id string) {
		h := http.Header{"X-Gitlab-Token": {token}, "Idempotency-Key": {id}}
		_, err := webhook.GitLab(h, nil, secret, time.Time{})
		if err == nil && token != secret {
			t.Fatalf("GitLab(token %q) verified for another secret", token)
		}
		if token == secret && token != "" && (id == "" || printable(id)) && err != nil {
			t.Fatalf("GitLab(the secret) error = %v", err)
		}
	})
}
