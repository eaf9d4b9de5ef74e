package api

import (
	"net/mail"
	"strings"
)

// ResourceStateStores guards state stores, by name.
const ResourceStateStores = "state_stores"

// Kinds of state store, and the API versions their manifests carry.
const (
	KindGitStateStore       = "GitStateStore"
	KindDirectoryStateStore = "DirectoryStateStore"
	KindDestination         = "Destination"
	// RunplaneAPIVersion is runplane's own group/version (DirectoryStateStore, and any of the kinds).
	RunplaneAPIVersion = "platform.runplane.dev/v1alpha1"
)

// Git authentication methods (Kratix's spec.authMethod).
const (
	AuthBasic = "basicAuth"
	AuthSSH   = "ssh"
)

// StateStore is where destinations' files are written: a git repository (Kind GitStateStore) or a directory on
// the server (DirectoryStateStore). Names are unique across kinds.
type StateStore struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Path is the directory within the repository (or under the directory) that runplane owns; "" is the root.
	// For a DirectoryStateStore it is the absolute directory itself.
	Path string `json:"path,omitempty"`

	// URL, Branch (default main), AuthMethod (basicAuth, the default, or ssh), SecretRef, Credentials and
	// GitAuthor are a GitStateStore's.
	URL        string           `json:"url,omitempty"`
	Branch     string           `json:"branch,omitempty"`
	AuthMethod string           `json:"authMethod,omitempty"`
	SecretRef  *SecretReference `json:"secretRef,omitempty"`
	// Credentials are held by runplane, sealed at rest and masked in every answer (like a runner's token):
	// sending the mask back keeps a value, "" deletes it.
	Credentials *GitCredentials `json:"credentials,omitempty"`
	GitAuthor   GitAuthor       `json:"gitAuthor,omitzero"`
}

// SecretReference names a Kubernetes Secret (Kratix's secretRef): keys username and password for basicAuth,
// sshPrivateKey (and knownHosts) for ssh. runplane reads it only when it runs on Kubernetes.
type SecretReference struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

// GitCredentials are the credentials runplane holds for a git state store: a user name and password (or a
// token, sent as the password of user x-access-token), or an ssh private key.
type GitCredentials struct {
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	Token         string `json:"token,omitempty"`
	SSHPrivateKey string `json:"sshPrivateKey,omitempty"`
	// KnownHosts are the ssh server's keys (a known_hosts file); without them the first key seen is accepted.
	KnownHosts string `json:"knownHosts,omitempty"`
}

// GitAuthor is who commits (name default kratix).
type GitAuthor struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
}

// DefaultGitAuthor is the committer's name when a store names none (Kratix's).
const DefaultGitAuthor = "kratix"

// Default fills in Kratix's defaults: branch main, authMethod basicAuth, author kratix, secretRef namespace
// default.
func (s *StateStore) Default() {
	if s.Kind != KindGitStateStore {
		return
	}
	if s.Branch == "" {
		s.Branch = DefaultBranch
	}
	if s.AuthMethod == "" {
		s.AuthMethod = AuthBasic
	}
	if s.GitAuthor.Name == "" {
		s.GitAuthor.Name = DefaultGitAuthor
	}
	if s.SecretRef != nil && s.SecretRef.Namespace == "" {
		s.SecretRef.Namespace = "default"
	}
}

// Validate checks a state store without a store.
func (s *StateStore) Validate() error {
	if err := ValidateName(s.Name); err != nil {
		return err
	}
	switch s.Kind {
	case KindDirectoryStateStore:
		return s.validateDirectory()
	case KindGitStateStore:
		return s.validateGit()
	case "":
		return Invalidf("kind is required: %s or %s", KindGitStateStore, KindDirectoryStateStore)
	case "BucketStateStore":
		return Invalidf("kind BucketStateStore is not supported: use %s or %s", KindGitStateStore, KindDirectoryStateStore)
	}
	return Invalidf("kind %q: want %s or %s", clip(s.Kind), KindGitStateStore, KindDirectoryStateStore)
}

func (s *StateStore) validateDirectory() error {
	if s.Path == "" {
		return Invalidf("path is required: the directory the store writes to")
	}
	if !strings.HasPrefix(s.Path, "/") {
		return Invalidf("path %q: want an absolute directory", clip(s.Path))
	}
	if err := ValidateStorePath("path", s.Path); err != nil {
		return err
	}
	if s.URL != "" || s.Branch != "" || s.AuthMethod != "" || s.SecretRef != nil || s.Credentials != nil ||
		s.GitAuthor != (GitAuthor{}) {
		return Invalidf("url, branch, authMethod, secretRef, credentials and gitAuthor are a %s's: a %s has only a path",
			KindGitStateStore, KindDirectoryStateStore)
	}
	return nil
}

