package controller

import (
	"context"
	"errors"
	"fmt"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// The keys of a Kratix GitStateStore's secret that runplane reads: username and password (basicAuth), token
// (sent as the password, user x-access-token unless username is set), sshPrivateKey and knownHosts (ssh).
const (
	secretUsername      = "username"
	secretPassword      = "password"
	secretToken         = "token"
	secretSSHPrivateKey = "sshPrivateKey"
	secretKnownHosts    = "knownHosts"
)

// credentials are what git state store s authenticates with: the credentials runplane holds for it, else those of
// its secretRef (Kratix's), read at each write from the secret of the runner the reference names (its namespace
// is Kubernetes' and plays no part here). Errors name the reference and the keys, never a value.
func (c *Controller) credentials(ctx context.Context, s api.StateStore) (*api.GitCredentials, error) {
	if s.Kind != api.KindGitStateStore || s.Credentials != nil || s.SecretRef == nil {
		return s.Credentials, nil
	}
	ref := s.SecretRef.Name
	r, err := c.st.GetRunner(ctx, ref)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("secretRef %s: no runner %q holds its secret", ref, ref)
	}
	if err != nil {
		return nil, fmt.Errorf("secretRef %s: %w", ref, err)
	}
	m := r.Secret
	cr := &api.GitCredentials{Username: m[secretUsername], Password: m[secretPassword], Token: m[secretToken],
		SSHPrivateKey: m[secretSSHPrivateKey], KnownHosts: m[secretKnownHosts]}
	switch {
	case s.AuthMethod == api.AuthSSH && cr.SSHPrivateKey == "":
		return nil, fmt.Errorf("secretRef %s: runner %q's secret has no %s", ref, ref, secretSSHPrivateKey)
	case s.AuthMethod != api.AuthSSH && cr.Password == "" && cr.Token == "":
		return nil, fmt.Errorf("secretRef %s: runner %q's secret has neither %s nor %s", ref, ref, secretPassword, secretToken)
	}
	return cr, nil
}
