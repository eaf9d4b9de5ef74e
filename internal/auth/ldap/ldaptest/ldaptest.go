// Package ldaptest runs a real OpenLDAP server (Debian's slapd) for tests: its own process, config, database and
// TLS certificates in a temp dir, listening on loopback only, seeded with a small directory.
//
// It is for tests only. It must never touch the system's slapd, /etc/ldap/slapd.d or port 389/636, nor leave a
// slapd running after the test that started it.
package ldaptest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/runplane/runplane/internal/pdeathsig"
)

// SlapdPath is where Debian's slapd package installs the server.
const SlapdPath = "/usr/sbin/slapd"

// The seeded directory's layout.
const (
	BaseDN   = "dc=example,dc=org"
	PeopleDN = "ou=people," + BaseDN
	GroupsDN = "ou=groups," + BaseDN
	RootDN   = "cn=admin," + BaseDN
)

// Server is a running slapd. Its helpers change the directory as the root DN; call them from the test's
// goroutine (they update Users).
type Server struct {
	// LDAPURL serves plain LDAP (and StartTLS); LDAPSURL serves LDAP over TLS. Both are on 127.0.0.1.
	LDAPURL, LDAPSURL string
	// CAFile is the PEM CA that signed the server's certificate (for 127.0.0.1 and localhost).
	CAFile string
	// BindDN and BindPassword are a service account that may read the directory.
	BindDN, BindPassword string
	// BaseDN is the suffix, dc=example,dc=org.
	BaseDN string
	// RootPassword is RootDN's password; the root DN may do anything.
	RootPassword string
	// Users maps each seeded login name to its password.
	Users map[string]string

	t        testing.TB
	cmd      *exec.Cmd
	exited   chan struct{}
	output   *syncBuffer
	stopOnce sync.Once
}

// Start runs a slapd for the test and stops it when the test ends. Without /usr/sbin/slapd the test is skipped,
// unless the environment variable CI is "true", where it fails.
//
// The seeded directory (base dc=example,dc=org):
//
//	uid=alice,ou=people   inetOrgPerson, sn Liddell; member of cn=operators
//	uid=bob,ou=people     inetOrgPerson, sn Smith;   member of cn=operators and cn=admins
//	uid=carol,ou=people   inetOrgPerson, sn Smith;   memberUid of posixGroup cn=developers
//	cn=Dave Doe,ou=people Active Directory style: no uid, sAMAccountName dave,
//	                      memberOf CN=Deployers,OU=Groups,DC=example,DC=org (no such entry exists)
//	cn=svc                the service account (BindDN)
//
// Anyone may read everything but userPassword; userPassword is only compared, by binds.
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := os.Stat(SlapdPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("ldaptest: %s is missing (CI=true, so this fails instead of skipping): install Debian's slapd "+
				"package, as hack/test.sh does", SlapdPath)
		}
		t.Skipf("ldaptest: %s not found, skipping the LDAP tests; install Debian's slapd package "+
			"(apt-get install slapd, or run hack/test.sh) to run them", SlapdPath)
	}
	dir := t.TempDir()
	caFile, certFile, keyFile := writeCerts(t, dir)
	s := &Server{
		CAFile:       caFile,
		BindDN:       "cn=svc," + BaseDN,
		BindPassword: "svc-Secret-4d1f",
		BaseDN:       BaseDN,
		RootPassword: "root-Secret-90ab",
		Users: map[string]string{
			"alice": "alice-Secret-11c2",
			"bob":   "bob-Secret-22d3",
			"carol": "carol-Secret-33e4",
			"dave":  "dave-Secret-44f5",
		},
		t: t,
	}
	// A port picked free can be taken before slapd binds it; then slapd exits and another pair is tried.
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		if err = s.start(filepath.Join(dir, fmt.Sprintf("run%d", attempt)), caFile, certFile, keyFile); err == nil {
			break
		}
		t.Logf("ldaptest: start attempt %d: %v", attempt, err)
	}
	if err != nil {
		t.Fatalf("ldaptest: start slapd: %v", err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			t.Logf("ldaptest: slapd output:\n%s", s.output.String())
		}
	})
	s.seed()
	return s
}

