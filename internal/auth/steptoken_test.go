package auth

import (
	"net/http/httptest"
	"testing"
	"time"
)

// TestStepTokens: a step token verifies as its scope, and as nothing else: not with another key, not after it
// expired, not as a session token; a session token is no step token either.
func TestStepTokens(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st := NewStepTokens(key, clock)
	scope := Step{Run: "w-abcde", Step: "build", Attempt: 2, Job: "build-fghij"}
	tok, err := st.Issue(scope, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.Verify(tok)
	if err != nil || got != scope {
		t.Fatalf("Verify = %+v, %v; want %+v", got, err, scope)
	}
	if _, err := NewStepTokens([]byte("another key of thirty-two bytes!"), clock).Verify(tok); err == nil {
		t.Error("a token verified with another server's key")
	}
	later := NewStepTokens(key, func() time.Time { return now.Add(2 * time.Hour) })
	if _, err := later.Verify(tok); err == nil {
		t.Error("an expired step token verified")
	}
	if _, err := verify(key, tok, clock); err == nil {
		t.Error("a step token verified as a session token")
	}
	session, err := issue(key, Principal{UserID: "u1", Username: "alice", Provider: "local"}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Verify(session); err == nil {
		t.Error("a session token verified as a step token")
	}
	for _, bad := range []string{"", "x.y.z", tok + "x", tok[:len(tok)-2]} {
		if _, err := st.Verify(bad); err == nil {
			t.Errorf("Verify(%.20q...) = nil error", bad)
		}
	}
	if _, err := st.Issue(Step{Run: "r"}, now.Add(time.Hour)); err == nil {
		t.Error("Issue of an incomplete scope = nil error")
	}
	// An Authorization: Bearer step token is no way into the rest of the API.
	r := httptest.NewRequest("GET", "/api/v1/tasks", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	a := &Authenticator{key: key, now: clock}
	if _, err := a.Authenticate(r); err == nil {
		t.Error("Authenticate accepted a step token")
	}
}

func FuzzStepTokenVerify(f *testing.F) {
	st := NewStepTokens([]byte("0123456789abcdef0123456789abcdef"), nil)
	tok, _ := st.Issue(Step{Run: "r", Step: "s", Job: "j"}, time.Now().Add(time.Hour))
	f.Add(tok)
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, s string) {
		if sc, err := st.Verify(s); err == nil && (sc.Run == "" || sc.Job == "") {
			t.Fatalf("Verify(%q) = %+v with no error", s, sc)
		}
	})
}
