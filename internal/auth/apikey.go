package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/runplane/runplane/api"
)

// APIKeyPrefix starts every API token key.
const APIKeyPrefix = api.APITokenPrefix

// maxAPIKeyLen bounds a presented key before it is hashed.
const maxAPIKeyLen = 256

// apiKeyHasher derives the keyed hash API token keys are stored as. The hash key is derived from the signing key,
// so a copy of the database alone cannot test guesses.
type apiKeyHasher struct{ key []byte }

func newAPIKeyHasher(signingKey []byte) apiKeyHasher {
	m := hmac.New(sha256.New, signingKey)
	m.Write([]byte("runplane api token v1"))
	return apiKeyHasher{key: m.Sum(nil)}
}

func (h apiKeyHasher) hash(key string) string {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(key))
	return hex.EncodeToString(m.Sum(nil))
}

// NewAPIKey returns a new random API token key (about 260 bits) and the hash to store for it.
func (a *Authenticator) NewAPIKey() (key, hash string) {
	key = APIKeyPrefix + strings.ToLower(rand.Text()+rand.Text())
	return key, a.keys.hash(key)
}
