// Package secret encrypts values at rest (runner tokens, runner secrets) and manages the key that does it, and
// masks secret values in job output (MaskWriter).
//
// A Cipher seals with AES-256-GCM behind a one-byte version prefix, so the algorithm or key can be rotated
// later without guessing what an old value is. LoadOrCreateKey keeps the key in a private file in the data dir.
//
// This package must never log, print or wrap into an error any plaintext or key material, and never returns a
// value it could not authenticate.
package secret