func (s *StateStore) validateGit() error {
	if s.URL == "" {
		return Invalidf("url is required")
	}
	if err := validateGitURL(s.URL); err != nil {
		return Invalidf("url%s", strings.TrimPrefix(err.Error(), "gitURL"))
	}
	if err := ValidateStorePath("path", s.Path); err != nil {
		return err
	}
	if s.Branch != "" {
		if err := ValidateBranch(s.Branch); err != nil {
			return err
		}
	}
	switch s.AuthMethod {
	case "", AuthBasic, AuthSSH:
	case "githubApp":
		return Invalidf("authMethod githubApp is not supported: use %s or %s", AuthBasic, AuthSSH)
	default:
		return Invalidf("authMethod %q: want %s or %s", clip(s.AuthMethod), AuthBasic, AuthSSH)
	}
	if r := s.SecretRef; r != nil {
		if !isDNSSubdomain(r.Name) {
			return Invalidf("secretRef.name %q: want a Kubernetes object name", clip(r.Name))
		}
		if r.Namespace != "" && !isDNSSubdomain(r.Namespace) {
			return Invalidf("secretRef.namespace %q: want a Kubernetes namespace", clip(r.Namespace))
		}
	}
	if err := s.Credentials.validate(s.AuthMethod); err != nil {
		return err
	}
	if err := checkVisible("gitAuthor.name", s.GitAuthor.Name); err != nil {
		return err
	}
	if len(s.GitAuthor.Name) > 256 || strings.ContainsAny(s.GitAuthor.Name, "<>\n") {
		return Invalidf("gitAuthor.name: at most 256 characters, without '<', '>' or newlines")
	}
	if e := s.GitAuthor.Email; e != "" {
		if a, err := mail.ParseAddress(e); err != nil || a.Address != e || len(e) > 256 {
			return Invalidf("gitAuthor.email %q: want an address such as kratix@example.com", clip(e))
		}
	}
	return nil
}

func (c *GitCredentials) validate(method string) error {
	if c == nil {
		return nil
	}
	for _, f := range []struct{ name, v string }{{"username", c.Username}, {"password", c.Password}, {"token", c.Token},
		{"sshPrivateKey", c.SSHPrivateKey}, {"knownHosts", c.KnownHosts}} {
		if strings.IndexByte(f.v, 0) >= 0 {
			return Invalidf("credentials.%s must not contain NUL bytes", f.name)
		}
		if len(f.v) > 64<<10 {
			return Invalidf("credentials.%s: longer than 64 KiB", f.name)
		}
	}
	if strings.ContainsAny(c.Username, ":\r\n") {
		return Invalidf("credentials.username must not contain ':' or line breaks")
	}
	if c.Password != "" && c.Token != "" {
		return Invalidf("credentials: give a password or a token, not both")
	}
	if method == AuthSSH {
		if c.Password != "" || c.Token != "" || c.Username != "" {
			return Invalidf("credentials: authMethod ssh takes sshPrivateKey (and knownHosts), not a username, password or token")
		}
		if k := c.SSHPrivateKey; k != "" && k != Mask && !strings.Contains(k, "PRIVATE KEY-----") {
			return Invalidf("credentials.sshPrivateKey: want a PEM or OpenSSH private key (-----BEGIN ... PRIVATE KEY-----)")
		}
		return nil
	}
	if c.SSHPrivateKey != "" || c.KnownHosts != "" {
		return Invalidf("credentials: sshPrivateKey and knownHosts need authMethod ssh")
	}
	return nil
}

// Masked returns a copy of s with every credential replaced by Mask.
func (s StateStore) Masked() StateStore {
	if c := s.Credentials; c != nil {
		m := *c
		for _, f := range []*string{&m.Password, &m.Token, &m.SSHPrivateKey} {
			if *f != "" {
				*f = Mask
			}
		}
		s.Credentials = &m
	}
	s.URL = RedactGitURL(s.URL)
	return s
}

// KeepsAny reports whether c (an update's) keeps a stored value by sending Mask back.
func (c *GitCredentials) KeepsAny() bool {
	return c != nil && (c.Password == Mask || c.Token == Mask || c.SSHPrivateKey == Mask)
}

// MergeCredentials resolves masked credentials in an update against the stored state store: a Mask keeps the
// stored value, "" deletes it. It returns the state store to save.
func (s StateStore) MergeCredentials(stored StateStore) StateStore {
	if s.Credentials == nil {
		return s
	}
	c := *s.Credentials
	var old GitCredentials
	if stored.Credentials != nil {
		old = *stored.Credentials
	}
	for _, f := range []struct{ v, old *string }{{&c.Password, &old.Password}, {&c.Token, &old.Token},
		{&c.SSHPrivateKey, &old.SSHPrivateKey}} {
		if *f.v == Mask {
			*f.v = *f.old
		}
	}
	if c == (GitCredentials{}) {
		s.Credentials = nil
	} else {
		s.Credentials = &c
	}
	return s
}
