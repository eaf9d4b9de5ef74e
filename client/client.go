package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// APIPrefix is the path under which the REST API lives.
const APIPrefix = "/api/v1"

// DefaultUserAgent is sent when no WithUserAgent option is given.
const DefaultUserAgent = "runplane-client"

// maxResponseBytes bounds how much of a JSON answer is read. Job objects carry stdout, so this is generous.
const maxResponseBytes = 64 << 20

// Client talks to one runplane server. It is safe for concurrent use.
type Client struct {
	base      string // scheme://host[:port][/prefix], no trailing slash, without APIPrefix
	http      *http.Client
	userAgent string

	mu       sync.RWMutex
	token    string
	apiToken string
}

// Option configures a Client.
type Option func(*Client)

// WithToken makes the client authenticate every request with "Authorization: Bearer token".
func WithToken(token string) Option {
	return func(c *Client) { c.token = token }
}

// WithAPIToken makes the client authenticate every request with the header "Token: key", where key is an API
// token's key (api.APIToken.Key, shown once on creation). When both are set, the API token is sent and the
// session token is not: the server would look at the API token first anyway.
func WithAPIToken(key string) Option {
	return func(c *Client) { c.apiToken = key }
}

// WithHTTPClient replaces http.DefaultClient. Set no overall Timeout on it if you follow logs or wait for jobs:
// use contexts to bound calls instead.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.http = hc }
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// New returns a client for the server at baseURL, for example "http://127.0.0.1:8080". A trailing "/" or
// "/api/v1" is accepted and ignored.
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		return nil, fmt.Errorf("client: server URL %q: %w", baseURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: server URL %q: want http://host[:port] or https://host[:port]", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("client: server URL %q: must not carry credentials, a query or a fragment", baseURL)
	}
	u.Path = strings.TrimSuffix(strings.TrimRight(u.Path, "/"), APIPrefix)
	u.RawPath = ""
	c := &Client{base: strings.TrimRight(u.String(), "/"), http: http.DefaultClient, userAgent: DefaultUserAgent}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// BaseURL returns the server URL the client talks to, without the API prefix.
func (c *Client) BaseURL() string { return c.base }

// Token returns the session token the client currently holds ("" for none).
func (c *Client) Token() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.token
}

// SetToken replaces the session token sent with every later request.
func (c *Client) SetToken(token string) {
	c.mu.Lock()
	c.token = token
	c.mu.Unlock()
}

// request is one API call.
type request struct {
	method string
	path   string     // under APIPrefix unless raw; segments already escaped
	query  url.Values // may be nil
	header http.Header
	body   []byte // sent as is when not nil
	raw    bool   // path is absolute (e.g. /healthz)
}

// send performs r and returns the response when its status is 2xx; otherwise it reads the error body (bounded),
// closes it and returns an *Error. The caller closes a returned response's body.
func (c *Client) send(ctx context.Context, r request) (*http.Response, error) {
	u := c.base + r.path
	if !r.raw {
		u = c.base + APIPrefix + r.path
	}
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if r.body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	req.Header.Set("User-Agent", c.userAgent)
	c.mu.RLock()
	key, tok := c.apiToken, c.token
	c.mu.RUnlock()
	switch {
	case key != "":
		req.Header.Set("Token", key)
	case tok != "":
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// *url.Error would repeat the method and URL in its own words.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%s %s: %w", r.method, u, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		return nil, readError(resp)
	}
	return resp, nil
}

// do performs r and decodes a JSON answer into out (unless out is nil).
func (c *Client) do(ctx context.Context, r request, out any) error {
	resp, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decodeBody(r, resp, out)
}

// decodeBody decodes resp's JSON body into out (unless out is nil), reading at most maxResponseBytes.
func decodeBody(r request, resp *http.Response, out any) error {
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBytes))
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return fmt.Errorf("%s %s: read response: %w", r.method, r.path, err)
	}
	if len(b) > maxResponseBytes {
		return fmt.Errorf("%s %s: response larger than %d bytes", r.method, r.path, maxResponseBytes)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decode response: %w", r.method, r.path, err)
	}
	return nil
}

// getJSON performs a GET of path and decodes the answer as a T.
func getJSON[T any](ctx context.Context, c *Client, path string, query url.Values) (T, error) {
	var out T
	err := c.do(ctx, request{method: http.MethodGet, path: path, query: query}, &out)
	return out, err
}

// sendJSON sends v as the JSON body of method path and decodes the answer as a T.
func sendJSON[T any](ctx context.Context, c *Client, method, path string, v any) (T, error) {
	var out T
	body, err := jsonBody(v)
	if err != nil {
		return out, err
	}
	err = c.do(ctx, request{method: method, path: path, body: body}, &out)
	return out, err
}

// deleteJSON performs a DELETE of path, with v as its JSON body unless v is nil.
func (c *Client) deleteJSON(ctx context.Context, path string, v any) error {
	r := request{method: http.MethodDelete, path: path}
	if v != nil {
		body, err := jsonBody(v)
		if err != nil {
			return err
		}
		r.body = body
	}
	return c.do(ctx, r, nil)
}

// jsonBody marshals v for a request body.
func jsonBody(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("client: encode request: %w", err)
	}
	return b, nil
}

// seg escapes one path segment (a name or an id).
func seg(s string) string { return url.PathEscape(s) }
