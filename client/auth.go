package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/runplane/runplane/api"
)

// Login exchanges credentials for a token (an empty Provider means api.ProviderLocal). On success the client
// sends the new token with every later request, and Login returns it so the caller can keep it.
func (c *Client) Login(ctx context.Context, l api.Login) (string, error) {
	if l.Provider == "" {
		l.Provider = api.ProviderLocal
	}
	body, err := jsonBody(l)
	if err != nil {
		return "", err
	}
	return c.takeToken(ctx, request{method: http.MethodPost, path: "/login", body: body})
}

// Refresh exchanges the client's current token for a fresh one, which the client then uses.
func (c *Client) Refresh(ctx context.Context) (string, error) {
	return c.takeToken(ctx, request{method: http.MethodGet, path: "/refresh"})
}

func (c *Client) takeToken(ctx context.Context, r request) (string, error) {
	var out api.LoginResponse
	if err := c.do(ctx, r, &out); err != nil {
		return "", err
	}
	if out.Token == "" {
		return "", fmt.Errorf("%s %s: the server answered without a token", r.method, r.path)
	}
	c.SetToken(out.Token)
	return out.Token, nil
}

// Logout ends the session on the server side (POST /logout clears the session cookie and is audited) and drops
// the client's session token, which the client stops sending even if the call fails. A stateless session token
// stays valid until it expires: forget it too. An API token is not affected; delete it with DeleteAPIToken.
func (c *Client) Logout(ctx context.Context) error {
	err := c.do(ctx, request{method: http.MethodPost, path: "/logout"}, nil)
	c.SetToken("")
	return err
}

// Health reports whether the server answers GET /healthz with success. It needs no token.
func (c *Client) Health(ctx context.Context) error {
	resp, err := c.send(ctx, request{method: http.MethodGet, path: "/healthz", raw: true})
	if err != nil {
		return err
	}
	return resp.Body.Close()
}
