package auth

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/store"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestNoCredentialInErrorsOrLogs drives every failing path of Login and Authenticate with recognisable passwords,
// session tokens and API keys, and checks that no error message and no log line repeats one of them.
func TestNoCredentialInErrorsOrLogs(t *testing.T) {
	t.Parallel()
	st, _ := newStore(t)
	const password = "Pw-Zebra-4711-correct"
	u := addUser(t, st, "leaky", password)
	c := newClock()
	var logs syncBuffer
	dir := &scriptedDirectory{password: map[string]string{}, users: map[string]DirectoryUser{}}
	a := newAuth(t, st, Options{Now: c.Now, Directory: dir, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})

	var secrets []string // every credential used below
	var errs []string    // every error returned below
	login := func(l api.Login, source string) {
		secrets = append(secrets, l.Password)
		if _, _, err := a.Login(t.Context(), l, source); err != nil {
			errs = append(errs, err.Error())
		} else {
			t.Errorf("Login(%s, %s) succeeded; this test wants failures", l.Username, l.Provider)
		}
	}
	authenticate := func(header map[string]string, cookie string, credentials ...string) {
		secrets = append(secrets, credentials...)
		if _, err := a.Authenticate(request(header, cookie)); err != nil {
			errs = append(errs, err.Error())
		} else {
			t.Errorf("Authenticate(%v) succeeded; this test wants failures", header)
		}
	}

	for i := range pairFree + 2 { // wrong passwords, then throttled
		login(api.Login{Username: "leaky", Password: fmt.Sprintf("Pw-Zebra-4711-wrong-%d", i)}, "203.0.113.1")
	}
	login(api.Login{Username: "leaky", Password: password}, "203.0.113.1") // throttled, with the right password
	login(api.Login{Username: "nobody", Password: password}, "203.0.113.2")
	login(api.Login{Password: "Pw-Zebra-4711-no-user"}, "203.0.113.2")
	login(api.Login{Username: "leaky", Password: "Pw-Zebra-4711-provider", Provider: "github"}, "203.0.113.2")
	login(api.Login{Username: "leaky", Password: "Pw-Zebra-4711-directory", Provider: api.ProviderActiveDirectory}, "203.0.113.2")
	login(api.Login{Username: "leaky", Password: strings.Repeat("Pw-Zebra-4711-long", 100)}, "203.0.113.2")

	tok, _, err := a.Login(t.Context(), api.Login{Username: "leaky", Password: password}, "198.51.100.1")
	if err != nil {
		t.Fatal(err)
	}
	key, hash := a.NewAPIKey()
	off := false
	disabledKey, disabledHash := a.NewAPIKey()
	expiredKey, expiredHash := a.NewAPIKey()
	expired := c.Now().Add(-time.Second)
	for _, x := range []store.APIToken{
		{APIToken: api.APIToken{Owner: u.ID}, KeyHash: hash},
		{APIToken: api.APIToken{Owner: u.ID, Enabled: &off}, KeyHash: disabledHash},
		{APIToken: api.APIToken{Owner: u.ID, Expires: &expired}, KeyHash: expiredHash},
	} {
		if _, err := st.CreateAPIToken(t.Context(), x); err != nil {
			t.Fatal(err)
		}
	}
	authenticate(bearer(tok+"x"), "", tok)
	authenticate(bearer(tok[:len(tok)-3]+"abc"), "", tok)
	authenticate(nil, "x"+tok, tok)
	authenticate(map[string]string{"Authorization": "Basic " + tok}, "", tok)
	authenticate(map[string]string{"Authorization": "Token " + key}, "", key)
	authenticate(map[string]string{"Token": key + "x"}, "", key)
	authenticate(map[string]string{"Token": strings.TrimPrefix(key, APIKeyPrefix)}, "", key)
	authenticate(map[string]string{"Token": key + strings.Repeat("x", maxAPIKeyLen)}, "", key)
	authenticate(map[string]string{"Token": disabledKey}, "", disabledKey)
	authenticate(map[string]string{"Token": expiredKey}, "", expiredKey)
	h, err := HashPassword("Pw-Zebra-4711-changed")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetPassword(t.Context(), u.ID, h); err != nil {
		t.Fatal(err)
	}
	a.Forget()
	authenticate(bearer(tok), "", tok) // revoked by the password change
	c.Add(DefaultTokenTTL)
	authenticate(nil, tok, tok) // expired

	st.Close() // internal errors too
	login(api.Login{Username: "leaky", Password: "Pw-Zebra-4711-closed"}, "198.51.100.2")
	authenticate(map[string]string{"Token": key}, "", key)

	if len(errs) < 25 {
		t.Fatalf("collected %d errors, want every failing path above", len(errs))
	}
	logged := logs.String()
	if !strings.Contains(logged, "login failed") || !strings.Contains(logged, "login throttled") {
		t.Errorf("the log lacks the failed and throttled logins this test made:\n%s", logged)
	}
	for _, s := range secrets {
		probe := s
		if len(probe) > 24 {
			// Tokens share their JWT header and keys their prefix: look for a piece of what is secret in them,
			// short of the end, which some of the cases above altered.
			probe = probe[len(probe)-24 : len(probe)-4]
		}
		for _, e := range errs {
			if strings.Contains(e, probe) {
				t.Errorf("error %q repeats the credential %q", e, s)
			}
		}
		if strings.Contains(logged, probe) {
			t.Errorf("the log repeats the credential %q", s)
		}
	}
	if strings.Contains(logged, "Pw-Zebra") {
		t.Errorf("the log holds a password:\n%s", logged)
	}
}
