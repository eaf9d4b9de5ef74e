package cli

import (
	"errors"
	"strings"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

// errNotLoggedIn is returned by commands that need a token when none is known for the chosen server.
var errNotLoggedIn = errors.New(`not logged in: run "runplane login" or set RUNPLANE_TOKEN`)

// serverURL resolves the server: --server, then RUNPLANE_SERVER, then the config file, then defaultServer.
func (a *app) serverURL(cfg fileConfig) string {
	if a.server != "" {
		return a.server
	}
	if v, ok := lookupEnv("RUNPLANE_SERVER"); ok {
		return v
	}
	if cfg.Server != "" {
		return cfg.Server
	}
	return defaultServer
}

// connect returns a client for the resolved server carrying the resolved token: --token, then RUNPLANE_TOKEN,
// then the config file's token, which is only sent to the server it was issued by. The token may be a session
// token or an API token key.
func (a *app) connect() (*client.Client, error) {
	cfg, err := loadConfig()
	if err != nil {
		return nil, err
	}
	srv := a.serverURL(cfg)
	token := a.token
	if token == "" {
		token, _ = lookupEnv("RUNPLANE_TOKEN")
	}
	if token == "" && sameServer(cfg.Server, srv) {
		token = cfg.Token
	}
	if token == "" {
		return nil, errNotLoggedIn
	}
	return a.newClient(srv, tokenOption(token))
}

// tokenOption sends an API token key as the Token header and anything else as a Bearer session token.
func tokenOption(token string) client.Option {
	if strings.HasPrefix(token, api.APITokenPrefix) {
		return client.WithAPIToken(token)
	}
	return client.WithToken(token)
}

func (a *app) newClient(srv string, opts ...client.Option) (*client.Client, error) {
	return client.New(srv, append(opts, client.WithUserAgent("runplane-cli/"+version))...)
}
