package auth

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
)

// loginAs returns a login function for one user and address on a.
func loginAs(t *testing.T, a *Authenticator, username, source string) func(password string) error {
	return func(password string) error {
		_, _, err := a.Login(t.Context(), api.Login{Username: username, Password: password}, source)
		return err
	}
}

// wantThrottled checks that err is a *ThrottledError asking to wait retry.
func wantThrottled(t *testing.T, what string, err error, retry time.Duration) {
	t.Helper()
	var te *ThrottledError
	if !errors.As(err, &te) || te.RetryAfter != retry || !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("%s = %v, want a *ThrottledError with RetryAfter %v", what, err, retry)
	}
}

func wantBadCredentials(t *testing.T, what string, err error) {
	t.Helper()
	if err != ErrInvalidCredentials {
		t.Fatalf("%s = %v, want ErrInvalidCredentials", what, err)
	}
}

// TestLoginThrottle follows one user failing from one address: the fifth failure starts a wait and each further one
// doubles it, a correct password is refused during a wait, the count is forgotten after a success; meanwhile the
// same user logs in from another address.
func TestLoginThrottle(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	addUser(t, st, "root", "s3cret-root")
	c := newClock()
	a := newAuth(t, st, Options{Now: c.Now})
	attacker := loginAs(t, a, "root", "203.0.113.7")
	admin := loginAs(t, a, "root", "198.51.100.1")

	for i := range pairFree { // each is checked; the last starts the first wait
		wantBadCredentials(t, fmt.Sprintf("failure %d", i+1), attacker("guess"))
	}
	err := attacker("s3cret-root")
	wantThrottled(t, "correct password during the first wait", err, time.Second)
	if msg := err.Error(); msg != "too many failed logins: try again in 1s" {
		t.Errorf("ThrottledError.Error() = %q, want %q", msg, "too many failed logins: try again in 1s")
	}
	c.Add(400 * time.Millisecond)
	wantThrottled(t, "a wrong password 400ms later", attacker("guess"), 600*time.Millisecond)

	// Each further failure doubles the wait; refused attempts do not count as failures.
	for _, wait := range []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second} {
		c.Add(wait / 2) // the previous wait is over
		wantBadCredentials(t, "failure after the wait", attacker("guess"))
		wantThrottled(t, "attempt after that failure", attacker("guess"), wait)
		wantThrottled(t, "correct password after that failure", attacker("s3cret-root"), wait)
	}

	// The administrator, from their own address, is not locked out, and has their own count.
	if err := admin("s3cret-root"); err != nil {
		t.Fatalf("Login from another address during the wait: %v", err)
	}
	wantBadCredentials(t, "a typo from the other address", admin("s3cret-rooot"))
	if err := admin("s3cret-root"); err != nil {
		t.Fatalf("Login from the other address after a typo: %v", err)
	}

	// After the wait a correct password works, and the count starts over.
	c.Add(8 * time.Second)
	if err := attacker("s3cret-root"); err != nil {
		t.Fatalf("Login after the wait: %v", err)
	}
	for i := range pairFree {
		wantBadCredentials(t, fmt.Sprintf("failure %d after a success", i+1), attacker("guess"))
	}
	wantThrottled(t, "attempt after 5 more failures", attacker("guess"), time.Second)

	// A throttled login is refused before the user is even looked up, so before any password is checked: with
	// the store gone it is still the same refusal.
	st.Close()
	wantThrottled(t, "attempt with the store closed", attacker("s3cret-root"), time.Second)
}

// TestLoginThrottleAddress checks that one address failing across many usernames is throttled as a whole, for
// every user, while other addresses are not.
func TestLoginThrottleAddress(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	addUser(t, st, "alice", "s3cret-alice")
	c := newClock()
	a := newAuth(t, st, Options{Now: c.Now})
	const sprayer = "203.0.113.9"
	for i := range addrFree { // each name fails once: no (user, address) pair reaches its limit
		wantBadCredentials(t, fmt.Sprintf("failure %d", i+1), loginAs(t, a, fmt.Sprintf("user%d", i), sprayer)("guess"))
	}
	wantThrottled(t, "another user from the address", loginAs(t, a, "alice", sprayer)("s3cret-alice"), time.Second)
	if err := loginAs(t, a, "alice", "198.51.100.1")("s3cret-alice"); err != nil {
		t.Errorf("Login from another address: %v", err)
	}
	// A success for one user does not clear the address's count.
	c.Add(time.Second)
	if err := loginAs(t, a, "alice", sprayer)("s3cret-alice"); err != nil {
		t.Fatalf("Login after the wait: %v", err)
	}
	wantBadCredentials(t, "failure after the success", loginAs(t, a, "user-next", sprayer)("guess"))
	wantThrottled(t, "attempt after that failure", loginAs(t, a, "alice", sprayer)("s3cret-alice"), 2*time.Second)
}

