package ldap_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/internal/auth"
	"github.com/runplane/runplane/internal/auth/ldap"
	"github.com/runplane/runplane/internal/auth/ldap/ldaptest"
)

// config is a working configuration for s: LDAPS with s's CA and the service account.
func config(s *ldaptest.Server) ldap.Config {
	return ldap.Config{
		URL:          s.LDAPSURL,
		CAFile:       s.CAFile,
		BindDN:       s.BindDN,
		BindPassword: s.BindPassword,
		BaseDN:       s.BaseDN,
		GroupMap: map[string]string{
			ldaptest.GroupDN("operators"): "operators",
			"developers":                  "devs",
		},
	}
}

// logBuffer collects a Directory's log lines, so tests can check no password reaches them.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newDirectory returns a Directory logging at debug level to t, and fails t at the end if a log line holds one
// of the secrets.
func newDirectory(t *testing.T, cfg ldap.Config, secrets ...string) *ldap.Directory {
	t.Helper()
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(io.MultiWriter(t.Output(), logs), &slog.HandlerOptions{Level: slog.LevelDebug}))
	d, err := ldap.New(cfg, log)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	secrets = append(secrets, cfg.BindPassword)
	t.Cleanup(func() {
		for _, secret := range secrets {
			if secret != "" && strings.Contains(logs.String(), secret) {
				t.Errorf("a log line contains the password %q", secret)
			}
		}
	})
	return d
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	s := ldaptest.Start(t)
	aliceDN := ldaptest.UserDN("alice")
	tests := []struct {
		name     string
		cfg      func(*ldap.Config)
		username string
		want     auth.DirectoryUser
	}{{
		name:     "ldaps with CA",
		username: "alice",
		want:     auth.DirectoryUser{Username: "alice", DN: aliceDN, Groups: []string{"operators"}},
	}, {
		name:     "ldap with StartTLS",
		cfg:      func(c *ldap.Config) { c.URL, c.StartTLS = s.LDAPURL, true },
		username: "alice",
		want:     auth.DirectoryUser{Username: "alice", DN: aliceDN, Groups: []string{"operators"}},
	}, {
		name:     "plain ldap when allowed",
		cfg:      func(c *ldap.Config) { c.URL, c.AllowPlain = s.LDAPURL, true },
		username: "alice",
		want:     auth.DirectoryUser{Username: "alice", DN: aliceDN, Groups: []string{"operators"}},
	}, {
		name: "ServerName override",
		cfg: func(c *ldap.Config) {
			c.ServerName = "localhost"
		},
		username: "alice",
		want:     auth.DirectoryUser{Username: "alice", DN: aliceDN, Groups: []string{"operators"}},
	}, {
		name:     "anonymous search",
		cfg:      func(c *ldap.Config) { c.BindDN, c.BindPassword = "", "" },
		username: "alice",
		want:     auth.DirectoryUser{Username: "alice", DN: aliceDN, Groups: []string{"operators"}},
	}, {
		name:     "username as the directory spells it",
		username: "ALICE",
		want:     auth.DirectoryUser{Username: "alice", DN: aliceDN, Groups: []string{"operators"}},
	}, {
		name:     "unmapped groups left out",
		username: "bob",
		want:     auth.DirectoryUser{Username: "bob", DN: ldaptest.UserDN("bob"), Groups: []string{"operators"}},
	}, {
		name: "group map by CN, several groups, deduplicated",
		cfg: func(c *ldap.Config) {
			c.GroupMap = map[string]string{
				"Operators": "ops",
				"  CN=Admins ,  OU=Groups, DC=Example,DC=ORG": "admins",
				ldaptest.GroupDN("operators"):                 "ops",
			}
		},
		username: "bob",
		want:     auth.DirectoryUser{Username: "bob", DN: ldaptest.UserDN("bob"), Groups: []string{"admins", "ops"}},
	}, {
		name:     "memberUid group",
		username: "carol",
		want:     auth.DirectoryUser{Username: "carol", DN: ldaptest.UserDN("carol"), Groups: []string{"devs"}},
	}, {
		name:     "no group map",
		cfg:      func(c *ldap.Config) { c.GroupMap = nil },
		username: "alice",
		want:     auth.DirectoryUser{Username: "alice", DN: aliceDN},
	}, {
		name: "Active Directory style filter and memberOf",
		cfg: func(c *ldap.Config) {
			c.UserFilter = "(&(objectClass=runplaneADUser)(sAMAccountName={username}))"
			c.GroupMap = map[string]string{"cn=deployers,ou=groups,dc=example,dc=org": "deployers"}
		},
		username: "Dave",
		want: auth.DirectoryUser{Username: "dave", DN: "cn=Dave Doe," + ldaptest.PeopleDN,
			Groups: []string{"deployers"}},
	}, {
		name:     "custom filter on cn",
		cfg:      func(c *ldap.Config) { c.UserFilter = "(cn={username})" },
		username: "dave doe",
		want:     auth.DirectoryUser{Username: "Dave Doe", DN: "cn=Dave Doe," + ldaptest.PeopleDN},
	}, {
		name: "group search under its own base",
		cfg: func(c *ldap.Config) {
			c.GroupBaseDN = ldaptest.GroupsDN
			c.GroupFilter = "(member={dn})"
		},
		username: "alice",
		want:     auth.DirectoryUser{Username: "alice", DN: aliceDN, Groups: []string{"operators"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := config(s)
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			password := s.Users[strings.ToLower(strings.Fields(tt.username)[0])]
			d := newDirectory(t, cfg, password)
			got, err := d.Authenticate(t.Context(), tt.username, password)
			if err != nil {
				t.Fatalf("Authenticate(%q) error: %v", tt.username, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Authenticate(%q) mismatch (-want +got):\n%s", tt.username, diff)
			}
		})
	}
}

func TestAuthenticateInvalidCredentials(t *testing.T) {
	t.Parallel()
	s := ldaptest.Start(t)
	alicePassword := s.Users["alice"]
	tests := []struct {
		name, username, password string
	}{
		{"wrong password", "alice", "Wrong-Secret-5a6b"},
		{"unknown user", "mallory", "Mallory-Secret-7c8d"},
		{"empty password", "alice", ""},
		{"empty username", "", alicePassword},
		{"blank username", "   ", alicePassword},
		{"invalid UTF-8 username", "alice\xff", alicePassword},
		{"wildcard username", "*", alicePassword},
		{"substring username", "al*", alicePassword},
		{"filter injection", "alice)(uid=*", alicePassword},
		{"filter injection with or", "*)(|(uid=*", alicePassword},
		{"NUL in username", "alice\x00", alicePassword},
		{"another user's password", "bob", alicePassword},
		{"service account as user", "svc", s.BindPassword},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := newDirectory(t, config(s), tt.password)
			got, err := d.Authenticate(t.Context(), tt.username, tt.password)
			if !errors.Is(err, auth.ErrInvalidCredentials) {
				t.Fatalf("Authenticate(%q) = %+v, %v, want ErrInvalidCredentials", tt.username, got, err)
			}
			if err != auth.ErrInvalidCredentials {
				t.Errorf("Authenticate(%q) error = %q, want exactly ErrInvalidCredentials, so that wrong "+
					"user and wrong password read the same", tt.username, err)
			}
			if diff := cmp.Diff(auth.DirectoryUser{}, got); diff != "" {
				t.Errorf("Authenticate(%q) returned a user on failure:\n%s", tt.username, diff)
			}
		})
	}
}

