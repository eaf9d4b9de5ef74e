package store

import (
	"encoding/json"
	"fmt"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/secret"
)

// SealRunner seals a runner's token and secret map (as one JSON object) for storage; an empty value is nil
// (stored as NULL). Backends call it on every runner they write, so no token or secret is kept in plaintext.
func SealRunner(c *secret.Cipher, r api.Runner) (token, secrets []byte, err error) {
	if r.Token != "" {
		if token, err = c.Seal([]byte(r.Token)); err != nil {
			return nil, nil, fmt.Errorf("runner %q: seal token: %w", r.Name, err)
		}
	}
	if len(r.Secret) > 0 {
		b, err := json.Marshal(r.Secret)
		if err != nil {
			return nil, nil, fmt.Errorf("runner %q: encode secrets: %w", r.Name, err)
		}
		if secrets, err = c.Seal(b); err != nil {
			return nil, nil, fmt.Errorf("runner %q: seal secrets: %w", r.Name, err)
		}
	}
	return token, secrets, nil
}

// OpenRunner fills r's token and secret map from the sealed values SealRunner made (nil: none).
func OpenRunner(c *secret.Cipher, r *api.Runner, token, secrets []byte) error {
	if token != nil {
		b, err := c.Open(token)
		if err != nil {
			return fmt.Errorf("runner %q: open token (is this the key the store was created with?): %w", r.Name, err)
		}
		r.Token = string(b)
	}
	if secrets != nil {
		b, err := c.Open(secrets)
		if err != nil {
			return fmt.Errorf("runner %q: open secrets (is this the key the store was created with?): %w", r.Name, err)
		}
		// The decoder's error could quote the plaintext, so it is not wrapped.
		if err := json.Unmarshal(b, &r.Secret); err != nil {
			return fmt.Errorf("runner %q: sealed secrets are not a JSON object of strings", r.Name)
		}
	}
	return nil
}
