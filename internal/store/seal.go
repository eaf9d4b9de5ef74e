package store

import (
	"encoding/json"
	"fmt"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/secret"
)

// Sealed runner fields, as named in their bindings.
const (
	FieldToken      = "token"
	FieldSecrets    = "secret"
	FieldPullSecret = "image_pull_secret"
)

// RunnerBinding is what a sealed field of runner name is bound to (AES-GCM additional data): "runner/<name>/<field>".
// A sealed value copied into another runner's row, or into another field, does not open there. A new sealed
// field of a runner is sealed with secret.Cipher.Seal(value, RunnerBinding(name, "<field>")).
func RunnerBinding(name, field string) string { return "runner/" + name + "/" + field }

// SealedRunner is what backends store of a runner's secrets: each sealed value, nil (stored as NULL) for none.
type SealedRunner struct {
	Token      []byte // the token
	Secrets    []byte // the secret map, as one JSON object
	PullSecret []byte // the image pull secret
}

// SealRunner seals a runner's token, secret map and image pull secret for storage, each bound to its row and
// field. Backends call it on every runner they write, so no token or secret is kept in plaintext.
func SealRunner(c *secret.Cipher, r api.Runner) (SealedRunner, error) {
	var s SealedRunner
	var err error
	if r.Token != "" {
		if s.Token, err = c.Seal([]byte(r.Token), RunnerBinding(r.Name, FieldToken)); err != nil {
			return SealedRunner{}, fmt.Errorf("runner %q: seal token: %w", r.Name, err)
		}
	}
	if len(r.Secret) > 0 {
		b, err := json.Marshal(r.Secret)
		if err != nil {
			return SealedRunner{}, fmt.Errorf("runner %q: encode secrets: %w", r.Name, err)
		}
		if s.Secrets, err = c.Seal(b, RunnerBinding(r.Name, FieldSecrets)); err != nil {
			return SealedRunner{}, fmt.Errorf("runner %q: seal secrets: %w", r.Name, err)
		}
	}
	if r.ImagePullSecret != "" {
		if s.PullSecret, err = c.Seal([]byte(r.ImagePullSecret), RunnerBinding(r.Name, FieldPullSecret)); err != nil {
			return SealedRunner{}, fmt.Errorf("runner %q: seal image pull secret: %w", r.Name, err)
		}
	}
	return s, nil
}

// OpenRunner fills r's token, secret map and image pull secret from the sealed values SealRunner made for r.Name.
func OpenRunner(c *secret.Cipher, r *api.Runner, s SealedRunner) error {
	const hint = "(is this the key the store was created with, and the row it was sealed for?)"
	if s.Token != nil {
		b, err := c.Open(s.Token, RunnerBinding(r.Name, FieldToken))
		if err != nil {
			return fmt.Errorf("runner %q: open token %s: %w", r.Name, hint, err)
		}
		r.Token = string(b)
	}
	if s.Secrets != nil {
		b, err := c.Open(s.Secrets, RunnerBinding(r.Name, FieldSecrets))
		if err != nil {
			return fmt.Errorf("runner %q: open secrets %s: %w", r.Name, hint, err)
		}
		// The decoder's error could quote the plaintext, so it is not wrapped.
		if err := json.Unmarshal(b, &r.Secret); err != nil {
			return fmt.Errorf("runner %q: sealed secrets are not a JSON object of strings", r.Name)
		}
	}
	if s.PullSecret != nil {
		b, err := c.Open(s.PullSecret, RunnerBinding(r.Name, FieldPullSecret))
		if err != nil {
			return fmt.Errorf("runner %q: open image pull secret %s: %w", r.Name, hint, err)
		}
		r.ImagePullSecret = string(b)
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

// ResealRunnerLegacy reseals a runner's token and secrets that an older runplane sealed without a binding (see
// ResealLegacy), bound to the runner's row; changed is false when neither needed it.
func ResealRunnerLegacy(c *secret.Cipher, name string, token, secrets []byte) (tok, sec []byte, changed bool, err error) {
	tok, ct, err := ResealLegacy(c, token, RunnerBinding(name, FieldToken))
	if err != nil {
		return nil, nil, false, err
	}
	sec, cs, err := ResealLegacy(c, secrets, RunnerBinding(name, FieldSecrets))
	if err != nil {
		return nil, nil, false, err
	}
	return tok, sec, ct || cs, nil
}