// The empty-password check must come before any bind: a simple bind with a DN and no password is an
// unauthenticated bind, which servers answer with success.
func TestAuthenticateEmptyPasswordNeverConnects(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	d := newDirectory(t, ldap.Config{URL: "ldap://" + ln.Addr().String(), AllowPlain: true, BaseDN: "dc=example,dc=org"})
	if _, err := d.Authenticate(t.Context(), "alice", ""); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Fatalf("Authenticate(alice, \"\") error = %v, want ErrInvalidCredentials", err)
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("Authenticate with an empty password opened %d connections, want 0", n)
	}
}

func TestAuthenticateUnavailable(t *testing.T) {
	t.Parallel()
	s := ldaptest.Start(t)
	closedPort := closedPortURL(t)
	tests := []struct {
		name     string
		cfg      func(*ldap.Config)
		username string
		wantIn   string // in the error text
	}{{
		name:     "CA that did not sign the server",
		cfg:      func(c *ldap.Config) { c.CAFile = ldaptest.OtherCAFile(t) },
		username: "alice",
		wantIn:   "certificate",
	}, {
		name:     "StartTLS with CA that did not sign the server",
		cfg:      func(c *ldap.Config) { c.URL, c.StartTLS, c.CAFile = s.LDAPURL, true, ldaptest.OtherCAFile(t) },
		username: "alice",
		wantIn:   "certificate",
	}, {
		name:     "system roots",
		cfg:      func(c *ldap.Config) { c.CAFile = "" },
		username: "alice",
		wantIn:   "certificate",
	}, {
		name:     "certificate for another name",
		cfg:      func(c *ldap.Config) { c.ServerName = "ldap.example.org" },
		username: "alice",
		wantIn:   "certificate",
	}, {
		name:     "nothing listening",
		cfg:      func(c *ldap.Config) { c.URL = closedPort },
		username: "alice",
		wantIn:   "connect",
	}, {
		name:     "wrong service account password",
		cfg:      func(c *ldap.Config) { c.BindPassword = "Wrong-Service-Secret-e9f0" },
		username: "alice",
		wantIn:   "service account",
	}, {
		name:     "base DN that does not exist",
		cfg:      func(c *ldap.Config) { c.BaseDN = "dc=nowhere,dc=org" },
		username: "alice",
		wantIn:   "No Such Object",
	}, {
		name:     "filter matching two users",
		cfg:      func(c *ldap.Config) { c.UserFilter = "(sn={username})" },
		username: "Smith",
		wantIn:   "ambiguous",
	}, {
		name:     "filter matching more than the size limit",
		cfg:      func(c *ldap.Config) { c.UserFilter = "(objectClass={username})" },
		username: "inetOrgPerson",
		wantIn:   "ambiguous",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := config(s)
			tt.cfg(&cfg)
			password := "Unique-Secret-" + strings.ReplaceAll(tt.name, " ", "-")
			if p, ok := s.Users[tt.username]; ok {
				password = p
			}
			d := newDirectory(t, cfg, password)
			_, err := d.Authenticate(t.Context(), tt.username, password)
			if !errors.Is(err, auth.ErrDirectoryUnavailable) {
				t.Fatalf("Authenticate(%q) error = %v, want ErrDirectoryUnavailable", tt.username, err)
			}
			if !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("Authenticate(%q) error = %q, want it to mention %q", tt.username, err, tt.wantIn)
			}
			checkNoSecret(t, err, password, cfg.BindPassword)
		})
	}
}

