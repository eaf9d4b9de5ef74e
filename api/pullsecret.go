package api

import (
	"encoding/base64"
	"encoding/json"
	"sort"
	"strings"
)

// MaxPullSecret bounds a runner's image_pull_secret.
const MaxPullSecret = 64 << 10

// dockerConfig is a docker config.json as Kubernetes' kubernetes.io/dockerconfigjson secrets hold it, and as
// podman's --authfile reads it: {"auths": {"<registry>": {"auth": "<base64 user:password>"}}}.
type dockerConfig struct {
	Auths map[string]dockerAuth `json:"auths"`
}

type dockerAuth struct {
	Auth          string `json:"auth,omitempty"`
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
}

// ValidatePullSecret checks a runner's image_pull_secret: a docker config.json with an "auths" object naming at
// least one registry, each with credentials ("auth", base64 of user:password, or "username" and "password", or
// "identitytoken"). Its messages never quote the secret's values.
func ValidatePullSecret(s string) error {
	if s == "" {
		return nil
	}
	if len(s) > MaxPullSecret {
		return Invalidf("image_pull_secret longer than %d bytes", MaxPullSecret)
	}
	var c dockerConfig
	dec := json.NewDecoder(strings.NewReader(s))
	// The decoder's messages can quote the input: none is passed on.
	if err := dec.Decode(&c); err != nil || dec.More() {
		return Invalidf(`image_pull_secret: want a docker config.json, {"auths": {"<registry>": {"auth": "<base64 of user:password>"}}}`)
	}
	if len(c.Auths) == 0 {
		return Invalidf(`image_pull_secret: "auths" names no registry`)
	}
	regs := make([]string, 0, len(c.Auths))
	for r := range c.Auths {
		regs = append(regs, r)
	}
	sort.Strings(regs)
	for _, r := range regs {
		if r == "" || len(r) > 255 || strings.ContainsFunc(r, func(c rune) bool { return c <= ' ' || c == 0x7f }) {
			return Invalidf("image_pull_secret: auths: a registry name must be 1 to 255 characters without spaces or control characters")
		}
		a := c.Auths[r]
		switch {
		case a.Auth != "":
			b, err := base64.StdEncoding.DecodeString(a.Auth)
			if err != nil || !strings.Contains(string(b), ":") {
				return Invalidf("image_pull_secret: auths[%q].auth: want base64 of user:password", r)
			}
		case a.Username != "" && a.Password != "", a.IdentityToken != "":
		default:
			return Invalidf(`image_pull_secret: auths[%q]: no credentials (want "auth", "username" and "password", or "identitytoken")`, r)
		}
	}
	return nil
}

// PullSecretValues are the secret values in a valid image_pull_secret (its auth strings, passwords and tokens,
// decoded too), for masking in job logs; none for an invalid one.
func PullSecretValues(s string) []string {
	if s == "" {
		return nil
	}
	var c dockerConfig
	if json.Unmarshal([]byte(s), &c) != nil {
		return nil
	}
	var v []string
	for _, a := range c.Auths {
		for _, x := range []string{a.Auth, a.Password, a.IdentityToken} {
			if x != "" {
				v = append(v, x)
			}
		}
		if b, err := base64.StdEncoding.DecodeString(a.Auth); err == nil {
			if _, pw, ok := strings.Cut(string(b), ":"); ok && pw != "" {
				v = append(v, pw)
			}
		}
	}
	return v
}
