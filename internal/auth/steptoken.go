package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Step is what one workflow step token is good for: the metadata API, for one attempt of one step of one run,
// run by one job. The API also refuses it once that job ended, whatever its expiry.
type Step struct {
	Run     string `json:"run"`
	Step    string `json:"step"`
	Attempt int    `json:"attempt"`
	Job     string `json:"job"`
}

// StepTokens issues and checks step tokens. They are signed with a key derived from the session key for this
// use alone, so a step token is never a session token (nor the other way round), whatever its claims say.
type StepTokens struct {
	key []byte
	now func() time.Time
}

// stepAudience is the "aud" of every step token.
const stepAudience = "runplane-step"

// errInvalidStepToken is every way a step token can be wrong; the reason is never shown.
var errInvalidStepToken = &Error{Msg: "invalid or expired step token"}

// NewStepTokens derives the step token key from the server's session key.
func NewStepTokens(sessionKey []byte, now func() time.Time) *StepTokens {
	m := hmac.New(sha256.New, sessionKey)
	m.Write([]byte("runplane step tokens v1"))
	if now == nil {
		now = time.Now
	}
	return &StepTokens{key: m.Sum(nil), now: now}
}

type stepClaims struct {
	Step
	jwt.RegisteredClaims
}

// Issue signs a token for s that expires at expires.
func (t *StepTokens) Issue(s Step, expires time.Time) (string, error) {
	if s.Run == "" || s.Step == "" || s.Job == "" {
		return "", errors.New("auth: a step token needs a run, a step and a job")
	}
	now := t.now()
	c := stepClaims{Step: s, RegisteredClaims: jwt.RegisteredClaims{
		Issuer:    Issuer,
		Audience:  jwt.ClaimStrings{stepAudience},
		Subject:   s.Job,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(expires),
	}}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.key)
	if err != nil {
		return "", fmt.Errorf("auth: sign step token: %w", err)
	}
	return tok, nil
}

// Verify checks a step token strictly (HS256, our issuer and audience, not expired, complete) and returns its
// scope; an *Error otherwise.
func (t *StepTokens) Verify(token string) (Step, error) {
	if token == "" || len(token) > maxTokenLen {
		return Step{}, errInvalidStepToken
	}
	p := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(Issuer),
		jwt.WithAudience(stepAudience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(t.now),
		jwt.WithStrictDecoding(),
	)
	var c stepClaims
	if _, err := p.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return t.key, nil }); err != nil {
		return Step{}, errInvalidStepToken
	}
	if c.Run == "" || c.Step.Step == "" || c.Job == "" || c.Subject != c.Job {
		return Step{}, errInvalidStepToken
	}
	return c.Step, nil
}
