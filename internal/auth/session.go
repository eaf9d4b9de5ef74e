package auth

import (
	"context"
	"fmt"
)

// Logout ends the session p authenticated with, on every replica: its id is recorded in the store until the session
// would have expired, and Authenticate refuses it from then on (on other replicas within accessTTL). A caller that
// authenticated otherwise (an API token, or a session token issued before sessions had ids) has no session to end
// and nothing happens.
func (a *Authenticator) Logout(ctx context.Context, p Principal) error {
	if p.SessionID == "" {
		return nil
	}
	if err := a.st.RevokeSession(ctx, p.UserID, p.SessionID, p.SessionExpires); err != nil {
		return fmt.Errorf("auth: end session of user %s: %w", p.UserID, err)
	}
	a.Forget()
	return nil
}

// RevokeAll ends every session and API token of a user, as a password change does: the user's generation moves on
// and each of its tokens is marked revoked. store.ErrNotFound if the user is absent.
func (a *Authenticator) RevokeAll(ctx context.Context, userID string) error {
	if err := a.st.RevokeCredentials(ctx, userID); err != nil {
		return fmt.Errorf("auth: revoke the credentials of user %s: %w", userID, err)
	}
	a.Forget()
	return nil
}
