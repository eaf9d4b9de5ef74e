package auth

import (
	"context"
	"sync"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// accessTTL is how long a user's access (password generation, roles and revoked sessions) is reused without reading
// the store.
// Changes made through this server apply at once (the API calls Forget after every identity change); changes made
// through another replica apply within accessTTL.
const accessTTL = 2 * time.Second

// accessCache remembers store.Access answers for accessTTL, so a burst of requests by one caller costs one read.
// It is safe for concurrent use.
type accessCache struct {
	st    accessStore
	now   func() time.Time
	mu    sync.Mutex
	epoch uint64 // bumped by forget, so a read that started before it is not cached after it
	m     map[string]accessEntry
}

// accessStore is what the cache reads.
type accessStore interface {
	store.Access
	RevokedSessions(ctx context.Context, userID string) ([]string, error)
}

// access is what authenticating a request of a user needs to know.
type access struct {
	user    store.User
	grants  []api.Role
	revoked []string // ids of the user's sessions ended by Logout
}

type accessEntry struct {
	access
	at time.Time
}

func newAccessCache(st accessStore, now func() time.Time) *accessCache {
	return &accessCache{st: st, now: now, m: map[string]accessEntry{}}
}

// get returns the user's access, from the cache when it is fresh.
func (c *accessCache) get(ctx context.Context, userID string) (access, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[userID]
	epoch := c.epoch
	c.mu.Unlock()
	if ok && now.Sub(e.at) < accessTTL && !now.Before(e.at) {
		return e.access, nil
	}
	u, grants, err := c.st.UserAccess(ctx, userID)
	if err != nil {
		return access{}, err
	}
	revoked, err := c.st.RevokedSessions(ctx, userID)
	if err != nil {
		return access{}, err
	}
	acc := access{user: u, grants: grants, revoked: revoked}
	c.mu.Lock()
	if c.epoch == epoch {
		if len(c.m) >= 10_000 {
			clear(c.m)
		}
		c.m[userID] = accessEntry{access: acc, at: now}
	}
	c.mu.Unlock()
	return acc, nil
}

// forget drops everything cached.
func (c *accessCache) forget() {
	c.mu.Lock()
	c.epoch++
	clear(c.m)
	c.mu.Unlock()
}
