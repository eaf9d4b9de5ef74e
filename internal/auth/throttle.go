package auth

import (
	"fmt"
	"sync"
	"time"
)

// ThrottledError refuses a login because of earlier failures. The API answers 429 with Retry-After.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed logins: try again in %s", e.RetryAfter.Round(time.Second))
}

// Unwrap makes errors.Is(err, ErrUnauthenticated) hold.
func (e *ThrottledError) Unwrap() error { return ErrUnauthenticated }

// Throttling limits. A (user, address) pair gets pairFree failures, an address addrFree across all users; the last
// free failure starts a wait and each further one doubles it, from firstWait up to maxWait, during which that key's logins are
// refused without checking the password. The user alone is never a key: an attacker cannot lock an administrator
// out by failing from elsewhere, and the administrator's own address keeps its own count.
const (
	pairFree      = 5
	addrFree      = 30
	firstWait     = time.Second
	maxWait       = 5 * time.Minute
	forgetAfter   = 15 * time.Minute // a key with no failure for this long starts over
	maxThrottleKs = 100_000          // bound on remembered keys; past it, keys not waiting are dropped
)

// throttle counts failed logins per key. It is safe for concurrent use. Counts live in memory: each replica keeps
// its own.
type throttle struct {
	mu   sync.Mutex
	now  func() time.Time
	keys map[string]*failures
}

type failures struct {
	n     int
	last  time.Time
	until time.Time
}

func newThrottle(now func() time.Time) *throttle {
	return &throttle{now: now, keys: map[string]*failures{}}
}

func pairKey(provider, username, addr string) string {
	return "p\x00" + provider + "\x00" + username + "\x00" + addr
}
func addrKey(addr string) string { return "a\x00" + addr }

// wait returns how long logins for these keys are still refused; zero when they may proceed.
func (t *throttle) wait(keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var w time.Duration
	for _, k := range keys {
		if f := t.keys[k]; f != nil && f.until.After(now) {
			w = max(w, f.until.Sub(now))
		}
	}
	return w
}

// fail records a failure under key, whose first free failures cost nothing.
func (t *throttle) fail(key string, free int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	f := t.keys[key]
	if f == nil || now.Sub(f.last) > forgetAfter {
		if f == nil && len(t.keys) >= maxThrottleKs {
			t.prune(now)
			if len(t.keys) >= maxThrottleKs {
				return // every remembered key is waiting: keep them rather than make room
			}
		}
		f = &failures{}
		t.keys[key] = f
	}
	f.n++
	f.last = now
	// The free-th failure starts the first wait; each one after doubles it.
	if over := f.n - free + 1; over > 0 {
		w := maxWait
		if over < 20 {
			w = min(maxWait, firstWait<<(over-1))
		}
		f.until = now.Add(w)
	}
}

// reset forgets key, after a successful login.
func (t *throttle) reset(key string) {
	t.mu.Lock()
	delete(t.keys, key)
	t.mu.Unlock()
}

// prune drops forgotten keys and, if that is not enough, every key not waiting now: a key that is throttled is
// never dropped to make room, so flooding the table with new keys cannot lift a wait. Called with mu held.
func (t *throttle) prune(now time.Time) {
	for k, f := range t.keys {
		if now.Sub(f.last) > forgetAfter && !f.until.After(now) {
			delete(t.keys, k)
		}
	}
	if len(t.keys) < maxThrottleKs {
		return
	}
	for k, f := range t.keys {
		if !f.until.After(now) {
			delete(t.keys, k)
		}
	}
}