func TestAuthenticateWrongCAIsCertificateError(t *testing.T) {
	t.Parallel()
	s := ldaptest.Start(t)
	cfg := config(s)
	cfg.CAFile = ldaptest.OtherCAFile(t)
	_, err := newDirectory(t, cfg).Authenticate(t.Context(), "alice", s.Users["alice"])
	var unknownAuthority x509.UnknownAuthorityError
	if !errors.As(err, &unknownAuthority) {
		t.Errorf("Authenticate with the wrong CA error = %v, want it to wrap x509.UnknownAuthorityError", err)
	}
}

func TestAuthenticateDirectoryStopped(t *testing.T) {
	t.Parallel()
	s := ldaptest.Start(t)
	d := newDirectory(t, config(s))
	password := s.Users["alice"]
	if _, err := d.Authenticate(t.Context(), "alice", password); err != nil {
		t.Fatalf("Authenticate before Stop: %v", err)
	}
	s.Stop()
	_, err := d.Authenticate(t.Context(), "alice", password)
	if !errors.Is(err, auth.ErrDirectoryUnavailable) {
		t.Fatalf("Authenticate after Stop error = %v, want ErrDirectoryUnavailable", err)
	}
	checkNoSecret(t, err, password, s.BindPassword)
}

func TestAuthenticateContext(t *testing.T) {
	t.Parallel()
	hang := hangingServer(t)
	tests := []struct {
		name    string
		ctx     func(t *testing.T) context.Context
		timeout time.Duration
		wantErr error
	}{{
		name: "canceled",
		ctx: func(t *testing.T) context.Context {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			return ctx
		},
		wantErr: context.Canceled,
	}, {
		name: "deadline",
		ctx: func(t *testing.T) context.Context {
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			t.Cleanup(cancel)
			return ctx
		},
		wantErr: context.DeadlineExceeded,
	}, {
		name:    "configured timeout",
		ctx:     func(t *testing.T) context.Context { return t.Context() },
		timeout: 200 * time.Millisecond,
		wantErr: context.DeadlineExceeded,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := newDirectory(t, ldap.Config{URL: hang, AllowPlain: true, BaseDN: "dc=example,dc=org",
				Timeout: tt.timeout})
			start := time.Now()
			_, err := d.Authenticate(tt.ctx(t), "alice", "Ctx-Secret-1234")
			if !errors.Is(err, tt.wantErr) || !errors.Is(err, auth.ErrDirectoryUnavailable) {
				t.Errorf("Authenticate error = %v, want %v and ErrDirectoryUnavailable", err, tt.wantErr)
			}
			if elapsed := time.Since(start); elapsed > 5*time.Second {
				t.Errorf("Authenticate took %v against a server that never answers, want it to give up on time",
					elapsed)
			}
		})
	}
}

