package server

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
)

// TestLoginConcurrentGuesses sends 200 guesses at once over real connections from distinct loopback addresses:
// however they interleave, at most the throttle's limit of them are checked (401, or 200 for the right password)
// and every other one is refused with 429 and Retry-After.
func TestLoginConcurrentGuesses(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	for _, name := range []string{"dee", "victim"} {
		ts.do(t, req{method: "POST", path: "/api/v1/users", json: api.User{Username: name, Password: "right-password", Provider: "local"}}).
			want(t, http.StatusOK)
	}
	type guess struct{ addr, user, password string }
	tests := []struct {
		name  string
		guess func(i int) guess
		limit int
	}{
		{"one user from one address", func(i int) guess {
			return guess{"127.0.0.2", "dee", fmt.Sprintf("wrong-password-%d", i)}
		}, 5},
		{"many users from one address", func(i int) guess {
			return guess{"127.0.0.3", fmt.Sprintf("user%d", i), "wrong-password"}
		}, 30},
		{"one user from many addresses", func(i int) guess {
			return guess{fmt.Sprintf("127.0.1.%d", i+1), "victim", "wrong-password"}
		}, 20},
	}
	for _, tt := range tests { // in turn: they share the server's throttle, under keys of their own
		t.Run(tt.name, func(t *testing.T) {
			type answer struct {
				status int
				retry  string
			}
			answers := make([]answer, 200)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range answers {
				wg.Go(func() {
					g := tt.guess(i)
					<-start
					st, retry, _ := loginFrom(t, ts, g.addr, g.user, g.password)
					answers[i] = answer{st, retry}
				})
			}
			began := time.Now()
			close(start)
			wg.Wait()
			// Past the free failures a key waits 1 s, then 2 s, 4 s, …: on a machine slow enough for the burst to
			// outlast a wait, one more guess per elapsed wait is checked, by design.
			waits := 0
			for w, sum := time.Second, time.Duration(0); sum+w <= time.Since(began); w *= 2 {
				sum += w
				waits++
			}
			checked := 0
			for i, a := range answers {
				switch a.status {
				case http.StatusUnauthorized, http.StatusOK:
					checked++
				case http.StatusTooManyRequests:
					if n, err := strconv.Atoi(a.retry); err != nil || n < 1 {
						t.Errorf("guess %d: 429 with Retry-After %q, want a number of seconds", i, a.retry)
					}
				default:
					t.Errorf("guess %d = %d, want 401, 200 or 429", i, a.status)
				}
			}
			if checked > tt.limit+waits {
				t.Errorf("%d of 200 concurrent guesses were checked (401 or 200) in %v, want at most %d (+%d for the waits that ran out meanwhile)",
					checked, time.Since(began).Round(time.Millisecond), tt.limit, waits)
			}
		})
	}
}

// TestLoginRefund: a login that succeeds does not count against its address. 29 failures from one address across
// users leave one free failure; a success in between must not take it (its attempt, counted before the password
// check, is given back).
func TestLoginRefund(t *testing.T) {
	t.Parallel()
	ts := startServer(t)
	ts.do(t, req{method: "POST", path: "/api/v1/users", json: api.User{Username: "dee", Password: "right-password", Provider: "local"}}).
		want(t, http.StatusOK)
	const addr = "127.0.0.5"
	for i := range 29 {
		if st, _, msg := loginFrom(t, ts, addr, fmt.Sprintf("user%d", i), "wrong-password"); st != http.StatusUnauthorized {
			t.Fatalf("failure %d = %d %s, want 401", i+1, st, msg)
		}
	}
	if st, _, msg := loginFrom(t, ts, addr, "dee", "right-password"); st != http.StatusOK {
		t.Fatalf("right password after 29 failures = %d %s, want 200", st, msg)
	}
	if st, _, msg := loginFrom(t, ts, addr, "user29", "wrong-password"); st != http.StatusUnauthorized {
		t.Errorf("30th failure after a success = %d %s, want 401: the success was counted as a failure", st, msg)
	}
}
