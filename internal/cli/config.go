package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// defaultServer is where commands go when no flag, env or context names a server.
const defaultServer = "http://127.0.0.1:8080"

// fileConfig is what `runplane login` remembers, in $XDG_CONFIG_HOME/runplane/config.json: named contexts (a
// server and the token for it), and which one commands use, as kubectl's contexts.
type fileConfig struct {
	Current  string                    `json:"current,omitempty"`
	Contexts map[string]*serverContext `json:"contexts,omitempty"`
}

// serverContext is one server and how to reach it.
type serverContext struct {
	Server   string `json:"server"`
	Token    string `json:"token,omitempty"`
	Username string `json:"username,omitempty"`
}

// legacyConfig is the config file before contexts: one server and its token. It is read, and rewritten as a
// context on the next save.
type legacyConfig struct {
	Server   string `json:"server"`
	Token    string `json:"token"`
	Username string `json:"username,omitempty"`
}

// current returns the context commands use (nil for none).
func (c *fileConfig) current() *serverContext {
	return c.Contexts[c.Current]
}

// names returns the contexts' names, sorted.
func (c *fileConfig) names() []string {
	out := make([]string, 0, len(c.Contexts))
	for n := range c.Contexts {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// forServer returns the name of a context for srv (the current one first), "" if none.
func (c *fileConfig) forServer(srv string) string {
	if cur := c.current(); cur != nil && sameServer(cur.Server, srv) {
		return c.Current
	}
	for _, n := range c.names() {
		if sameServer(c.Contexts[n].Server, srv) {
			return n
		}
	}
	return ""
}

// saved lists the contexts as "name (server)" for messages.
func (c *fileConfig) saved() string {
	var parts []string
	for _, n := range c.names() {
		parts = append(parts, fmt.Sprintf("%s (%s)", n, c.Contexts[n].Server))
	}
	return strings.Join(parts, ", ")
}

// contextName derives a context's name from its server: host[:port].
func contextName(srv string) string {
	if u, err := url.Parse(srv); err == nil && u.Host != "" {
		return u.Host
	}
	return srv
}

// configPath returns the path of the config file.
func configPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find config directory: %w", err)
	}
	return filepath.Join(dir, "runplane", "config.json"), nil
}

// loadConfig reads the config file; a missing file is an empty config.
func loadConfig() (fileConfig, error) {
	c := fileConfig{Contexts: map[string]*serverContext{}}
	p, err := configPath()
	if err != nil {
		return c, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read config: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("read config %s: %w", p, err)
	}
	if c.Contexts == nil {
		c.Contexts = map[string]*serverContext{}
	}
	for n, sc := range c.Contexts {
		if sc == nil {
			delete(c.Contexts, n)
		}
	}
	var legacy legacyConfig
	if err := json.Unmarshal(b, &legacy); err == nil && legacy.Server != "" && len(c.Contexts) == 0 {
		name := contextName(legacy.Server)
		c.Contexts[name] = &serverContext{Server: legacy.Server, Token: legacy.Token, Username: legacy.Username}
		c.Current = name
	}
	return c, nil
}

// saveConfig writes c atomically: a private file (0600) in a private directory (0700), since it holds tokens.
func saveConfig(c fileConfig) (string, error) {
	p, err := configPath()
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("write config: %w", err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return "", fmt.Errorf("write config: %w", err)
	}
	f, err := os.CreateTemp(dir, ".config-*.json")
	if err != nil {
		return "", fmt.Errorf("write config: %w", err)
	}
	defer os.Remove(f.Name()) // fails harmlessly after the rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return "", fmt.Errorf("write config: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return "", fmt.Errorf("write config: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("write config: %w", err)
	}
	if err := os.Rename(f.Name(), p); err != nil {
		return "", fmt.Errorf("write config: %w", err)
	}
	return p, nil
}

// sameServer tells whether two server URLs reach the same server: trailing slashes, the API prefix, case, default
// ports and the spelling of this machine (localhost, 127.0.0.1, ::1) do not matter.
func sameServer(a, b string) bool {
	return normServer(a) == normServer(b)
}

func normServer(s string) string {
	s = strings.TrimSuffix(strings.TrimRight(strings.TrimSpace(s), "/"), "/api/v1")
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return s
	}
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	if host == "localhost" || host == "::1" || strings.HasPrefix(host, "127.") {
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			host = "loopback"
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port) + strings.TrimRight(u.EscapedPath(), "/")
}
