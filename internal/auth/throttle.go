package auth

import (
	"fmt"
	"sync"
	"time"
)

// ThrottledError refuses a login before its password is checked: because of earlier failures, or (Busy) because
// too many password checks are under way. The API answers 429 with Retry-After.
type ThrottledError struct {
	RetryAfter time.Duration
	// Busy: the queue of password checks is full; no failure is held against anyone.
	Busy bool
}

func (e *ThrottledError) Error() string {
	if e.Busy {
		return fmt.Sprintf("too many logins in progress: try again in %s", e.RetryAfter.Round(time.Second))
	}
	return fmt.Sprintf("too many failed logins: try again in %s", e.RetryAfter.Round(time.Second))
}

// Unwrap makes errors.Is(err, ErrUnauthenticated) hold.
func (e *ThrottledError) Unwrap() error { return ErrUnauthenticated }

// Throttling limits. Failures are counted under three keys, each with its free failures: a (user, client) pair
// pairFree, a client across all users addrFree, and a user across all clients userFree. A client is an IPv4 address
// or an IPv6 /64 (see clientOf). The last free failure of a key starts a wait and each further one doubles it, from
// firstWait up to maxWait, during which logins under that key are refused without checking the password.
//
// An attempt is counted before its password is checked (a reservation) and refunded when it was not a failure, so
// concurrent guesses see each other: of any number sent at once, at most the free count of a key is checked.
//
// The user key stops guessing spread over many clients. So that it cannot lock a user out by failing on purpose,
// it is not applied to a client the user logged in from successfully in the last knownFor (the pair and client keys
// still are).
const (
	pairFree      = 5
	addrFree      = 30
	userFree      = 20
	firstWait     = time.Second
	maxWait       = 5 * time.Minute
	forgetAfter   = 15 * time.Minute // a key with no failure for this long starts over
	knownFor      = 30 * 24 * time.Hour
	maxThrottleKs = 100_000 // bound on remembered keys; past it, keys not waiting are dropped
	maxKnown      = 100_000 // bound on remembered (user, client) successes
)

// throttle counts failed logins per key. It is safe for concurrent use. Counts live in memory: each replica keeps
// its own.
type throttle struct {
	mu    sync.Mutex
	now   func() time.Time
	keys  map[string]*failures
	known map[string]time.Time // (user, client) pairs that logged in, and when
}

type failures struct {
	n     int
	last  time.Time
	until time.Time
}

// slot is a key an attempt is counted under, with the key's free failures.
type slot struct {
	key  string
	free int
}

func newThrottle(now func() time.Time) *throttle {
	return &throttle{now: now, keys: map[string]*failures{}, known: map[string]time.Time{}}
}

func pairKey(provider, username, client string) string {
	return "p\x00" + provider + "\x00" + username + "\x00" + client
}
func addrKey(client string) string             { return "a\x00" + client }
func userKey(provider, username string) string { return "u\x00" + provider + "\x00" + username }

// wait returns how long logins for these keys are still refused; zero when they may proceed.
func (t *throttle) wait(keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.waitLocked(t.now(), keys...)
}

func (t *throttle) waitLocked(now time.Time, keys ...string) time.Duration {
	var w time.Duration
	for _, k := range keys {
		if f := t.keys[k]; f != nil && f.until.After(now) {
			w = max(w, f.until.Sub(now))
		}
	}
	return w
}

// held is one slot of a reservation: what its key looked like before, to restore on a refund.
type held struct {
	slot
	n                   int // the key's count with this attempt
	prevUntil, prevLast time.Time
}

// reserve counts an attempt as a failure under every slot, before its password is checked, unless a slot is
// waiting: then it counts nothing and returns the longest wait. Checking and counting happen under one lock, so
// concurrent attempts cannot all pass the check before any is counted.
func (t *throttle) reserve(slots []slot) ([]held, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	keys := make([]string, len(slots))
	for i, s := range slots {
		keys[i] = s.key
	}
	if w := t.waitLocked(now, keys...); w > 0 {
		return nil, w
	}
	hs := make([]held, 0, len(slots))
	for _, s := range slots {
		h := held{slot: s}
		if f := t.keys[s.key]; f != nil {
			h.prevUntil, h.prevLast = f.until, f.last
		}
		if f := t.count(s.key, s.free, now); f != nil {
			h.n = f.n
			hs = append(hs, h)
		}
	}
	return hs, 0
}

// refund takes back a reservation whose attempt was not a failure: the password was right, or never checked. A
// key nobody counted under since is restored as it was; otherwise its count drops by one and its wait ends if the
// count is below the free failures again.
func (t *throttle) refund(hs []held) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, h := range hs {
		f := t.keys[h.key]
		if f == nil || f.n == 0 {
			continue
		}
		if f.n == h.n {
			f.until, f.last = h.prevUntil, h.prevLast
		} else if f.n-1 < h.free {
			f.until = time.Time{}
		}
		f.n--
	}
}

// fail records a failure under key, whose first free failures cost nothing.
func (t *throttle) fail(key string, free int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.count(key, free, t.now())
}

// count records a failure under key and returns its count, nil when the table is full of waiting keys. Called
// with mu held.
func (t *throttle) count(key string, free int, now time.Time) *failures {
	f := t.keys[key]
	if f == nil || now.Sub(f.last) > forgetAfter {
		if f == nil && len(t.keys) >= maxThrottleKs {
			t.prune(now)
			if len(t.keys) >= maxThrottleKs {
				return nil // every remembered key is waiting: keep them rather than make room
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
	return f
}

// reset forgets key, after a successful login.
func (t *throttle) reset(key string) {
	t.mu.Lock()
	delete(t.keys, key)
	t.mu.Unlock()
}

// isKnown reports whether the pair key logged in successfully within knownFor.
func (t *throttle) isKnown(key string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	at, ok := t.known[key]
	return ok && t.now().Sub(at) < knownFor
}

// remember records a successful login of the pair key.
func (t *throttle) remember(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if _, ok := t.known[key]; !ok && len(t.known) >= maxKnown {
		for k, at := range t.known {
			if now.Sub(at) >= knownFor {
				delete(t.known, k)
			}
		}
		if len(t.known) >= maxKnown {
			clear(t.known) // forgetting only makes the user key apply again
		}
	}
	t.known[key] = now
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
