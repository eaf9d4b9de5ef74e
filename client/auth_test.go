package client_test

import (
	"errors"
	"github.com/runplane/runplane/internal/server/servertest"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

func TestLogin(t *testing.T) {
	url := servertest.Start(t)
	tests := []struct {
		name  string
		login api.Login
		want  error
	}{
		{"root", api.Login{Username: "root", Password: rootPassword}, nil},
		{"explicit local provider", api.Login{Username: "root", Password: rootPassword, Provider: api.ProviderLocal}, nil},
		{"wrong password", api.Login{Username: "root", Password: "nope"}, client.ErrUnauthorized},
		{"unknown user", api.Login{Username: "nobody", Password: rootPassword}, client.ErrUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := client.New(url)
			if err != nil {
				t.Fatal(err)
			}
			token, err := c.Login(t.Context(), tt.login)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Login(%s) error = %v, want %v", tt.login.Username, err, tt.want)
			}
			if tt.want != nil {
				if token != "" || c.Token() != "" {
					t.Errorf("failed Login left token %q, client token %q", token, c.Token())
				}
				return
			}
			if token == "" || c.Token() != token {
				t.Fatalf("Login token = %q, client token %q", token, c.Token())
			}
			if _, err := c.ListRunners(t.Context()); err != nil {
				t.Errorf("ListRunners after Login: %v", err)
			}
		})
	}
}

func TestRefresh(t *testing.T) {
	url := servertest.Start(t)
	c := newClient(t, url)
	tok, err := c.Refresh(t.Context())
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if tok == "" || c.Token() != tok {
		t.Fatalf("Refresh token = %q, client token %q", tok, c.Token())
	}
	fresh, err := client.New(url, client.WithToken(tok))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.ListTasks(t.Context()); err != nil {
		t.Errorf("ListTasks with refreshed token: %v", err)
	}
}

func TestUnauthenticated(t *testing.T) {
	url := servertest.Start(t)
	tests := []struct {
		name  string
		token string
	}{
		{"no token", ""},
		{"garbage token", "not-a-token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := client.New(url, client.WithToken(tt.token))
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Health(t.Context()); err != nil {
				t.Errorf("Health = %v, want nil (no credentials needed)", err)
			}
			_, err = c.ListRunners(t.Context())
			checkStatus(t, "ListRunners", err, 401)
			if !errors.Is(err, client.ErrUnauthorized) {
				t.Errorf("errors.Is(%v, ErrUnauthorized) = false", err)
			}
			if _, err := c.Refresh(t.Context()); !errors.Is(err, client.ErrUnauthorized) {
				t.Errorf("Refresh error = %v, want ErrUnauthorized", err)
			}
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		in, want string
		bad      bool
	}{
		{in: "http://127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{in: "http://127.0.0.1:8080/", want: "http://127.0.0.1:8080"},
		{in: "https://runplane.example.com/api/v1/", want: "https://runplane.example.com"},
		{in: "https://example.com/runplane", want: "https://example.com/runplane"},
		{in: "127.0.0.1:8080", bad: true},
		{in: "ftp://example.com", bad: true},
		{in: "http://user:pw@example.com", bad: true},
		{in: "", bad: true},
	}
	for _, tt := range tests {
		c, err := client.New(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("New(%q) = %q, want an error", tt.in, c.BaseURL())
			}
			continue
		}
		if err != nil || c.BaseURL() != tt.want {
			t.Errorf("New(%q) = %v, %v; want %q", tt.in, c, err, tt.want)
		}
	}
}
