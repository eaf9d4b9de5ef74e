package auth

import (
	"crypto/rand"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Issuer is the "iss" claim of every token runplane issues and the only one it accepts.
const Issuer = "runplane"

// maxTokenLen bounds the work spent on a presented token before its signature is checked.
const maxTokenLen = 8 << 10

type claims struct {
	Name     string `json:"name"`
	Provider string `json:"provider"`
	// Gen is the user's password generation at issue; a password change makes older tokens invalid.
	Gen int64 `json:"gen"`
	jwt.RegisteredClaims
}

// issue signs a session token for p valid for ttl from now, with the id p.SessionID (a new random one when empty).
func issue(key []byte, p Principal, now time.Time, ttl time.Duration) (string, error) {
	if p.SessionID == "" {
		p.SessionID = rand.Text()
	}
	// The id lets Logout end this one session on every replica (a deny-list kept until the token expires).
	c := claims{
		Name:     p.Username,
		Provider: p.Provider,
		Gen:      p.Generation,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Subject:   p.UserID,
			ID:        p.SessionID,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: expiry(now, ttl),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(key)
	if err != nil {
		return "", fmt.Errorf("auth: sign token: %w", err)
	}
	return s, nil
}

// verify checks a session token strictly: HS256 only, our issuer, an expiry in the future and an issue time not in
// the future, a subject and a name. Any failure is errInvalidToken; the reason is never shown to the caller.
func verify(key []byte, token string, now func() time.Time) (Principal, error) {
	if token == "" || len(token) > maxTokenLen {
		return Principal{}, errInvalidToken
	}
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(now),
		jwt.WithStrictDecoding(),
	)
	var c claims
	_, err := p.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return key, nil })
	if err != nil || c.Subject == "" || c.Name == "" || c.Provider == "" {
		return Principal{}, errInvalidToken
	}
	if c.ExpiresAt == nil || len(c.ID) > 64 {
		return Principal{}, errInvalidToken
	}
	return Principal{UserID: c.Subject, Username: c.Name, Provider: c.Provider, Generation: c.Gen,
		SessionID: c.ID, SessionExpires: c.ExpiresAt.Time}, nil
}

// expiry is when a session token issued at now for ttl expires, as the token states it (whole seconds).
func expiry(now time.Time, ttl time.Duration) *jwt.NumericDate {
	return jwt.NewNumericDate(now.Add(ttl))
}
