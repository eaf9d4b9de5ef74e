package store

import (
	"encoding/json"
	"fmt"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/secret"
)

// Sealed runner fields, as named in their bindings.
const (
	FieldToken   = "token"
	FieldSecrets = "secret"
)

// RunnerBinding is what a sealed field of runner name is bound to (AES-GCM additional data): "runner/<name>/<field>".
// A sealed value copied into another runner's row, or into another field, does not open there. A new sealed
// field of a runner is sealed with secret.Cipher.Seal(value, RunnerBinding(name, "<field>")).
func RunnerBinding(name, field string) string { return "runner/" + name + "/" + field }

// SealRunner seals a runner's token and secret map (as one JSON object) for storage, each bound to its row and
// field; an empty value is nil (stored as NULL). Backends call it on every runner they write, so no token or
// secret is kept in plaintext.
func SealRunner(c *secret.Cipher, r api.Runner) (token, secrets []byte, err error) {
	if r.Token != "" {
		if token, err = c.Seal([]byte(r.Token), RunnerBinding(r.Name, FieldToken)); err != nil {
			return nil, nil, fmt.Errorf("runner %q: seal token: %w", r.Name, err)
		}
	}
	if len(r.Secret) > 0 {
		b, err := json.Marshal(r.Secret)
		if err != nil {
			return nil, nil, fmt.Errorf("runner %q: encode secrets: %w", r.Name, err)
		}
		if secrets, err = c.Seal(b, RunnerBinding(r.Name, FieldSecrets)); err != nil {
			return nil, nil, fmt.Errorf("runner %q: seal secrets: %w", r.Name, err)
		}
	}
	return token, secrets, nil
}

// OpenRunner fills r's token and secret map from the sealed values SealRunner made for r.Name (nil: none).
func OpenRunner(c *secret.Cipher, r *api.Runner, token, secrets []byte) error {
	if token != nil {
		b, err := c.Open(token, RunnerBinding(r.Name, FieldToken))
		if err != nil {
			return fmt.Errorf("runner %q: open token (is this the key the store was created with, and the row it was sealed for?): %w", r.Name, err)
		}
		r.Token = string(b)
	}
	if secrets != nil {
		b, err := c.Open(secrets, RunnerBinding(r.Name, FieldSecrets))
		if err != nil {
			return fmt.Errorf("runner %q: open secrets (is this the key the store was created with, and the row it was sealed for?): %w", r.Name, err)
		}
		// The decoder's error could quote the plaintext, so it is not wrapped.
		if err := json.Unmarshal(b, &r.Secret); err != nil {
			return fmt.Errorf("runner %q: sealed secrets are not a JSON object of strings", r.Name)
		}
	}
	return nil
}

// ResealLegacy returns a value an older runplane sealed without a binding (secret.IsLegacy) sealed again bound to
// binding; any other value (nil, already bound) comes back unchanged with changed false. Only the one migration
// that binds every sealed value calls it, inside the transaction that records the migration, so an unbound value
// planted in the database later is never accepted.
func ResealLegacy(c *secret.Cipher, sealed []byte, binding string) (out []byte, changed bool, err error) {
	if !secret.IsLegacy(sealed) {
		return sealed, false, nil
	}
	plain, err := c.OpenLegacy(sealed)
	if err != nil {
		return nil, false, fmt.Errorf("reseal %s (is this the key the store was created with?): %w", binding, err)
	}
	if out, err = c.Seal(plain, binding); err != nil {
		return nil, false, fmt.Errorf("reseal %s: %w", binding, err)
	}
	return out, true, nil
}
