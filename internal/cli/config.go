package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// defaultServer is where commands go when no flag, env or login names a server.
const defaultServer = "http://127.0.0.1:8080"

// fileConfig is what `runplane login` remembers, in $XDG_CONFIG_HOME/runplane/config.json.
type fileConfig struct {
	Server   string `json:"server"`
	Token    string `json:"token"`
	Username string `json:"username,omitempty"`
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
	var c fileConfig
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
	return c, nil
}

// saveConfig writes c atomically: a private file (0600) in a private directory (0700), since it holds a token.
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

// sameServer compares server URLs loosely (trailing slashes and the API prefix do not matter).
func sameServer(a, b string) bool {
	norm := func(s string) string {
		return strings.TrimSuffix(strings.TrimRight(strings.TrimSpace(s), "/"), "/api/v1")
	}
	return norm(a) == norm(b)
}
