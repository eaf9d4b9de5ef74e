package server

import (
	"net/http"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
)

// TestMaxTokenLifetime: with a maximum, a token created without an expiry gets it, and a later expiry (on create
// or update) or none (on update) is refused.
func TestMaxTokenLifetime(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *Config) { c.MaxTokenLifetime = 24 * time.Hour })
	var tok api.APIToken
	ts.do(t, req{method: "POST", path: "/api/v1/api_tokens", json: api.APIToken{Description: "ci"}}).want(t, 200).decode(t, &tok)
	if tok.Expires == nil || tok.Expires.After(time.Now().Add(24*time.Hour+time.Second)) || tok.Expires.Before(time.Now().Add(23*time.Hour)) {
		t.Errorf("token without an expiry = %+v, want it to expire in 24h", tok)
	}
	later := time.Now().Add(48 * time.Hour)
	ts.do(t, req{method: "POST", path: "/api/v1/api_tokens", json: api.APIToken{Description: "long", Expires: &later}}).want(t, http.StatusBadRequest)
	sooner := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	var short api.APIToken
	ts.do(t, req{method: "POST", path: "/api/v1/api_tokens", json: api.APIToken{Description: "short", Expires: &sooner}}).want(t, 200).decode(t, &short)
	if short.Expires == nil || !short.Expires.Equal(sooner) {
		t.Errorf("token with an expiry within the bound = %+v, want it kept", short)
	}
	ts.do(t, req{method: "PATCH", path: "/api/v1/api_tokens/" + short.ID, json: map[string]any{"expires": later}}).want(t, http.StatusBadRequest)
	ts.do(t, req{method: "PUT", path: "/api/v1/api_tokens/" + short.ID, json: map[string]any{"description": "short"}}).want(t, http.StatusBadRequest)
}
