package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// RootUser is the user EnsureRoot creates.
const RootUser = "root"

// EnsureRoot makes sure the local user root exists. On first start it creates root with password, or, when
// password is empty, with a random password that it returns so the caller can show it once; there is no fixed
// default. When root exists and password is set but no longer matches, root's password is reset to it: whoever sets
// RUNPLANE_ROOT_PASSWORD controls the server anyway, and this is how a lost root password is recovered. The
// password is never logged.
func EnsureRoot(ctx context.Context, users store.Users, password string) (generated string, err error) {
	u, err := users.GetUserByName(ctx, api.ProviderLocal, RootUser)
	switch {
	case err == nil:
		if password == "" {
			return "", nil
		}
		if ok, verr := VerifyPassword(u.PasswordHash, password); verr == nil && ok {
			return "", nil
		}
		hash, err := HashPassword(password)
		if err != nil {
			return "", err
		}
		if err := users.SetPassword(ctx, u.ID, hash); err != nil {
			return "", fmt.Errorf("auth: reset root password: %w", err)
		}
		return "", nil
	case !errors.Is(err, store.ErrNotFound):
		return "", fmt.Errorf("auth: look up root: %w", err)
	}
	if password == "" {
		password = rand.Text()
		generated = password
	}
	hash, err := HashPassword(password)
	if err != nil {
		return "", err
	}
	err = users.CreateUser(ctx, store.User{
		ID:           uuid.NewString(),
		Username:     RootUser,
		Provider:     api.ProviderLocal,
		PasswordHash: hash,
		CreateTime:   time.Now().UTC(),
	})
	if errors.Is(err, store.ErrConflict) {
		// Another replica created root first; its password stands.
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("auth: create root: %w", err)
	}
	return generated, nil
}
