package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/trigger/webhook"
)

const secret = "0123456789abcdef-secret"

var (
	now  = time.Date(2026, 12, 7, 6, 40, 0, 0, time.UTC)
	body = []byte(`{"event":"updated","data":{"name":"leaf-1"}}`)
)

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func standardSig(key []byte, id, ts string, b []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(b)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func hexMAC(h func() hash.Hash, key string, b []byte) string {
	m := hmac.New(h, []byte(key))
	m.Write(b)
	return hex.EncodeToString(m.Sum(nil))
}

func standard(id string, at time.Time, sigs string) http.Header {
	return hdr("webhook-id", id, "webhook-timestamp", strconv.FormatInt(at.Unix(), 10), "webhook-signature", sigs)
}

func TestStandard(t *testing.T) {
	ts := strconv.FormatInt(now.Unix(), 10)
	good := standardSig([]byte(secret), "msg_1", ts, body)
	other := standardSig([]byte("another-secret-123"), "msg_1", ts, body)
	raw := []byte("0123456789abcdef0123456789abcdef")
	whsec := "whsec_" + base64.StdEncoding.EncodeToString(raw)
	tests := []struct {
		name    string
		h       http.Header
		body    []byte
		secret  string
		now     time.Time
		wantErr error
	}{
		{"good", standard("msg_1", now, good), body, secret, now, nil},
		{"good, header names in any case", hdr("Webhook-Id", "msg_1", "WEBHOOK-TIMESTAMP", ts, "Webhook-Signature", good), body, secret, now, nil},
		{"several signatures, the second matches", standard("msg_1", now, other+" "+good), body, secret, now, nil},
		{"several signatures, other versions ignored", standard("msg_1", now, "v1a,AAAA "+good), body, secret, now, nil},
		{"several signatures, none matches", standard("msg_1", now, other+" "+other), body, secret, now, webhook.ErrSignature},
		{"4m59s old", standard("msg_1", now, good), body, secret, now.Add(4*time.Minute + 59*time.Second), nil},
		{"stale: 5m1s old", standard("msg_1", now, good), body, secret, now.Add(5*time.Minute + time.Second), webhook.ErrStale},
		{"future: 5m1s ahead", standard("msg_1", now, good), body, secret, now.Add(-5*time.Minute - time.Second), webhook.ErrStale},
		{"bad signature: body changed", standard("msg_1", now, good), []byte(`{"event":"deleted"}`), secret, now, webhook.ErrSignature},
		{"bad signature: id changed", standard("msg_2", now, good), body, secret, now, webhook.ErrSignature},
		{"wrong secret", standard("msg_1", now, good), body, "another-secret-123x", now, webhook.ErrSignature},
		{"empty secret", standard("msg_1", now, standardSig(nil, "msg_1", ts, body)), body, "", now, webhook.ErrSignature},
		{"not base64", standard("msg_1", now, "v1,!!!"), body, secret, now, webhook.ErrSignature},
		{"no version", standard("msg_1", now, good[3:]), body, secret, now, webhook.ErrSignature},
		{"v2 only", standard("msg_1", now, "v2,"+good[3:]), body, secret, now, webhook.ErrSignature},
		{"missing id", hdr("webhook-timestamp", ts, "webhook-signature", good), body, secret, now, webhook.ErrUnsigned},
		{"missing timestamp", hdr("webhook-id", "msg_1", "webhook-signature", good), body, secret, now, webhook.ErrUnsigned},
		{"missing signature", hdr("webhook-id", "msg_1", "webhook-timestamp", ts), body, secret, now, webhook.ErrUnsigned},
		{"no headers", http.Header{}, body, secret, now, webhook.ErrUnsigned},
		{"timestamp not a number", hdr("webhook-id", "msg_1", "webhook-timestamp", "1.5e9", "webhook-signature", good), body, secret, now, webhook.ErrSignature},
		{"timestamp signed", hdr("webhook-id", "msg_1", "webhook-timestamp", "+"+ts, "webhook-signature", standardSig([]byte(secret), "msg_1", "+"+ts, body)), body, secret, now, webhook.ErrSignature},
		{"id with a space", standard("msg 1", now, standardSig([]byte(secret), "msg 1", ts, body)), body, secret, now, webhook.ErrSignature},
		{"whsec secret, spec's decoded key", standard("msg_1", now, standardSig(raw, "msg_1", ts, body)), body, whsec, now, nil},
		{"whsec secret, its text as the key", standard("msg_1", now, standardSig([]byte(whsec), "msg_1", ts, body)), body, whsec, now, nil},
		{"empty body", standard("msg_1", now, standardSig([]byte(secret), "msg_1", ts, nil)), nil, secret, now, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := webhook.Standard(tt.h, tt.body, tt.secret, tt.now)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Standard() error = %v, want %v", err, tt.wantErr)
			}
			if err == nil && (d.ID != tt.h.Get("webhook-id") || d.Scheme != api.WebhookSchemeStandard) {
				t.Errorf("Standard() = %+v, want the delivery %q", d, tt.h.Get("webhook-id"))
			}
		})
	}
}

