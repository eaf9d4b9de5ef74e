// Package ldap logs users in against an LDAP directory or Active Directory: it finds the user with a service
// account, checks the password by binding as the user, and maps the user's directory groups to runplane groups.
// It implements auth.Directory.
//
// It must never put a password (the user's or the service account's) in an error or a log line, never tell a
// caller whether the username or the password was wrong, never bind with an empty password (servers take that as
// an unauthenticated bind and "succeed"), never let a username change the structure of a search filter, and never
// send a password over plain ldap:// unless the configuration explicitly allows it.
package ldap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/runplane/runplane/internal/auth"
)

// groupPageSize keeps group searches under Active Directory's default 1000-entry limit.
const groupPageSize = 500

// Directory is an auth.Directory backed by an LDAP server. It opens a fresh connection per login, so it holds no
// connection state and is safe for concurrent use.
type Directory struct {
	cfg      Config
	addr     string
	ldaps    bool
	tls      *tls.Config
	userAttr string
	groups   groupMap
	log      *slog.Logger
}

var _ auth.Directory = (*Directory)(nil)

// New checks cfg and returns a Directory. It does not contact the directory. log is used as given (the caller
// names the component); nil discards.
func New(cfg Config, log *slog.Logger) (*Directory, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	u, err := parseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.ServerName}
	if tlsConfig.ServerName == "" {
		tlsConfig.ServerName = u.Hostname()
	}
	if cfg.CAFile != "" {
		if tlsConfig.RootCAs, err = loadCAFile(cfg.CAFile); err != nil {
			return nil, err
		}
	}
	groups, err := newGroupMap(cfg.GroupMap)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Directory{
		cfg:      cfg,
		addr:     hostPort(u),
		ldaps:    u.Scheme == "ldaps",
		tls:      tlsConfig,
		userAttr: userAttribute(cfg.UserFilter),
		groups:   groups,
		log:      log,
	}, nil
}

// Authenticate implements auth.Directory.
func (d *Directory) Authenticate(ctx context.Context, username, password string) (auth.DirectoryUser, error) {
	// Refused before any bind: an empty password would make the user bind an unauthenticated one.
	if password == "" || !validUsername(username) {
		return auth.DirectoryUser{}, auth.ErrInvalidCredentials
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	l := login{d: d, password: password}
	user, err := l.run(ctx, username)
	if err != nil && !errors.Is(err, auth.ErrInvalidCredentials) {
		d.log.Debug("ldap login failed", "username", username, "err", err)
	}
	return user, err
}

// login is one Authenticate call: the password its errors must not contain.
type login struct {
	d        *Directory
	password string
}

func (l *login) run(ctx context.Context, username string) (auth.DirectoryUser, error) {
	d := l.d
	conn, err := l.dial(ctx)
	if err != nil {
		return auth.DirectoryUser{}, l.unavailable(ctx, "connect to "+d.cfg.URL, err)
	}
	// A done context closes the connection, which fails whatever request is waiting.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()

	if d.cfg.BindDN != "" {
		if err := conn.Bind(d.cfg.BindDN, d.cfg.BindPassword); err != nil {
			// A refused service account is a configuration problem, not the user's wrong password.
			return auth.DirectoryUser{}, l.unavailable(ctx, "bind as service account "+d.cfg.BindDN, err)
		}
	}

	entry, err := l.findUser(ctx, conn, username)
	if err != nil {
		return auth.DirectoryUser{}, err
	}

	if err := conn.Bind(entry.DN, l.password); err != nil {
		if goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials) && ctx.Err() == nil {
			d.log.Debug("ldap login refused: wrong password", "username", username)
			return auth.DirectoryUser{}, auth.ErrInvalidCredentials
		}
		return auth.DirectoryUser{}, l.unavailable(ctx, "bind as user", err)
	}

	// Groups are read as the service account: users often may not read group entries.
	if d.cfg.BindDN != "" {
		if err := conn.Bind(d.cfg.BindDN, d.cfg.BindPassword); err != nil {
			return auth.DirectoryUser{}, l.unavailable(ctx, "bind as service account "+d.cfg.BindDN, err)
		}
	}
	name := d.storedUsername(entry, username)
	groupDNs := entry.GetEqualFoldAttributeValues("memberOf")
	found, err := l.searchGroups(ctx, conn, name, entry.DN)
	if err != nil {
		return auth.DirectoryUser{}, err
	}
	groupDNs = append(groupDNs, found...)
	user := auth.DirectoryUser{Username: name, DN: entry.DN, Groups: d.groups.runplaneGroups(groupDNs)}
	d.log.Debug("ldap login", "username", user.Username, "dn", user.DN, "groups", user.Groups)
	return user, nil
}

