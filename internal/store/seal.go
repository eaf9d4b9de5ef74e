package store

import (
	"encoding/json"
	"fmt"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/secret"
)

// SealedRunner is what backends store of a runner's secrets: each sealed value, nil (stored as NULL) for none.
type SealedRunner struct {
	Token      []byte // the token
	Secrets    []byte // the secret map, as one JSON object
	PullSecret []byte // the image pull secret
}

// SealRunner seals a runner's token, secret map and image pull secret for storage. Backends call it on every
// runner they write, so no token or secret is kept in plaintext.
func SealRunner(c *secret.Cipher, r api.Runner) (SealedRunner, error) {
	var s SealedRunner
	var err error
	if r.Token != "" {
		if s.Token, err = c.Seal([]byte(r.Token)); err != nil {
			return SealedRunner{}, fmt.Errorf("runner %q: seal token: %w", r.Name, err)
		}
	}
	if len(r.Secret) > 0 {
		b, err := json.Marshal(r.Secret)
		if err != nil {
			return SealedRunner{}, fmt.Errorf("runner %q: encode secrets: %w", r.Name, err)
		}
		if s.Secrets, err = c.Seal(b); err != nil {
			return SealedRunner{}, fmt.Errorf("runner %q: seal secrets: %w", r.Name, err)
		}
	}
	if r.ImagePullSecret != "" {
		if s.PullSecret, err = c.Seal([]byte(r.ImagePullSecret)); err != nil {
			return SealedRunner{}, fmt.Errorf("runner %q: seal image pull secret: %w", r.Name, err)
		}
	}
	return s, nil
}

// OpenRunner fills r's token, secret map and image pull secret from the sealed values SealRunner made.
func OpenRunner(c *secret.Cipher, r *api.Runner, s SealedRunner) error {
	if s.Token != nil {
		b, err := c.Open(s.Token)
		if err != nil {
			return fmt.Errorf("runner %q: open token (is this the key the store was created with?): %w", r.Name, err)
		}
		r.Token = string(b)
	}
	if s.Secrets != nil {
		b, err := c.Open(s.Secrets)
		if err != nil {
			return fmt.Errorf("runner %q: open secrets (is this the key the store was created with?): %w", r.Name, err)
		}
		// The decoder's error could quote the plaintext, so it is not wrapped.
		if err := json.Unmarshal(b, &r.Secret); err != nil {
			return fmt.Errorf("runner %q: sealed secrets are not a JSON object of strings", r.Name)
		}
	}
	if s.PullSecret != nil {
		b, err := c.Open(s.PullSecret)
		if err != nil {
			return fmt.Errorf("runner %q: open image pull secret (is this the key the store was created with?): %w", r.Name, err)
		}
		r.ImagePullSecret = string(b)
	}
	return nil
}
