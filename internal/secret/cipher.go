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

// versionAESGCM marks a value sealed with AES-256-GCM and a random 12-byte nonce:
// version (1) || nonce (12) || ciphertext || tag (16).
const versionAESGCM byte = 1

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

// Seal encrypts and authenticates plaintext. Each call uses a fresh random nonce, so sealing the same value twice
// gives different results.
func (c *Cipher) Seal(plaintext []byte) ([]byte, error) {
	ns := c.aead.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plaintext)+c.aead.Overhead())
	out[0] = versionAESGCM
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("secret: nonce: %w", err)
	}
	return c.aead.Seal(out, out[1:], plaintext, nil), nil
}

// Open checks and decrypts a value made by Seal. Anything else — truncated, altered, of an unknown version or
// sealed with another key — returns an error wrapping ErrOpen.
func (c *Cipher) Open(sealed []byte) ([]byte, error) {
	ns := c.aead.NonceSize()
	if len(sealed) < 1+ns+c.aead.Overhead() {
		return nil, fmt.Errorf("%w: too short", ErrOpen)
	}
	if sealed[0] != versionAESGCM {
		return nil, fmt.Errorf("%w: unknown version %d", ErrOpen, sealed[0])
	}
	plain, err := c.aead.Open(nil, sealed[1:1+ns], sealed[1+ns:], nil)
	if err != nil {
		return nil, fmt.Errorf("%w: wrong key or altered value", ErrOpen)
	}
	return plain, nil
}

// SealString is Seal for text columns: it returns the sealed value in standard base64.
func (c *Cipher) SealString(plaintext string) (string, error) {
	b, err := c.Seal([]byte(plaintext))
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// OpenString reverses SealString.
func (c *Cipher) OpenString(sealed string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil {
		return "", fmt.Errorf("%w: not base64", ErrOpen)
	}
	p, err := c.Open(b)
	if err != nil {
		return "", err
	}
	return string(p), nil
}
