package controller

import (
	"context"
	"errors"
	"fmt"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// Secrets reads Kubernetes Secrets; kubesecret.Reader implements it. Its errors name the Secret, never a value.
type Secrets interface {
	Data(ctx context.Context, namespace, name string) (map[string][]byte, error)
}

// The keys of a Kratix GitStateStore's secret that runplane reads: username and password (basicAuth), token
// (sent as the password, user x-access-token unless username is set), sshPrivateKey and knownHosts (ssh).
const (
	secretUsername      = "username"
	secretPassword      = "password"
	secretToken         = "token"
	secretSSHPrivateKey = "sshPrivateKey"
	secretKnownHosts    = "knownHosts"
)

var secretKeys = []string{secretUsername, secretPassword, secretToken, secretSSHPrivateKey, secretKnownHosts}

// credentials are what git state store s authenticates with: the credentials runplane holds for it, else those of
// its secretRef (Kratix's), read at each write — with a cluster (Options.Secrets) from the Kubernetes Secret it
// names (namespace "default" when it names none, as Kratix's GetSecretRef), else from the secret of the runner it
// names (embedded mode, where its namespace plays no part). Errors name the Secret and the keys, never a value.
func (c *Controller) credentials(ctx context.Context, s api.StateStore) (*api.GitCredentials, error) {
	if s.Kind != api.KindGitStateStore || s.Credentials != nil || s.SecretRef == nil {
		return s.Credentials, nil
	}
	var (
		m     map[string]string
		where string
		err   error
	)
	if c.opts.Secrets != nil {
		m, where, err = c.kubeSecret(ctx, *s.SecretRef)
	} else {
		m, where, err = c.runnerSecret(ctx, s.SecretRef.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("secretRef: %w", err)
	}
	cr := &api.GitCredentials{Username: m[secretUsername], Password: m[secretPassword], Token: m[secretToken],
		SSHPrivateKey: m[secretSSHPrivateKey], KnownHosts: m[secretKnownHosts]}
	switch {
	case s.AuthMethod == api.AuthSSH && cr.SSHPrivateKey == "":
		return nil, fmt.Errorf("secretRef: %s has no key %q (authMethod ssh)", where, secretSSHPrivateKey)
	case s.AuthMethod != api.AuthSSH && cr.Password == "" && cr.Token == "":
		return nil, fmt.Errorf("secretRef: %s has no key %q (or %q; authMethod basicAuth)", where, secretPassword, secretToken)
	}
	return cr, nil
}

// kubeSecret reads the keys runplane uses of the Kubernetes Secret ref names.
func (c *Controller) kubeSecret(ctx context.Context, ref api.SecretReference) (map[string]string, string, error) {
	ns := ref.Namespace
	if ns == "" {
		ns = "default"
	}
	data, err := c.opts.Secrets.Data(ctx, ns, ref.Name)
	if err != nil {
		return nil, "", err
	}
	m := make(map[string]string, len(secretKeys))
	for _, k := range secretKeys {
		if v, ok := data[k]; ok {
			m[k] = string(v)
		}
	}
	return m, fmt.Sprintf("secret %s/%s", ns, ref.Name), nil
}

// runnerSecret is the secret of runner name (embedded mode's form of a secretRef).
func (c *Controller) runnerSecret(ctx context.Context, name string) (map[string]string, string, error) {
	r, err := c.st.GetRunner(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", fmt.Errorf("no runner %q holds the secret %s", name, name)
	}
	if err != nil {
		return nil, "", fmt.Errorf("runner %s: %w", name, err)
	}
	return r.Secret, fmt.Sprintf("runner %q's secret", name), nil
}
