package httpapi

import (
	"strings"
	"testing"

	"github.com/runplane/runplane/api"
)

func TestCheckLogin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      api.Login
		wantErr string
	}{
		{"ordinary", api.Login{Username: "root", Password: "secret", Provider: "local"}, ""},
		{"empty", api.Login{}, ""},
		{"directory name at the limit", api.Login{Username: strings.Repeat("u", 256)}, ""},
		{"username too long", api.Login{Username: strings.Repeat("u", 257)}, "username longer than 256 bytes"},
		{"megabyte username", api.Login{Username: strings.Repeat("u", 1<<20)}, "username longer than 256 bytes"},
		{"password too long", api.Login{Username: "root", Password: strings.Repeat("p", 1025)}, "password longer than 1024 bytes"},
		{"provider too long", api.Login{Username: "root", Provider: strings.Repeat("x", 65)}, "provider longer than 64 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := checkLogin(tt.in)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("checkLogin = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
				t.Errorf("checkLogin = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// FuzzCheckLogin: a login passes exactly when every field is within its bound, and a refusal is a 400.
func FuzzCheckLogin(f *testing.F) {
	f.Add("root", "pw", "local")
	f.Add(strings.Repeat("u", 300), "", "")
	f.Fuzz(func(t *testing.T, user, password, provider string) {
		err := checkLogin(api.Login{Username: user, Password: password, Provider: provider})
		within := len(user) <= maxLoginUsername && len(password) <= maxLoginPassword && len(provider) <= maxLoginProvider
		if within != (err == nil) {
			t.Fatalf("checkLogin(%d, %d, %d bytes) = %v", len(user), len(password), len(provider), err)
		}
		if err != nil {
			if status, _ := classify(err); status != 400 {
				t.Fatalf("checkLogin error %v classifies as %d, want 400", err, status)
			}
		}
	})
}
