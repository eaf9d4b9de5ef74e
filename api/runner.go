package api

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
)

// Mask replaces secret values (runner tokens, secret map values) in every API response. Sending it back in an
// update keeps the stored value; sending "" deletes it.
const Mask = "************"

// Runner is a git repository, a branch and the image that runs tasks from it.
type Runner struct {
	Name   string            `json:"name"`
	Image  string            `json:"image"`
	GitURL string            `json:"gitURL"`
	Token  string            `json:"token,omitempty"`
	Branch string            `json:"branch"`
	Secret map[string]string `json:"secret,omitempty"`
	// ImagePullSecret is the credentials for pulling Image in container mode, a docker config.json
	// ({"auths": {...}}, as a Kubernetes dockerconfigjson secret holds it). Sealed at rest, masked like Token.
	ImagePullSecret string `json:"image_pull_secret,omitempty"`
}

// DefaultBranch is the branch a runner checks out when it names none.
const DefaultBranch = "main"

// Validate checks the fields a runner needs, without a store.
func (r *Runner) Validate() error {
	if err := ValidateName(r.Name); err != nil {
		return err
	}
	if r.GitURL == "" {
		return Invalidf("gitURL is required")
	}
	if err := validateGitURL(r.GitURL); err != nil {
		return err
	}
	if r.Branch != "" {
		if err := ValidateBranch(r.Branch); err != nil {
			return err
		}
	}
	if err := ValidatePullSecret(r.ImagePullSecret); err != nil {
		return err
	}
	if strings.IndexByte(r.Token, 0) >= 0 {
		return Invalidf("token must not contain NUL bytes")
	}
	keys := make([]string, 0, len(r.Secret))
	for k := range r.Secret {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := ValidateSecretKey(k); err != nil {
			return err
		}
		// Each secret is also an environment variable of every job.
		if err := checkEnvValue(fmt.Sprintf("secret %q", k), k, r.Secret[k]); err != nil {
			return err
		}
	}
	if n := secretEnvSize(r.Secret); n > MaxSecretEnv {
		return Invalidf("secrets take %d bytes as environment variables, over the %d KiB a runner may have", n, MaxSecretEnv>>10)
	}
	return nil
}

// Masked returns a copy of r with the token, the image pull secret, every secret value and any credentials in
// gitURL replaced by Mask.
func (r Runner) Masked() Runner {
	r.GitURL = RedactGitURL(r.GitURL)
	if r.Token != "" {
		r.Token = Mask
	}
	if r.ImagePullSecret != "" {
		r.ImagePullSecret = Mask
	}
	if r.Secret != nil {
		m := make(map[string]string, len(r.Secret))
		for k := range r.Secret {
			m[k] = Mask
		}
		r.Secret = m
	}
	return r
}

// MergeSecrets resolves masked values in an update against the stored runner: a Mask keeps the stored value,
// an empty string deletes it. It returns the runner to store.
func (r Runner) MergeSecrets(stored Runner) Runner {
	if r.Token == Mask {
		r.Token = stored.Token
	}
	if r.ImagePullSecret == Mask {
		r.ImagePullSecret = stored.ImagePullSecret
	}
	if r.Secret != nil {
		m := make(map[string]string, len(r.Secret))
		for k, v := range r.Secret {
			switch v {
			case Mask:
				if old, ok := stored.Secret[k]; ok {
					m[k] = old
				}
			case "":
			default:
				m[k] = v
			}
		}
		r.Secret = m
	}
	return r
}

// ValidateSecretKey checks that k can be both a file name under /etc/secret and an environment variable name.
func ValidateSecretKey(k string) error {
	if k == "" {
		return Invalidf("secret key must not be empty")
	}
	if len(k) > 253 {
		return Invalidf("secret key %.20q...: longer than 253 characters", k)
	}
	for i, c := range k {
		ok := c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (i > 0 && (c >= '0' && c <= '9'))
		if !ok {
			return Invalidf("secret key %q: use letters, digits and '_', not starting with a digit", k)
		}
	}
	if reservedEnv(k) {
		return Invalidf("secret key %q: reserved environment variable", k)
	}
	return nil
}

