package auth

import (
	"context"
	"sync"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// accessTTL is how long a user's access (password generation and roles) is reused without reading the store.
// Changes made through this server apply at once (the API calls Forget after every identity change); changes made
// through another replica apply within accessTTL.
const accessTTL = 2 * time.Second

// accessCache remembers store.Access answers for accessTTL, so a burst of requests by one caller costs one read.
// It is safe for concurrent use.
type accessCache struct {
	st    store.Access
	now   func() time.Time
	mu    sync.Mutex
	epoch uint64 // bumped by forget, so a read that started before it is not cached after it
	m     map[string]accessEntry
}

type accessEntry struct {
	user   store.User
	grants []api.Role
	at     time.Time
}

func newAccessCache(st store.Access, now func() time.Time) *accessCache {
	return &accessCache{st: st, now: now, m: map[string]accessEntry{}}
}

// get returns the user's access, from the cache when it is fresh.
func (c *accessCache) get(ctx context.Context, userID string) (store.User, []api.Role, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[userID]
	epoch := c.epoch
	c.mu.Unlock()
	if ok && now.Sub(e.at) < accessTTL && !now.Before(e.at) {
		return e.user, e.grants, nil
	}
	u, grants, err := c.st.UserAccess(ctx, userID)
	if err != nil {
		return u, grants, err
	}
	c.mu.Lock()
	if c.epoch == epoch {
		if len(c.m) >= 10_000 {
			clear(c.m)
		}
		c.m[userID] = accessEntry{user: u, grants: grants, at: now}
	}
	c.mu.Unlock()
	return u, grants, nil
}

// forget drops everything cached.
func (c *accessCache) forget() {
	c.mu.Lock()
	c.epoch++
	clear(c.m)
	c.mu.Unlock()
}