// TestStandardPythonJSON: Infrahub signs json.dumps(payload) (non-ASCII escaped, compact) and sends what its HTTP
// client serializes; the same value in either form verifies, a different value does not.
func TestStandardPythonJSON(t *testing.T) {
	ts := strconv.FormatInt(now.Unix(), 10)
	signed := []byte(`{"description":"Spine f\u00fcr Halle \ud83d\ude80","n":[1,2],"del":"\u007f"}`)
	sig := standardSig([]byte(secret), "msg_1", ts, signed)
	tests := []struct {
		name string
		body string
		ok   bool
	}{
		{"the signed bytes", string(signed), true},
		{"raw UTF-8", "{\"description\":\"Spine für Halle 🚀\",\"n\":[1,2],\"del\":\"\x7f\"}", true},
		{"with spaces (older HTTP clients)", "{\"description\": \"Spine für Halle 🚀\", \"n\": [1, 2], \"del\": \"\x7f\"}", true},
		{"another value", "{\"description\":\"Spine für Halle 🚁\",\"n\":[1,2],\"del\":\"\x7f\"}", false},
		{"keys reordered", "{\"n\":[1,2],\"description\":\"Spine für Halle 🚀\",\"del\":\"\x7f\"}", false},
		{"not JSON", "Spine für Halle", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := webhook.Standard(standard("msg_1", now, sig), []byte(tt.body), secret, now)
			if (err == nil) != tt.ok {
				t.Errorf("Standard(%q) error = %v, want ok %v", tt.body, err, tt.ok)
			}
		})
	}
}

func TestBodySchemes(t *testing.T) {
	netbox := hexMAC(sha512.New, secret, body)
	github := "sha256=" + hexMAC(sha256.New, secret, body)
	tests := []struct {
		name    string
		verify  webhook.Verifier
		h       http.Header
		body    []byte
		secret  string
		wantID  string
		wantErr error
	}{
		{"netbox good", webhook.NetBox, hdr("X-Hook-Signature", netbox), body, secret, "", nil},
		{"netbox upper-case hex", webhook.NetBox, hdr("X-Hook-Signature", upper(netbox)), body, secret, "", nil},
		{"netbox bad signature", webhook.NetBox, hdr("X-Hook-Signature", netbox), []byte(`{}`), secret, "", webhook.ErrSignature},
		{"netbox wrong secret", webhook.NetBox, hdr("X-Hook-Signature", netbox), body, "wrong-secret-1234", "", webhook.ErrSignature},
		{"netbox sha256 is not sha512", webhook.NetBox, hdr("X-Hook-Signature", github[7:]), body, secret, "", webhook.ErrSignature},
		{"netbox missing header", webhook.NetBox, http.Header{}, body, secret, "", webhook.ErrUnsigned},
		{"netbox empty secret", webhook.NetBox, hdr("X-Hook-Signature", hexMAC(sha512.New, "", body)), body, "", "", webhook.ErrSignature},
		{"github good", webhook.GitHub, hdr("X-Hub-Signature-256", github, "X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"), body, secret, "72d3162e-cc78-11e3-81ab-4c9367dc0958", nil},
		{"github without delivery", webhook.GitHub, hdr("X-Hub-Signature-256", github), body, secret, "", nil},
		{"github without prefix", webhook.GitHub, hdr("X-Hub-Signature-256", github[7:]), body, secret, "", webhook.ErrSignature},
		{"github bad signature", webhook.GitHub, hdr("X-Hub-Signature-256", github), []byte(`{}`), secret, "", webhook.ErrSignature},
		{"github wrong secret", webhook.GitHub, hdr("X-Hub-Signature-256", github), body, "wrong-secret-1234", "", webhook.ErrSignature},
		{"github sha1 only", webhook.GitHub, hdr("X-Hub-Signature", "sha1=00"), body, secret, "", webhook.ErrUnsigned},
		{"github delivery too long", webhook.GitHub, hdr("X-Hub-Signature-256", github, "X-GitHub-Delivery", string(make256())), body, secret, "", webhook.ErrSignature},
		{"hmac good", webhook.HMACSHA256, hdr("X-Signature-256", github, "Idempotency-Key", "d-1"), body, secret, "d-1", nil},
		{"hmac bare hex", webhook.HMACSHA256, hdr("X-Signature-256", github[7:]), body, secret, "", nil},
		{"hmac bad signature", webhook.HMACSHA256, hdr("X-Signature-256", github), []byte(`{}`), secret, "", webhook.ErrSignature},
		{"hmac wrong secret", webhook.HMACSHA256, hdr("X-Signature-256", github), body, "wrong-secret-1234", "", webhook.ErrSignature},
		{"hmac missing header", webhook.HMACSHA256, hdr("X-Hub-Signature-256", github), body, secret, "", webhook.ErrUnsigned},
		{"gitlab good", webhook.GitLab, hdr("X-Gitlab-Token", secret, "Idempotency-Key", "k-1", "X-Gitlab-Event-UUID", "e-1"), body, secret, "k-1", nil},
		{"gitlab event uuid", webhook.GitLab, hdr("X-Gitlab-Token", secret, "X-Gitlab-Event-UUID", "e-1"), body, secret, "e-1", nil},
		{"gitlab wrong token", webhook.GitLab, hdr("X-Gitlab-Token", secret+"x"), body, secret, "", webhook.ErrSignature},
		{"gitlab prefix of the token", webhook.GitLab, hdr("X-Gitlab-Token", secret[:8]), body, secret, "", webhook.ErrSignature},
		{"gitlab missing header", webhook.GitLab, http.Header{}, body, secret, "", webhook.ErrUnsigned},
		{"gitlab empty secret", webhook.GitLab, hdr("X-Gitlab-Token", ""), body, "", "", webhook.ErrUnsigned},
		{"auto netbox", webhook.Auto, hdr("X-Hook-Signature", netbox), body, secret, "", nil},
		{"auto refuses github", webhook.Auto, hdr("X-Hub-Signature-256", github), body, secret, "", webhook.ErrUnsigned},
		{"auto refuses gitlab", webhook.Auto, hdr("X-Gitlab-Token", secret), body, secret, "", webhook.ErrUnsigned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := tt.verify(tt.h, tt.body, tt.secret, now)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("verify() error = %v, want %v", err, tt.wantErr)
			}
			if d.ID != tt.wantID {
				t.Errorf("verify() delivery = %q, want %q", d.ID, tt.wantID)
			}
		})
	}
}

