package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
)

// writeCert writes a self-signed certificate for 127.0.0.1 named cn, and its key, to dir; it returns the
// certificate.
func writeCert(t *testing.T, dir, cn string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	// Written to temp names and renamed, as cert-manager and certbot replace files.
	for name, block := range map[string]*pem.Block{"tls.crt": {Type: "CERTIFICATE", Bytes: der}, "tls.key": {Type: "EC PRIVATE KEY", Bytes: kb}} {
		tmp := filepath.Join(dir, "."+name)
		if err := os.WriteFile(tmp, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// TestTLS: with --tls-cert/--tls-key the API serves HTTPS and HTTP/2, the session cookie is Secure, and a
// certificate replaced on disk is served from the next connection without a restart.
func TestTLS(t *testing.T) {
	t.Parallel()
	certDir := t.TempDir()
	first := writeCert(t, certDir, "first")
	cfg := DefaultConfig()
	cfg.Listen, cfg.DataDir, cfg.RootPassword = "127.0.0.1:0", t.TempDir(), rootPassword
	cfg.TLSCertFile, cfg.TLSKeyFile = filepath.Join(certDir, "tls.crt"), filepath.Join(certDir, "tls.key")
	logs := &syncBuffer{}
	s, err := Open(t.Context(), cfg, slog.New(slog.NewTextHandler(logs, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() { stop(); <-done; s.Close() })
	if !strings.HasPrefix(s.URL(), "https://") {
		t.Fatalf("URL = %s, want https", s.URL())
	}

	// A client that trusts either certificate and says which one it got.
	roots := x509.NewCertPool()
	roots.AddCert(first)
	var seen *x509.Certificate
	newClient := func() *http.Client {
		return &http.Client{Transport: &http.Transport{
			ForceAttemptHTTP2: true,
			TLSClientConfig: &tls.Config{RootCAs: roots, VerifyConnection: func(cs tls.ConnectionState) error {
				seen = cs.PeerCertificates[0]
				return nil
			}},
		}}
	}
	ts := &testServer{Server: s, url: s.URL(), logs: logs, console: &syncBuffer{}, seen: &syncBuffer{}, client: newClient()}
	r := ts.do(t, req{method: "POST", path: "/api/v1/login", noAuth: true,
		json: api.Login{Username: "root", Password: rootPassword, Provider: api.ProviderLocal}}).want(t, 200)
	if !strings.Contains(r.header.Get("Set-Cookie"), "Secure") {
		t.Errorf("Set-Cookie over TLS = %q, want Secure", r.header.Get("Set-Cookie"))
	}
	res, err := ts.client.Get(s.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.ProtoMajor != 2 || seen.Subject.CommonName != "first" {
		t.Errorf("GET /healthz: %s with certificate %q, want HTTP/2 and the first certificate", res.Proto, seen.Subject.CommonName)
	}
	if res, err := http.Get("http://" + s.Addr() + "/healthz"); err == nil {
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("plain HTTP on the TLS port answered %s, want 400", res.Status)
		}
	}

	second := writeCert(t, certDir, "second")
	roots.AddCert(second)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c := newClient() // a new connection, a new handshake
		res, err := c.Get(s.URL() + "/healthz")
		if err == nil {
			res.Body.Close()
			if seen.Subject.CommonName == "second" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replaced certificate was not served (last: %v, %v)", seen.Subject.CommonName, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "TLS certificate reloaded") {
		t.Errorf("the reload was not logged:\n%s", logs.String())
	}
}

// TestTrustedProxies: from a trusted proxy, X-Forwarded-For names the client (throttling and audit use it) and
// X-Forwarded-Proto: https makes the cookie Secure; from any other peer both are ignored.
func TestTrustedProxies(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		proxies    []string
		wantSource string
		wantSecure bool
	}{
		{"trusted", []string{"127.0.0.0/8"}, "198.51.100.7", true},
		{"not trusted", nil, "127.0.0.1", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := startServer(t, func(c *Config) { c.TrustedProxies = tt.proxies })
			r := ts.do(t, req{method: "POST", path: "/api/v1/login", noAuth: true,
				header: map[string]string{"X-Forwarded-For": "6.6.6.6, 198.51.100.7", "X-Forwarded-Proto": "https"},
				json:   api.Login{Username: "root", Password: "wrong-password", Provider: api.ProviderLocal}}).want(t, 401)
			r = ts.do(t, req{method: "POST", path: "/api/v1/login", noAuth: true,
				header: map[string]string{"X-Forwarded-For": "6.6.6.6, 198.51.100.7", "X-Forwarded-Proto": "https"},
				json:   api.Login{Username: "root", Password: rootPassword, Provider: api.ProviderLocal}}).want(t, 200)
			if got := strings.Contains(r.header.Get("Set-Cookie"), "Secure"); got != tt.wantSecure {
				t.Errorf("Set-Cookie %q: Secure %v, want %v", r.header.Get("Set-Cookie"), got, tt.wantSecure)
			}
			var entries []api.AuditLog
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				ts.do(t, req{method: "GET", path: "/api/v1/audit_logs?max=100"}).want(t, 200).decode(t, &entries)
				n := 0
				for _, e := range entries {
					if e.EventType == "login" && e.Username == "root" && e.Status != api.AuditSuccess {
						n++
						if e.Source != tt.wantSource {
							t.Fatalf("audit source of the failed login %q, want %q", e.Source, tt.wantSource)
						}
					}
				}
				if n == 1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("audit entries of the logins not found: %+v", entries)
				}
			}
		})
	}
}