func (s *Server) start(dir, caFile, certFile, keyFile string) error {
	dbDir := filepath.Join(dir, "db")
	if err := os.MkdirAll(dbDir, 0o700); err != nil {
		return err
	}
	conf := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(conf, []byte(slapdConf(dir, dbDir, caFile, certFile, keyFile, s.RootPassword)), 0o600); err != nil {
		return err
	}
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	ldapURL := fmt.Sprintf("ldap://127.0.0.1:%d", ports[0])
	ldapsURL := fmt.Sprintf("ldaps://127.0.0.1:%d", ports[1])

	// -d keeps slapd in the foreground, so this process owns it and can stop it by PID; -d 0 logs only errors.
	// No -u: running as the test's user (root on the build machine) keeps the temp dir readable.
	cmd := exec.Command(SlapdPath, "-d", "0", "-f", conf, "-h", ldapURL+"/ "+ldapsURL+"/")
	output := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = output, output
	if err := pdeathsig.Start(cmd); err != nil { // the kernel kills slapd if the test binary dies first
		return err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.cmd, s.exited, s.output = cmd, exited, output
	s.LDAPURL, s.LDAPSURL = ldapURL, ldapsURL
	if err := s.waitReady(15 * time.Second); err != nil {
		s.kill()
		return fmt.Errorf("%w\nslapd output:\n%s%s", err, output.String(), hint(output.String()))
	}
	return nil
}

// waitReady waits until slapd accepts a root bind on the plain port and connections on the TLS port.
func (s *Server) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("slapd exited: %s", s.cmd.ProcessState)
		default:
		}
		lastErr = s.ping()
		if lastErr == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("slapd did not answer within %v: %v", timeout, lastErr)
}

func (s *Server) ping() error {
	conn, err := goldap.DialURL(s.LDAPURL, goldap.DialWithDialer(&net.Dialer{Timeout: time.Second}))
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetTimeout(2 * time.Second)
	if err := conn.Bind(RootDN, s.RootPassword); err != nil {
		return err
	}
	tlsConn, err := net.DialTimeout("tcp", strings.TrimPrefix(s.LDAPSURL, "ldaps://"), time.Second)
	if err != nil {
		return err
	}
	return tlsConn.Close()
}

// Stop stops slapd, as a directory going away would; later logins fail to connect. It is safe to call twice.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			s.t.Logf("ldaptest: signal slapd (pid %d): %v", s.cmd.Process.Pid, err)
		}
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			s.t.Logf("ldaptest: slapd (pid %d) ignored SIGTERM for 10s; killing it", s.cmd.Process.Pid)
			s.kill()
		}
	})
}

func (s *Server) kill() {
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// UserDN is the DN of a user added by uid.
func UserDN(uid string) string { return "uid=" + goldap.EscapeDN(uid) + "," + PeopleDN }

// GroupDN is the DN of a group.
func GroupDN(cn string) string { return "cn=" + goldap.EscapeDN(cn) + "," + GroupsDN }

// Add adds an entry.
func (s *Server) Add(t testing.TB, dn string, attrs map[string][]string) {
	t.Helper()
	req := goldap.NewAddRequest(dn, nil)
	for name, values := range attrs {
		req.Attribute(name, values)
	}
	conn := s.root(t)
	defer conn.Close()
	if err := conn.Add(req); err != nil {
		t.Fatalf("ldaptest: add %s: %v", dn, err)
	}
}

// AddUser adds an inetOrgPerson uid=<uid>,ou=people with the password and returns its DN.
func (s *Server) AddUser(t testing.TB, uid, password string) string {
	t.Helper()
	dn := UserDN(uid)
	s.Add(t, dn, map[string][]string{
		"objectClass":  {"inetOrgPerson"},
		"uid":          {uid},
		"cn":           {uid},
		"sn":           {uid},
		"userPassword": {password},
	})
	s.Users[uid] = password
	return dn
}

// AddToGroup makes the user uid a member of the groupOfNames cn=<group>,ou=groups, creating the group if needed.
func (s *Server) AddToGroup(t testing.TB, group, uid string) {
	t.Helper()
	conn := s.root(t)
	req := goldap.NewModifyRequest(GroupDN(group), nil)
	req.Add("member", []string{UserDN(uid)})
	err := conn.Modify(req)
	conn.Close()
	if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
		s.Add(t, GroupDN(group), map[string][]string{
			"objectClass": {"groupOfNames"},
			"cn":          {group},
			"member":      {UserDN(uid)},
		})
		return
	}
	if err != nil {
		t.Fatalf("ldaptest: add %s to group %s: %v", uid, group, err)
	}
}