func reservedEnv(k string) bool {
	switch k {
	case "EXTRA_VARS", "PATH", "HOME", "PWD", "SHELL", "USER", "LD_PRELOAD", "LD_LIBRARY_PATH":
		return true
	}
	return len(k) >= 9 && k[:9] == "RUNPLANE_"
}

// gitSchemes are the transports a runner's repository may use: those every executor's checkout supports
// (gitsource's protocol allowlist; ssh only where the server has keys). git:// is refused: unauthenticated and
// unencrypted, and git runs with protocol.allow=never for it.
var gitSchemes = []string{"https", "http", "ssh", "file"}

func validateGitURL(u string) error {
	if len(u) > 2048 {
		return Invalidf("gitURL longer than 2048 characters")
	}
	for _, c := range u {
		if c < 0x20 || c == 0x7f || c == ' ' {
			return Invalidf("gitURL must not contain spaces or control characters")
		}
	}
	if u[0] == '-' {
		return Invalidf("gitURL must not start with '-'")
	}
	p, err := url.Parse(u)
	if err != nil || !slices.Contains(gitSchemes, p.Scheme) {
		if err == nil && p.Scheme == "git" {
			return Invalidf("gitURL: git:// is not supported (unauthenticated and unencrypted): use an https:// or ssh:// URL")
		}
		return Invalidf("gitURL %q: want an https://, http://, ssh:// or file:// URL", RedactGitURL(u))
	}
	if p.User != nil {
		_, hasPassword := p.User.Password()
		switch {
		case p.Scheme == "http" || p.Scheme == "https":
			return Invalidf("gitURL must not carry credentials: put the token in the runner's token field, where it is sealed and never shown")
		case p.Scheme == "ssh" && hasPassword:
			return Invalidf("gitURL must not carry a password: ssh authenticates with the server's keys")
		case p.Scheme == "file":
			return Invalidf("gitURL: a file:// URL has no user")
		}
	}
	switch {
	case p.Scheme != "file" && p.Host == "":
		return Invalidf("gitURL %q has no host", RedactGitURL(u))
	case p.Scheme == "file" && (p.Path == "" || (p.Host != "" && p.Host != "localhost")):
		return Invalidf("gitURL %q: want file:///absolute/path", u)
	case p.Opaque != "":
		return Invalidf("gitURL %q: want scheme://host/path", RedactGitURL(u))
	}
	return nil
}

// RedactGitURL returns u with the password of its user info (or, for http(s), the whole user info, which is a
// token there) replaced by Mask. Runners saved before credentials in gitURL were refused show it so.
func RedactGitURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.User == nil {
		return u
	}
	user := Mask
	if p.Scheme != "http" && p.Scheme != "https" {
		if _, ok := p.User.Password(); !ok {
			return u
		}
		user = url.User(p.User.Username()).String() + ":" + Mask
	}
	p.User = nil
	rest, _ := strings.CutPrefix(p.String(), p.Scheme+"://")
	return p.Scheme + "://" + user + "@" + rest
}

// ValidateName checks the name of a runner, task or cronjob: 1 to 63 characters of lowercase letters, digits,
// '-', '_' and '.', starting with a letter or digit. Names appear in URLs, job ids and Kubernetes labels.
func ValidateName(n string) error {
	if n == "" {
		return Invalidf("name is required")
	}
	if len(n) > 63 {
		return Invalidf("name %.20q...: longer than 63 characters", n)
	}
	for i, c := range n {
		alnum := (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
		if !alnum && (i == 0 || (c != '-' && c != '_' && c != '.')) {
			return Invalidf("name %q: use lowercase letters, digits, '-', '_' and '.', starting with a letter or digit", n)
		}
	}
	return nil
}

// InvalidError is a request that failed validation; the API answers it with 400.
type InvalidError struct {
	Msg string
	// Fields lists each failing JSON path and why, for schema validation failures.
	Fields []FieldError
}

// FieldError is one failing location in a validated document.
type FieldError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (e *InvalidError) Error() string { return e.Msg }

// Invalidf returns an *InvalidError with a formatted message.
func Invalidf(format string, args ...any) error {
	return &InvalidError{Msg: fmt.Sprintf(format, args...)}
}