func TestPasswordChangeAndNewUser(t *testing.T) {
	t.Parallel()
	s := ldaptest.Start(t)
	d := newDirectory(t, config(s))
	old := s.Users["alice"]
	s.SetPassword(t, "alice", "alice-New-Secret-77")
	if _, err := d.Authenticate(t.Context(), "alice", old); !errors.Is(err, auth.ErrInvalidCredentials) {
		t.Errorf("Authenticate(alice, old password) error = %v, want ErrInvalidCredentials", err)
	}
	if _, err := d.Authenticate(t.Context(), "alice", "alice-New-Secret-77"); err != nil {
		t.Errorf("Authenticate(alice, new password) error = %v", err)
	}

	dn := s.AddUser(t, "erin", "erin-Secret-88")
	s.AddToGroup(t, "operators", "erin")
	got, err := d.Authenticate(t.Context(), "erin", "erin-Secret-88")
	if err != nil {
		t.Fatalf("Authenticate(erin) error = %v", err)
	}
	want := auth.DirectoryUser{Username: "erin", DN: dn, Groups: []string{"operators"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Authenticate(erin) mismatch (-want +got):\n%s", diff)
	}
}

func TestAuthenticateConcurrent(t *testing.T) {
	t.Parallel()
	s := ldaptest.Start(t)
	d := newDirectory(t, config(s))
	users := []string{"alice", "bob", "carol"}
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			u := users[i%len(users)]
			got, err := d.Authenticate(t.Context(), u, s.Users[u])
			if err != nil || got.Username != u {
				t.Errorf("Authenticate(%q) = %+v, %v, want user %q", u, got, err, u)
			}
		})
	}
	wg.Wait()
}

func TestNewRefusesPlainLDAP(t *testing.T) {
	t.Parallel()
	_, err := ldap.New(ldap.Config{URL: "ldap://127.0.0.1:1", BaseDN: "dc=example,dc=org"}, nil)
	if err == nil || !strings.Contains(err.Error(), "ldaps://") || !strings.Contains(err.Error(), "AllowPlain") {
		t.Errorf("New(plain ldap://) error = %v, want a refusal naming ldaps://, StartTLS and AllowPlain", err)
	}
}

func checkNoSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, secret := range secrets {
		if secret != "" && strings.Contains(err.Error(), secret) {
			t.Errorf("error %q contains the password %q", err, secret)
		}
	}
}

// closedPortURL is an ldaps:// URL on a loopback port nothing listens on.
func closedPortURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "ldaps://" + addr
}

// hangingServer accepts connections and never answers, as a wedged directory would.
func hangingServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	return "ldap://" + ln.Addr().String()
}