// SetPassword changes the password of the user uid.
func (s *Server) SetPassword(t testing.TB, uid, password string) {
	t.Helper()
	req := goldap.NewModifyRequest(UserDN(uid), nil)
	req.Replace("userPassword", []string{password})
	conn := s.root(t)
	defer conn.Close()
	if err := conn.Modify(req); err != nil {
		t.Fatalf("ldaptest: set password of %s: %v", uid, err)
	}
	s.Users[uid] = password
}

// root is a connection bound as the root DN; the caller closes it.
func (s *Server) root(t testing.TB) *goldap.Conn {
	t.Helper()
	conn, err := goldap.DialURL(s.LDAPURL, goldap.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}))
	if err != nil {
		t.Fatalf("ldaptest: connect: %v", err)
	}
	conn.SetTimeout(10 * time.Second)
	if err := conn.Bind(RootDN, s.RootPassword); err != nil {
		conn.Close()
		t.Fatalf("ldaptest: bind as %s: %v", RootDN, err)
	}
	return conn
}

func (s *Server) seed() {
	t := s.t
	t.Helper()
	s.Add(t, BaseDN, map[string][]string{"objectClass": {"dcObject", "organization"}, "dc": {"example"}, "o": {"Example"}})
	s.Add(t, PeopleDN, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"people"}})
	s.Add(t, GroupsDN, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"groups"}})
	s.Add(t, s.BindDN, map[string][]string{
		"objectClass":  {"organizationalRole", "simpleSecurityObject"},
		"cn":           {"svc"},
		"userPassword": {s.BindPassword},
	})
	for _, u := range []struct{ uid, sn string }{{"alice", "Liddell"}, {"bob", "Smith"}, {"carol", "Smith"}} {
		s.Add(t, UserDN(u.uid), map[string][]string{
			"objectClass":  {"inetOrgPerson"},
			"uid":          {u.uid},
			"cn":           {u.uid},
			"sn":           {u.sn},
			"userPassword": {s.Users[u.uid]},
		})
	}
	s.Add(t, "cn=Dave Doe,"+PeopleDN, map[string][]string{
		"objectClass":    {"inetOrgPerson", "runplaneADUser"},
		"cn":             {"Dave Doe"},
		"sn":             {"Doe"},
		"sAMAccountName": {"dave"},
		"memberOf":       {"CN=Deployers,OU=Groups,DC=example,DC=org"},
		"userPassword":   {s.Users["dave"]},
	})
	s.AddToGroup(t, "operators", "alice")
	s.AddToGroup(t, "operators", "bob")
	s.AddToGroup(t, "admins", "bob")
	s.Add(t, GroupDN("developers"), map[string][]string{
		"objectClass": {"posixGroup"},
		"cn":          {"developers"},
		"gidNumber":   {"1000"},
		"memberUid":   {"carol"},
	})
}

// slapdConf is a self-contained slapd.conf: nothing from /etc/ldap/slapd.d, every file in dir.
func slapdConf(dir, dbDir, caFile, certFile, keyFile, rootPassword string) string {
	return fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema

# The two Active Directory attributes runplane reads, under AD's OIDs, and an auxiliary class to carry them.
attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
	SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.2.102 NAME 'memberOf'
	EQUALITY distinguishedNameMatch
	SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 )
objectclass ( 1.3.6.1.4.1.4203.666.11.1 NAME 'runplaneADUser' AUXILIARY
	MAY ( sAMAccountName $ memberOf ) )

pidfile %[1]s/slapd.pid
argsfile %[1]s/slapd.args

modulepath /usr/lib/ldap
moduleload back_mdb

TLSCACertificateFile %[3]s
TLSCertificateFile %[4]s
TLSCertificateKeyFile %[5]s

database mdb
maxsize 67108864
suffix "%[6]s"
rootdn "%[7]s"
rootpw %[8]s
directory %[2]s
index objectClass eq

access to attrs=userPassword
	by anonymous auth
	by * none
access to *
	by * read
`, dir, dbDir, caFile, certFile, keyFile, BaseDN, RootDN, rootPassword)
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// hint explains the failures a fresh machine is known to produce.
func hint(output string) string {
	if strings.Contains(output, "Permission denied") {
		return "\nhint: slapd could not read its temp dir; an AppArmor profile for /usr/sbin/slapd " +
			"(/etc/apparmor.d/usr.sbin.slapd) confines it to /etc/ldap and /var/lib/ldap: " +
			"put it in complain mode (aa-complain /usr/sbin/slapd) on test machines"
	}
	return ""
}

// syncBuffer collects slapd's output, written by exec's copying goroutine and read by the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