func TestAutoStandard(t *testing.T) {
	ts := strconv.FormatInt(now.Unix(), 10)
	h := standard("msg_9", now, standardSig([]byte(secret), "msg_9", ts, body))
	h.Set("X-Hook-Signature", "00") // a Standard Webhooks signature wins; a bad NetBox one does not matter
	d, err := webhook.Verify(api.WebhookSchemeAuto, h, body, secret, now)
	if err != nil || d.ID != "msg_9" || d.Scheme != api.WebhookSchemeStandard {
		t.Fatalf("Verify(auto) = %+v, %v; want msg_9 by standard", d, err)
	}
	if _, err := webhook.Verify("nope", h, body, secret, now); !errors.Is(err, webhook.ErrSignature) {
		t.Errorf("Verify(unknown scheme) error = %v, want ErrSignature", err)
	}
	for _, s := range api.WebhookSchemes {
		if _, ok := webhook.For(s); !ok {
			t.Errorf("For(%q) = false, want a verifier for every scheme", s)
		}
	}
}

// TestGolden verifies deliveries in the forms Infrahub and NetBox send (see Kriten's webhook guide), signed by
// an independent implementation (Python's hmac, as the senders use it): testdata/*.json are the bodies,
// *.headers.json the headers sent with them, for the secret "golden-fixture-secret".
func TestGolden(t *testing.T) {
	const goldenSecret = "golden-fixture-secret"
	at := time.Unix(1796623200, 0).Add(90 * time.Second) // 90 s after Infrahub's timestamp
	tests := []struct {
		name   string
		scheme api.WebhookScheme
		wantID string
	}{
		{"infrahub", api.WebhookSchemeInfrahub, "msg_0b7c5a3e9d2f4e6a8c1b3d5f7a9e2c4b"},
		{"netbox", api.WebhookSchemeNetBox, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tt.name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			hb, err := os.ReadFile(filepath.Join("testdata", tt.name+".headers.json"))
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]string
			if err := json.Unmarshal(hb, &m); err != nil {
				t.Fatal(err)
			}
			h := http.Header{}
			for k, v := range m {
				h.Set(k, v)
			}
			for _, scheme := range []api.WebhookScheme{tt.scheme, api.WebhookSchemeAuto} {
				d, err := webhook.Verify(scheme, h, b, goldenSecret, at)
				if err != nil || d.ID != tt.wantID {
					t.Errorf("Verify(%s, %s) = %+v, %v; want delivery %q", scheme, tt.name, d, err, tt.wantID)
				}
				if _, err := webhook.Verify(scheme, h, b, goldenSecret+"x", at); !errors.Is(err, webhook.ErrSignature) {
					t.Errorf("Verify(%s, %s) with another secret: error %v, want ErrSignature", scheme, tt.name, err)
				}
				tampered := append([]byte(nil), b...)
				tampered[len(tampered)/2] ^= 1
				if _, err := webhook.Verify(scheme, h, tampered, goldenSecret, at); err == nil {
					t.Errorf("Verify(%s, %s) of a tampered body succeeded", scheme, tt.name)
				}
			}
		})
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func make256() []byte {
	b := make([]byte, webhook.MaxDeliveryID+1)
	for i := range b {
		b[i] = 'a'
	}
	return b
}
