package api

import (
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
)

const testPassword = "pw-7c1e-secret"

var testAuth = base64.StdEncoding.EncodeToString([]byte("user:" + testPassword))

func TestValidatePullSecret(t *testing.T) {
	tests := []struct {
		name, in string
		wantErr  string // "" for valid
	}{
		{"empty", "", ""},
		{"auth", `{"auths":{"registry.example.com":{"auth":"` + testAuth + `"}}}`, ""},
		{"username and password", `{"auths":{"127.0.0.1:5000":{"username":"u","password":"` + testPassword + `"}}}`, ""},
		{"identity token", `{"auths":{"r.example":{"identitytoken":"` + testPassword + `"}}}`, ""},
		{"not json", `{"auths": ` + testPassword, "want a docker config.json"},
		{"trailing data", `{"auths":{"r":{"auth":"` + testAuth + `"}}} {}`, "want a docker config.json"},
		{"array", `["` + testPassword + `"]`, "want a docker config.json"},
		{"no auths", `{}`, "names no registry"},
		{"auths empty", `{"auths":{}}`, "names no registry"},
		{"auth not base64", `{"auths":{"r":{"auth":"` + testPassword + `!"}}}`, "want base64 of user:password"},
		{"auth without colon", `{"auths":{"r":{"auth":"` + base64.StdEncoding.EncodeToString([]byte(testPassword)) + `"}}}`, "want base64 of user:password"},
		{"password without user", `{"auths":{"r":{"password":"` + testPassword + `"}}}`, "no credentials"},
		{"registry with space", `{"auths":{"a b":{"auth":"` + testAuth + `"}}}`, "registry name"},
		{"empty registry", `{"auths":{"":{"auth":"` + testAuth + `"}}}`, "registry name"},
		{"too long", `{"auths":{"r":{"auth":"` + strings.Repeat("A", MaxPullSecret) + `"}}}`, "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidatePullSecret(tt.in)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidatePullSecret(%.40q) = %v, want nil", tt.in, err)
				}
				return
			}
			var inv *InvalidError
			if !errors.As(err, &inv) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ValidatePullSecret(%.40q) = %v, want an InvalidError containing %q", tt.in, err, tt.wantErr)
			}
			if strings.Contains(err.Error(), testPassword) || strings.Contains(err.Error(), testAuth) {
				t.Errorf("ValidatePullSecret's error quotes the secret: %v", err)
			}
		})
	}
}

func TestPullSecretValues(t *testing.T) {
	in := `{"auths":{"a":{"auth":"` + testAuth + `"},"b":{"username":"u","password":"p2"}}}`
	got := PullSecretValues(in)
	for _, want := range []string{testAuth, testPassword, "p2"} {
		if !slices.Contains(got, want) {
			t.Errorf("PullSecretValues(%q) = %q, lacks %q", in, got, want)
		}
	}
	if got := PullSecretValues("not json"); got != nil {
		t.Errorf("PullSecretValues(not json) = %q, want none", got)
	}
}

func TestRunnerPullSecretMask(t *testing.T) {
	secret := `{"auths":{"r":{"auth":"` + testAuth + `"}}}`
	stored := Runner{Name: "r", GitURL: "https://x/y.git", ImagePullSecret: secret}
	if got := stored.Masked().ImagePullSecret; got != Mask {
		t.Errorf("Masked().ImagePullSecret = %q, want the mask", got)
	}
	if got := (Runner{}).Masked().ImagePullSecret; got != "" {
		t.Errorf("Masked() of a runner without one = %q, want empty", got)
	}
	tests := []struct{ name, sent, want string }{
		{"mask keeps", Mask, secret},
		{"empty deletes", "", ""},
		{"new replaces", `{"auths":{"q":{"auth":"` + testAuth + `"}}}`, `{"auths":{"q":{"auth":"` + testAuth + `"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := Runner{Name: "r", GitURL: "https://x/y.git", ImagePullSecret: tt.sent}.MergeSecrets(stored)
			if next.ImagePullSecret != tt.want {
				t.Errorf("MergeSecrets: image_pull_secret %q, want %q", next.ImagePullSecret, tt.want)
			}
			if err := next.Validate(); err != nil {
				t.Errorf("Validate() = %v", err)
			}
		})
	}
}

func FuzzValidatePullSecret(f *testing.F) {
	f.Add(`{"auths":{"registry.example.com":{"auth":"` + testAuth + `"}}}`)
	f.Add(`{"auths":{"r":{"username":"u","password":"p"}}}`)
	f.Add(`{"auths":{"r":{}}}`)
	f.Add(`{"auths":`)
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidatePullSecret(s)
		if err == nil {
			// What validates is what podman reads: at least one registry, each with credentials to mask.
			if s != "" && len(PullSecretValues(s)) == 0 {
				t.Errorf("ValidatePullSecret(%q) = nil, but it holds no credentials", s)
			}
			return
		}
		var inv *InvalidError
		if !errors.As(err, &inv) {
			t.Errorf("ValidatePullSecret(%q) = %T, want *InvalidError", s, err)
		}
	})
}