// dial connects and, for StartTLS, upgrades the connection, all within the login's context.
func (l *login) dial(ctx context.Context) (*goldap.Conn, error) {
	d := l.d
	var dialer net.Dialer
	raw, err := dialer.DialContext(ctx, "tcp", d.addr)
	if err != nil {
		return nil, err
	}
	if d.ldaps {
		tc := tls.Client(raw, d.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, fmt.Errorf("TLS handshake: %w", err)
		}
		raw = tc
	}
	// No per-request timeout: the context closing the connection is the one clock, so a timeout is always
	// reported as the context's.
	conn := goldap.NewConn(raw, d.ldaps)
	conn.Start()
	if d.cfg.StartTLS {
		// StartTLS has no context; a done context closes raw, which ends the handshake.
		stop := context.AfterFunc(ctx, func() { raw.Close() })
		err := conn.StartTLS(d.tls)
		stop()
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("StartTLS: %w", err)
		}
	}
	return conn, nil
}

// findUser finds the one entry the user filter matches. None is ErrInvalidCredentials; more than one is a
// configuration error, since logging in as whichever came first would be a guess.
func (l *login) findUser(ctx context.Context, conn *goldap.Conn, username string) (*goldap.Entry, error) {
	d := l.d
	attrs := []string{"memberOf"}
	if d.userAttr != "" {
		attrs = append(attrs, d.userAttr)
	}
	filter := expandFilter(d.cfg.UserFilter, username, "")
	res, err := conn.Search(goldap.NewSearchRequest(d.cfg.BaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		2, timeLimit(ctx), false, filter, attrs, nil))
	if goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) || (err == nil && len(res.Entries) > 1) {
		return nil, fmt.Errorf("ldap: search user: filter %s matches more than one entry under %s (ambiguous): %w",
			filter, d.cfg.BaseDN, auth.ErrDirectoryUnavailable)
	}
	if err != nil {
		return nil, l.unavailable(ctx, "search user", err)
	}
	if len(res.Entries) == 0 || res.Entries[0].DN == "" {
		d.log.Debug("ldap login refused: no such user", "username", username)
		return nil, auth.ErrInvalidCredentials
	}
	return res.Entries[0], nil
}

// searchGroups returns the DNs of the groups GroupFilter finds for the user.
func (l *login) searchGroups(ctx context.Context, conn *goldap.Conn, username, dn string) ([]string, error) {
	d := l.d
	filter := expandFilter(d.cfg.GroupFilter, username, dn)
	// "1.1" asks for no attributes (RFC 4511 4.5.1.8): only the DNs are needed.
	req := goldap.NewSearchRequest(d.cfg.GroupBaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		0, timeLimit(ctx), false, filter, []string{"1.1"}, nil)
	res, err := conn.SearchWithPaging(req, groupPageSize)
	if err != nil {
		return nil, l.unavailable(ctx, "search groups", err)
	}
	dns := make([]string, 0, len(res.Entries))
	for _, e := range res.Entries {
		dns = append(dns, e.DN)
	}
	return dns, nil
}

// storedUsername is the value of the user filter's attribute as the directory stores it, preferring the value
// equal to what was typed when the attribute has several.
func (d *Directory) storedUsername(entry *goldap.Entry, typed string) string {
	if d.userAttr == "" {
		return typed
	}
	values := entry.GetEqualFoldAttributeValues(d.userAttr)
	for _, v := range values {
		if strings.EqualFold(v, typed) {
			return v
		}
	}
	if len(values) > 0 {
		return values[0]
	}
	return typed
}

// timeLimit is the server-side search time limit in whole seconds, the login's remaining time rounded up.
func timeLimit(ctx context.Context) int {
	deadline, ok := ctx.Deadline()
	if !ok {
		return 0
	}
	return int(math.Ceil(time.Until(deadline).Seconds()))
}

// unavailable wraps a failure to ask the directory. A done context is reported as such, since closing the
// connection on it is what made the request fail.
func (l *login) unavailable(ctx context.Context, step string, err error) error {
	cerr := ctx.Err()
	if deadline, ok := ctx.Deadline(); ok && cerr == nil && !time.Now().Before(deadline) {
		// Past the deadline the context's own timer may not have fired yet.
		cerr = context.DeadlineExceeded
	}
	if cerr != nil {
		return fmt.Errorf("ldap: %s: %w: %w", step, cerr, auth.ErrDirectoryUnavailable)
	}
	msg := err.Error()
	for _, secret := range []string{l.password, l.d.cfg.BindPassword} {
		if secret != "" && strings.Contains(msg, secret) {
			// No known server echoes a password; if one does, its message is dropped rather than shown.
			return fmt.Errorf("ldap: %s failed (message withheld: it contained a password): %w", step,
				auth.ErrDirectoryUnavailable)
		}
	}
	return fmt.Errorf("ldap: %s: %w: %w", step, err, auth.ErrDirectoryUnavailable)
}
