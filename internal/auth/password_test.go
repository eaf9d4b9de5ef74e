package auth

import (
	"regexp"
	"strings"
	"testing"
)

func TestHashPasswordVerify(t *testing.T) {
	t.Parallel()
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	tests := []struct {
		name, password, attempt string
		want                    bool
	}{
		{"match", "correct horse", "correct horse", true},
		{"wrong", "correct horse", "correct horsE", false},
		{"prefix", "correct horse", "correct", false},
		{"empty attempt", "correct horse", "", false},
		{"unicode", "pässwörd-🔑", "pässwörd-🔑", true},
		{"too long attempt", "correct horse", strings.Repeat("x", maxPasswordLen+1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, err := HashPassword(tt.password)
			if err != nil {
				t.Fatalf("HashPassword: %v", err)
			}
			if !phc.MatchString(h) {
				t.Errorf("HashPassword(%q) = %q, not in PHC argon2id format", tt.password, h)
			}
			if strings.Contains(h, tt.password) {
				t.Errorf("hash %q contains the password", h)
			}
			got, err := VerifyPassword(h, tt.attempt)
			if err != nil || got != tt.want {
				t.Errorf("VerifyPassword(hash of %q, %q) = %v, %v, want %v, nil", tt.password, tt.attempt, got, err, tt.want)
			}
		})
	}
}

func TestHashPasswordSalted(t *testing.T) {
	t.Parallel()
	a, err := HashPassword("same")
	if err != nil {
		t.Fatal(err)
	}
	b, err := HashPassword("same")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Errorf("two hashes of one password are equal (%q): salt missing", a)
	}
}

func TestHashPasswordTooLong(t *testing.T) {
	t.Parallel()
	if _, err := HashPassword(strings.Repeat("x", maxPasswordLen+1)); err == nil {
		t.Errorf("HashPassword(%d bytes) succeeded, want an error", maxPasswordLen+1)
	}
}

func TestVerifyPasswordMalformed(t *testing.T) {
	t.Parallel()
	const salt, key = "c2FsdHNhbHRzYWx0c2FsdA", "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"
	tests := []struct{ name, hash string }{
		{"empty", ""},
		{"bcrypt", "$2a$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234"},
		{"argon2i", "$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + key},
		{"old version", "$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + key},
		{"missing part", "$argon2id$v=19$m=19456,t=2,p=1$" + salt},
		{"extra part", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key + "$x"},
		{"zero time", "$argon2id$v=19$m=19456,t=0,p=1$" + salt + "$" + key},
		{"huge memory", "$argon2id$v=19$m=4294967295,t=2,p=1$" + salt + "$" + key},
		{"huge time", "$argon2id$v=19$m=19456,t=100000,p=1$" + salt + "$" + key},
		{"zero threads", "$argon2id$v=19$m=19456,t=2,p=0$" + salt + "$" + key},
		{"noncanonical params", "$argon2id$v=19$m=019456,t=2,p=1$" + salt + "$" + key},
		{"params trailing", "$argon2id$v=19$m=19456,t=2,p=1,x=3$" + salt + "$" + key},
		{"padded salt", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "==$" + key},
		{"bad base64", "$argon2id$v=19$m=19456,t=2,p=1$!!!!$" + key},
		{"short salt", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$" + key},
		{"short key", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$a2V5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if ok, err := VerifyPassword(tt.hash, "pw"); err == nil || ok {
				t.Errorf("VerifyPassword(%q) = %v, %v, want false and an error", tt.hash, ok, err)
			}
		})
	}
}

func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		if _, err := HashPassword("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}
