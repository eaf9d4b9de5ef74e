package auth

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
)

// outcomes counts what concurrent logins answered.
type outcomes struct {
	ok, bad, throttled, busy, other int
	retry                           []time.Duration
}

// concurrentLogins sends n logins at once, passwords[i] for the i-th, from sources[i % len(sources)] as
// usernames[i % len(usernames)].
func concurrentLogins(t *testing.T, a *Authenticator, n int, usernames, sources []string, password func(i int) string) outcomes {
	t.Helper()
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			l := api.Login{Username: usernames[i%len(usernames)], Password: password(i)}
			_, _, errs[i] = a.Login(t.Context(), l, sources[i%len(sources)])
		})
	}
	close(start)
	wg.Wait()
	var o outcomes
	for _, err := range errs {
		var te *ThrottledError
		switch {
		case err == nil:
			o.ok++
		case errors.Is(err, ErrInvalidCredentials):
			o.bad++
		case errors.As(err, &te) && te.Busy:
			o.busy++
			o.retry = append(o.retry, te.RetryAfter)
		case errors.As(err, &te):
			o.throttled++
			o.retry = append(o.retry, te.RetryAfter)
		default:
			o.other++
			t.Errorf("concurrent login: %v", err)
		}
	}
	return o
}

// TestLoginReservations sends many guesses at once and checks that the throttle's limit holds however they
// interleave: each attempt is counted before its password is checked.
func TestLoginReservations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		usernames []string
		sources   []string
		limit     int // at most this many passwords are checked
	}{
		{"one user from one address", []string{"root"}, []string{"203.0.113.7"}, pairFree},
		{"one user from one IPv6 /64", []string{"root"}, []string{"2001:db8::1", "2001:db8::2:3", "2001:db8::ffff:ffff:ffff:ffff"}, pairFree},
		{"many users from one address", names("user", 200), []string{"203.0.113.8"}, addrFree},
		{"one user from many addresses", []string{"root"}, addrs("198.51.100.%d", 200), userFree},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, _ := newStore(t)
			addUser(t, st, "root", "s3cret-root")
			a := newAuth(t, st, Options{Now: newClock().Now})
			o := concurrentLogins(t, a, 200, tt.usernames, tt.sources, func(int) string { return "guess" })
			if checked := o.bad + o.ok; checked > tt.limit {
				t.Errorf("%d of 200 concurrent guesses were checked, want at most %d", checked, tt.limit)
			}
			if o.bad+o.throttled+o.busy != 200 {
				t.Errorf("outcomes = %+v, want every guess refused, as a bad password or throttled", o)
			}
			for _, r := range o.retry {
				if r <= 0 {
					t.Errorf("throttled with RetryAfter %v, want a positive wait", r)
				}
			}
		})
	}
}

func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

func addrs(format string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(format, i%250+1)
	}
	return out
}

// TestLoginRefund: an attempt that is not a failure gives its reservation back. A success clears the pair and
// leaves the address and user counts as they were; a login refused because the check queue is full costs nothing.
func TestLoginRefund(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	addUser(t, st, "root", "s3cret-root")
	c := newClock()
	a := newAuth(t, st, Options{Now: c.Now})
	const src = "203.0.113.7"
	root := loginAs(t, a, "root", src)
	for i := range pairFree - 1 {
		wantBadCredentials(t, fmt.Sprintf("failure %d", i+1), root("guess"))
	}
	if err := root("s3cret-root"); err != nil {
		t.Fatalf("Login with the right password after %d failures: %v", pairFree-1, err)
	}
	// The success cleared the pair: pairFree more failures are checked before a wait.
	for i := range pairFree {
		wantBadCredentials(t, fmt.Sprintf("failure %d after the success", i+1), root("guess"))
	}
	wantThrottled(t, "the next attempt", root("guess"), time.Second)
	th := a.throttle
	if got := th.keys[addrKey(src)].n; got != 2*pairFree-1 {
		t.Errorf("address count = %d, want %d: the failures only", got, 2*pairFree-1)
	}

	// A full queue of password checks answers Busy, and counts nothing against anyone.
	other := loginAs(t, a, "other", "192.0.2.50")
	a.pending.Add(maxConcurrentHashes + maxQueuedHashes)
	err := other("guess")
	var te *ThrottledError
	if !errors.As(err, &te) || !te.Busy || te.RetryAfter != time.Second {
		t.Fatalf("Login with the check queue full = %v, want a Busy *ThrottledError with RetryAfter 1s", err)
	}
	if want := "too many logins in progress: try again in 1s"; err.Error() != want {
		t.Errorf("Busy error = %q, want %q", err.Error(), want)
	}
	for _, k := range []string{pairKey(api.ProviderLocal, "other", "192.0.2.50"), addrKey("192.0.2.50"),
		userKey(api.ProviderLocal, "other")} {
		if f := th.keys[k]; f != nil && f.n != 0 {
			t.Errorf("count under %q after a Busy refusal = %d, want 0", k, f.n)
		}
	}
	a.pending.Add(-(maxConcurrentHashes + maxQueuedHashes))
	wantBadCredentials(t, "a guess once the queue drained", other("guess"))
}

// TestLoginThrottleUser: failures for one user spread over many addresses throttle that user everywhere, except
// from an address the user logged in from before, so an attacker cannot lock the user out.
func TestLoginThrottleUser(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	addUser(t, st, "root", "s3cret-root")
	c := newClock()
	a := newAuth(t, st, Options{Now: c.Now})
	const home = "192.0.2.1"
	if err := loginAs(t, a, "root", home)("s3cret-root"); err != nil {
		t.Fatal(err)
	}
	for i := range userFree { // one failure per address: no pair or address reaches its limit
		wantBadCredentials(t, fmt.Sprintf("failure %d", i+1), loginAs(t, a, "root", fmt.Sprintf("198.51.100.%d", i+1))("guess"))
	}
	wantThrottled(t, "root from a new address", loginAs(t, a, "root", "203.0.113.99")("s3cret-root"), time.Second)
	wantThrottled(t, "root from a new IPv6 address", loginAs(t, a, "root", "2001:db8::7")("s3cret-root"), time.Second)
	if err := loginAs(t, a, "root", home)("s3cret-root"); err != nil {
		t.Errorf("root from its known address during the wait: %v", err)
	}
	if err := loginAs(t, a, "alice", "203.0.113.99")("guess"); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("another user from a new address = %v, want ErrInvalidCredentials (not throttled)", err)
	}
	c.Add(time.Second)
	if err := loginAs(t, a, "root", "203.0.113.99")("s3cret-root"); err != nil {
		t.Errorf("root from a new address after the wait: %v", err)
	}
}
