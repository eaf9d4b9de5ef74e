package secret

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
)

const testBinding = "runner/r1/token"

func newTestCipher(t testing.TB) *Cipher {
	t.Helper()
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	c, err := NewCipher(key)
	if err != nil {
		t.Fatalf("NewCipher: %v", err)
	}
	return c
}

func TestNewCipherKeyLength(t *testing.T) {
	tests := []struct {
		name    string
		size    int
		wantErr bool
	}{
		{"empty", 0, true},
		{"aes-128", 16, true},
		{"one short", 31, true},
		{"one long", 33, true},
		{"aes-256", 32, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewCipher(make([]byte, tt.size))
			if (err != nil) != tt.wantErr {
				t.Errorf("NewCipher(%d bytes) error = %v, want error %v", tt.size, err, tt.wantErr)
			}
		})
	}
}

func TestCipherRoundTrip(t *testing.T) {
	c := newTestCipher(t)
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	tests := []struct {
		name  string
		plain []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"text", []byte("ghp_token")},
		{"binary", []byte{0, 1, 2, 0xff, 0xfe}},
		{"1 MiB", big},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed, err := c.Seal(tt.plain, testBinding)
			if err != nil {
				t.Fatalf("Seal: %v", err)
			}
			if len(tt.plain) > 0 && bytes.Contains(sealed, tt.plain) {
				t.Errorf("Seal(%q) contains the plaintext", tt.plain)
			}
			got, err := c.Open(sealed, testBinding)
			if err != nil {
				t.Fatalf("Open(Seal(%.20q)): %v", tt.plain, err)
			}
			if !bytes.Equal(got, tt.plain) {
				t.Errorf("Open(Seal(%.20q)) = %.20q, want the plaintext", tt.plain, got)
			}
		})
	}
}

func TestCipherSealIsRandomized(t *testing.T) {
	c := newTestCipher(t)
	a, err := c.Seal([]byte("same"), testBinding)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Seal([]byte("same"), testBinding)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, b) {
		t.Errorf("Seal(%q) twice gave equal values %x; want fresh nonces", "same", a)
	}
	if a[0] != versionAESGCMBound {
		t.Errorf("Seal(...)[0] = %d, want version %d", a[0], versionAESGCMBound)
	}
}

func TestCipherOpenRejectsTampering(t *testing.T) {
	c := newTestCipher(t)
	sealed, err := c.Seal([]byte("a secret value"), testBinding)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		return b
	}
	tests := []struct {
		name   string
		sealed []byte
	}{
		{"nil", nil},
		{"version only", sealed[:1]},
		{"no tag", sealed[:len(sealed)-16]},
		{"one byte short", sealed[:len(sealed)-1]},
		{"one byte long", append(bytes.Clone(sealed), 0)},
		{"version", flip(0)},
		{"nonce", flip(1)},
		{"ciphertext", flip(14)},
		{"tag", flip(len(sealed) - 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Open(tt.sealed, testBinding)
			if !errors.Is(err, ErrOpen) {
				t.Errorf("Open(%x) = %q, %v; want ErrOpen", tt.sealed, got, err)
			}
		})
	}
}

func TestCipherWrongKey(t *testing.T) {
	a, b := newTestCipher(t), newTestCipher(t)
	sealed, err := a.Seal([]byte("for a only"), testBinding)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.Open(sealed, testBinding); !errors.Is(err, ErrOpen) {
		t.Errorf("Open with another key = %q, %v; want ErrOpen", got, err)
	}
}

func TestCipherString(t *testing.T) {
	c := newTestCipher(t)
	sealed, err := c.SealString("hunter2", testBinding)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.OpenString(sealed, testBinding)
	if err != nil || got != "hunter2" {
		t.Errorf("OpenString(SealString(%q)) = %q, %v; want the plaintext", "hunter2", got, err)
	}
	for _, bad := range []string{"", "not base64!", sealed[:len(sealed)-4]} {
		if got, err := c.OpenString(bad, testBinding); !errors.Is(err, ErrOpen) {
			t.Errorf("OpenString(%q) = %q, %v; want ErrOpen", bad, got, err)
		}
	}
}

