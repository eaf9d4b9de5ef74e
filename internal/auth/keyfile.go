package auth

import (
	"fmt"

	"github.com/runplane/runplane/internal/secret"
)

// SigningKeySize is the length of a JWT signing key.
const SigningKeySize = secret.KeySize

// LoadOrCreateSigningKey returns the JWT signing key stored at path, first generating SigningKeySize random bytes
// into a new file (mode 0600) if there is none. The file has the format, atomic creation and checks of the
// encryption key file (secret.LoadOrCreateKey): it refuses a key file its group or others may use.
func LoadOrCreateSigningKey(path string) ([]byte, error) {
	key, err := secret.LoadOrCreateKey(path)
	if err != nil {
		return nil, fmt.Errorf("auth: signing key: %w", err)
	}
	return key, nil
}