// TestLoginThrottleCountsOnlyBadCredentials checks that malformed logins are refused without counting as failed
// guesses.
func TestLoginThrottleCountsOnlyBadCredentials(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	addUser(t, st, "alice", "s3cret-alice")
	a := newAuth(t, st, Options{Now: newClock().Now})
	for range 2 * addrFree {
		for _, l := range []api.Login{{Username: "alice"}, {Username: "alice", Password: "x", Provider: "github"}} {
			var inv *api.InvalidError
			if _, _, err := a.Login(t.Context(), l, "203.0.113.1"); !errors.As(err, &inv) {
				t.Fatalf("Login(%+v) = %v, want an *api.InvalidError", l, err)
			}
		}
	}
	if err := loginAs(t, a, "alice", "203.0.113.1")("s3cret-alice"); err != nil {
		t.Errorf("Login after many malformed logins: %v", err)
	}
}

// The tests below drive the throttle itself, without password hashing, through its whole range.

func TestThrottleWaits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		failures int
		free     int
		want     time.Duration
	}{
		{1, pairFree, 0},
		{4, pairFree, 0},
		{5, pairFree, time.Second},
		{6, pairFree, 2 * time.Second},
		{7, pairFree, 4 * time.Second},
		{12, pairFree, 128 * time.Second},
		{13, pairFree, 256 * time.Second},
		{14, pairFree, maxWait}, // 512s, capped
		{23, pairFree, maxWait},
		{24, pairFree, maxWait}, // past the shift's range
		{200, pairFree, maxWait},
		{29, addrFree, 0},
		{30, addrFree, time.Second},
		{32, addrFree, 4 * time.Second},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d failures, %d free", tt.failures, tt.free), func(t *testing.T) {
			t.Parallel()
			c := newClock()
			th := newThrottle(c.Now)
			for range tt.failures {
				th.fail("k", tt.free)
			}
			if got := th.wait("k"); got != tt.want {
				t.Errorf("wait after %d failures = %v, want %v", tt.failures, got, tt.want)
			}
		})
	}
}

func TestThrottleForgets(t *testing.T) {
	t.Parallel()
	c := newClock()
	th := newThrottle(c.Now)
	fail := func(n int) {
		for range n {
			th.fail("k", pairFree)
		}
	}
	fail(pairFree)
	if got := th.wait("k"); got != time.Second {
		t.Fatalf("wait = %v, want 1s", got)
	}
	if got := th.wait("other"); got != 0 {
		t.Errorf("wait(other key) = %v, want 0", got)
	}
	if got := th.wait("other", "k"); got != time.Second {
		t.Errorf("wait(other, k) = %v, want the longest, 1s", got)
	}

	c.Add(forgetAfter) // not yet forgotten
	fail(1)
	if got := th.wait("k"); got != 2*time.Second {
		t.Errorf("wait after a failure %v later = %v, want 2s", forgetAfter, got)
	}

	c.Add(forgetAfter + time.Second) // forgotten: the next failure is the first
	fail(1)
	if got := th.wait("k"); got != 0 {
		t.Errorf("wait after a failure %v later = %v, want 0", forgetAfter+time.Second, got)
	}
	fail(pairFree - 1)
	if got := th.wait("k"); got != time.Second {
		t.Errorf("wait after %d failures once forgotten = %v, want 1s", pairFree, got)
	}

	th.reset("k")
	if got := th.wait("k"); got != 0 {
		t.Errorf("wait after reset = %v, want 0", got)
	}
}

// TestThrottleBounded checks that the throttle's memory stays bounded however many keys fail, and that pruning
// keeps a key that is being throttled right now.
func TestThrottleBounded(t *testing.T) {
	t.Parallel()
	c := newClock()
	th := newThrottle(c.Now)
	for i := range maxThrottleKs {
		th.fail(fmt.Sprint(i), pairFree)
	}
	c.Add(forgetAfter + time.Second)
	for range pairFree {
		th.fail("recent", pairFree)
	}
	if n := len(th.keys); n != 1 {
		t.Errorf("after the old keys were forgotten: %d keys remembered, want 1", n)
	}
	if got := th.wait("recent"); got != time.Second {
		t.Errorf("wait(recent) = %v, want 1s", got)
	}

	for i := range 2 * maxThrottleKs { // all fresh: nothing to forget, so the throttle sheds what it must
		th.fail(fmt.Sprint("fresh", i), pairFree)
	}
	if n := len(th.keys); n > maxThrottleKs {
		t.Errorf("%d keys remembered, want at most %d", n, maxThrottleKs)
	}
}