func FuzzOpen(f *testing.F) {
	c := newTestCipher(f)
	sealed, err := c.Seal([]byte("seed"), testBinding)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed)
	f.Add([]byte{})
	f.Add([]byte{versionAESGCM})
	f.Add([]byte{versionAESGCMBound})
	f.Add(make([]byte, 29))
	f.Fuzz(func(t *testing.T, b []byte) {
		plain, err := c.Open(b, testBinding)
		if _, lerr := c.OpenLegacy(b); lerr != nil && !errors.Is(lerr, ErrOpen) {
			t.Fatalf("OpenLegacy(%x) error %v does not wrap ErrOpen", b, lerr)
		}
		if err == nil {
			// Only a value this key sealed may open; re-sealing must round trip.
			again, err := c.Seal(plain, testBinding)
			if err != nil {
				t.Fatal(err)
			}
			if back, err := c.Open(again, testBinding); err != nil || !bytes.Equal(back, plain) {
				t.Fatalf("Open(Seal(%q)) = %q, %v", plain, back, err)
			}
		} else if !errors.Is(err, ErrOpen) {
			t.Fatalf("Open(%x) error %v does not wrap ErrOpen", b, err)
		}
		if _, err := c.OpenString(string(b), testBinding); err != nil && !errors.Is(err, ErrOpen) {
			t.Fatalf("OpenString(%q) error %v does not wrap ErrOpen", b, err)
		}
	})
}

// TestCipherBinding: a value opens only under the binding it was sealed for, so a database writer cannot move a
// runner's token to another runner, or a token into a secret field.
func TestCipherBinding(t *testing.T) {
	c := newTestCipher(t)
	sealed, err := c.Seal([]byte("ghp_token"), "runner/a/token")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		binding string
		wantErr bool
	}{
		{"same row and field", "runner/a/token", false},
		{"another runner", "runner/b/token", true},
		{"another field", "runner/a/secret", true},
		{"a prefix", "runner/a/toke", true},
		{"empty", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Open(sealed, tt.binding)
			if tt.wantErr != (err != nil) || (err != nil && !errors.Is(err, ErrOpen)) {
				t.Errorf("Open(sealed for runner/a/token, %q) = %q, %v; want error %v wrapping ErrOpen", tt.binding, got, err, tt.wantErr)
			}
		})
	}
	if _, err := c.Seal([]byte("x"), ""); err == nil {
		t.Errorf("Seal(x, \"\") = nil error, want an error: every value is bound")
	}
}

// legacySeal seals the way runplane did before bindings: version 1, no additional data.
func legacySeal(t *testing.T, c *Cipher, plain []byte) []byte {
	t.Helper()
	ns := c.aead.NonceSize()
	out := make([]byte, 1+ns)
	out[0] = versionAESGCM
	if _, err := rand.Read(out[1:]); err != nil {
		t.Fatal(err)
	}
	return c.aead.Seal(out, out[1:], plain, nil)
}

// TestCipherLegacy: a value sealed without a binding opens only through OpenLegacy (the reseal migration), never
// through Open; a bound value never opens through OpenLegacy.
func TestCipherLegacy(t *testing.T) {
	c := newTestCipher(t)
	old := legacySeal(t, c, []byte("ghp_old"))
	if !IsLegacy(old) {
		t.Errorf("IsLegacy(legacy value) = false, want true")
	}
	if got, err := c.OpenLegacy(old); err != nil || string(got) != "ghp_old" {
		t.Errorf("OpenLegacy(legacy value) = %q, %v; want the plaintext", got, err)
	}
	if got, err := c.Open(old, testBinding); !errors.Is(err, ErrOpen) {
		t.Errorf("Open(legacy value) = %q, %v; want ErrOpen", got, err)
	}
	bound, err := c.Seal([]byte("ghp_new"), testBinding)
	if err != nil {
		t.Fatal(err)
	}
	if IsLegacy(bound) {
		t.Errorf("IsLegacy(bound value) = true, want false")
	}
	if got, err := c.OpenLegacy(bound); !errors.Is(err, ErrOpen) {
		t.Errorf("OpenLegacy(bound value) = %q, %v; want ErrOpen", got, err)
	}
	// Rewriting the version byte of a bound value does not make it a legacy one: the version is authenticated.
	forged := bytes.Clone(bound)
	forged[0] = versionAESGCM
	if got, err := c.OpenLegacy(forged); !errors.Is(err, ErrOpen) {
		t.Errorf("OpenLegacy(bound value relabelled legacy) = %q, %v; want ErrOpen", got, err)
	}
}
