package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
)

// KeySize is the length of a Cipher key: AES-256.
const KeySize = 32

// versionAESGCM marks a value sealed, before values were bound to their row, with AES-256-GCM and a random
// 12-byte nonce and no additional data: version (1) || nonce (12) || ciphertext || tag (16). Only OpenLegacy
// opens it, so that a store can reseal what an older runplane wrote, once.
const versionAESGCM byte = 1

// versionAESGCMBound marks a value sealed with AES-256-GCM whose additional data is its binding (the row and
// field it belongs to): version (2) || nonce (12) || ciphertext || tag (16). The version byte is authenticated too.
const versionAESGCMBound byte = 2

// ErrOpen: a sealed value is malformed, was tampered with, or was sealed with another key.
var ErrOpen = errors.New("secret: cannot open sealed value")

// Cipher seals and opens values with one key. It is safe for concurrent use.
type Cipher struct {
	aead cipher.AEAD
}

// NewCipher returns a Cipher for a KeySize-byte key.
func NewCipher(key []byte) (*Cipher, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret: key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	return &Cipher{aead: aead}, nil
}

// Seal encrypts and authenticates plaintext bound to binding, a non-empty name of where the value is kept (for
// example "runner/<name>/token"): Open with any other binding fails, so a value copied to another row or field
// does not open there. Each call uses a fresh random nonce, so sealing the same value twice gives different results.
func (c *Cipher) Seal(plaintext []byte, binding string) ([]byte, error) {
	if binding == "" {
		return nil, errors.New("secret: seal: empty binding")
	}
	ns := c.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plaintext)+c.aead.Overhead())
	out[0] = versionAESGCMBound
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("secret: nonce: %w", err)
	}
	return c.aead.Seal(out, out[1:], plaintext, additionalData(out[0], binding)), nil
}

// Open checks and decrypts a value Seal made with the same binding. Anything else — truncated, altered, of
// another version (a legacy unbound value included), sealed with another key or for another binding — returns an
// error wrapping ErrOpen.
func (c *Cipher) Open(sealed []byte, binding string) ([]byte, error) {
	if err := c.check(sealed, versionAESGCMBound); err != nil {
		return nil, err
	}
	return c.open(sealed, additionalData(sealed[0], binding))
}

// OpenLegacy opens a value sealed before bindings existed (version 1, no additional data). Only a migration that
// reseals such values with Seal may call it: accepting them later would let anyone who can write the database
// move a value between rows.
func (c *Cipher) OpenLegacy(sealed []byte) ([]byte, error) {
	if err := c.check(sealed, versionAESGCM); err != nil {
		return nil, err
	}
	return c.open(sealed, nil)
}

// IsLegacy reports whether sealed has the version prefix of a value sealed without a binding.
func IsLegacy(sealed []byte) bool { return len(sealed) > 0 && sealed[0] == versionAESGCM }

func (c *Cipher) check(sealed []byte, version byte) error {
	if len(sealed) < 1+c.aead.NonceSize()+c.aead.Overhead() {
		return fmt.Errorf("%w: too short", ErrOpen)
	}
	if sealed[0] != version {
		return fmt.Errorf("%w: version %d, want %d", ErrOpen, sealed[0], version)
	}
	return nil
}

func (c *Cipher) open(sealed, ad []byte) ([]byte, error) {
	ns := c.aead.NonceSize()
	plain, err := c.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], ad)
	if err != nil {
		return nil, fmt.Errorf("%w: wrong key, wrong binding or altered value", ErrOpen)
	}
	return plain, nil
}

// additionalData is what GCM authenticates besides the ciphertext: the version byte and the binding.
func additionalData(version byte, binding string) []byte {
	return append([]byte{version}, binding...)
}

// SealString is Seal for text columns: it returns the sealed value in standard base64.
func (c *Cipher) SealString(plaintext, binding string) (string, error) {
	b, err := c.Seal([]byte(plaintext), binding)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// OpenString reverses SealString.
func (c *Cipher) OpenString(sealed, binding string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil {
		return "", fmt.Errorf("%w: not base64", ErrOpen)
	}
	p, err := c.Open(b, binding)
	if err != nil {
		return "", err
	}
	return string(p), nil
}
