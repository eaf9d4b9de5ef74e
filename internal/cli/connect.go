package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/client"
)

// errNotLoggedIn is returned by commands that need a token when none is known for the chosen server.
var errNotLoggedIn = errors.New(`not logged in: run "runplane login" or set RUNPLANE_TOKEN`)

// selectedContext is the context commands use: --context, then RUNPLANE_CONTEXT, then the config's current one.
// Its name is "" (and the context nil) when there is none; naming a context that does not exist is an error.
func (a *app) selectedContext(cfg *fileConfig) (string, *serverContext, error) {
	name := a.context
	if name == "" {
		name, _ = lookupEnv("RUNPLANE_CONTEXT")
	}
	if name == "" {
		return cfg.Current, cfg.current(), nil
	}
	sc, ok := cfg.Contexts[name]
	if !ok {
		if len(cfg.Contexts) == 0 {
			return "", nil, fmt.Errorf("no context %q: none is saved yet (\"runplane login --context %s --server URL\" saves one)", name, name)
		}
		return "", nil, fmt.Errorf("no context %q; saved: %s", name, cfg.saved())
	}
	return name, sc, nil
}

// serverURL resolves the server: --server, then RUNPLANE_SERVER, then the context's, then defaultServer.
func (a *app) serverURL(sc *serverContext) string {
	if a.server != "" {
		return a.server
	}
	if v, ok := lookupEnv("RUNPLANE_SERVER"); ok && v != "" {
		return v
	}
	if sc != nil && sc.Server != "" {
		return sc.Server
	}
	return defaultServer
}

// connect returns a client for the resolved server carrying the resolved token: --token, then RUNPLANE_TOKEN,
// then the token of the saved context for that server (the selected one, or any whose server is the same server
// spelt differently), which is only ever sent to the server it was issued by. The token may be a session token
// or an API token key.
func (a *app) connect() (*client.Client, error) {
	cfg, err := loadConfig()
	if err != nil {
		return nil, err
	}
	_, sc, err := a.selectedContext(&cfg)
	if err != nil {
		return nil, err
	}
	srv := a.serverURL(sc)
	if _, err := a.newClient(srv); err != nil { // a malformed URL says so before anything else
		return nil, err
	}
	token := a.token
	if token == "" {
		token, _ = lookupEnv("RUNPLANE_TOKEN")
	}
	if token == "" {
		if n := cfg.forServer(srv); n != "" {
			token = cfg.Contexts[n].Token
		}
	}
	if token == "" {
		if len(cfg.Contexts) > 0 {
			return nil, fmt.Errorf("%w (no saved login for %s; saved: %s)", errNotLoggedIn, srv, cfg.saved())
		}
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
	c, err := client.New(srv, append(opts, client.WithUserAgent("runplane-cli/"+version))...)
	if err != nil && !strings.Contains(srv, "://") {
		return nil, fmt.Errorf("server %q has no scheme: want http://host[:port] or https://host[:port]", srv)
	}
	return c, err
}

// saveLogin stores token for srv in a context: the one named with --context, else the saved one for that server,
// else a new one named after its host; it becomes the current context. It returns the config file's path and
// the context's name.
func (a *app) saveLogin(cfg fileConfig, srv, token, username string) (path, name string, err error) {
	name = a.context
	if name == "" {
		name, _ = lookupEnv("RUNPLANE_CONTEXT")
	}
	if name == "" {
		if name = cfg.forServer(srv); name == "" {
			name = contextName(srv)
		}
	}
	cfg.Contexts[name] = &serverContext{Server: srv, Token: token, Username: username}
	cfg.Current = name
	path, err = saveConfig(cfg)
	return path, name, err
}
