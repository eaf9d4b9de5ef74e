package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runplane/runplane/internal/pdeathsig"
)

// The life of a cluster: find the binaries, initdb, run and stop the postmaster.

// process is one run of the postmaster.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{}
	output *syncBuffer
}

// requirePostgres finds the newest server binaries and the credentials to run them with, or skips (fails in CI) t.
func requirePostgres(t testing.TB) (bin string, cred *syscall.Credential) {
	t.Helper()
	bin, cred, err := lookPostgres()
	if err == nil {
		return bin, cred
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("pgtest: %v (CI=true, so this fails instead of skipping): install Debian's postgresql package, "+
			"as hack/test.sh does", err)
	}
	t.Skipf("pgtest: %v; skipping the PostgreSQL tests. Install Debian's postgresql package "+
		"(apt-get install postgresql, or run hack/test.sh) to run them", err)
	return "", nil
}

func lookPostgres() (string, *syscall.Credential, error) {
	dirs, _ := filepath.Glob(binGlob)
	var best string
	bestVersion := -1
	for _, d := range dirs {
		v, err := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		if err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "initdb")); err != nil {
			continue
		}
		if v > bestVersion {
			best, bestVersion = d, v
		}
	}
	if best == "" {
		return "", nil, fmt.Errorf("no PostgreSQL server binaries (%s/initdb)", binGlob)
	}
	if os.Geteuid() != 0 {
		return best, nil, nil
	}
	// initdb and postgres refuse to run as root.
	u, err := user.Lookup("postgres")
	if err != nil {
		return "", nil, fmt.Errorf("running as root, and there is no postgres system user to run the server as: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return "", nil, fmt.Errorf("user postgres: %w", err)
	}
	// No supplementary groups: not root's, and none of its own the server needs.
	return best, &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// start creates a cluster in a new temp dir and runs it.
func start(bin string, cred *syscall.Credential, isShared bool) (*Server, error) {
	base := baseDir()
	sweep(base)
	dir, err := os.MkdirTemp(base, fmt.Sprintf("pgtest-%d-", os.Getpid()))
	if err != nil {
		return nil, err
	}
	s := &Server{Host: "127.0.0.1", Dir: dir, shared: isShared, bin: bin, cred: cred,
		Password: randomHex(), SuperPassword: randomHex()}
	s.Version, _ = strconv.Atoi(filepath.Base(filepath.Dir(bin)))
	if err := s.initdb(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// A port picked free can be taken before the server binds it; then it exits, and another is tried.
	for attempt := 1; ; attempt++ {
		if s.Port, err = freePort(); err != nil {
			break
		}
		if err = s.run(); err == nil || attempt == 3 {
			break
		}
	}
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = s.super(ctx, fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD '%s'`, pgx.Identifier{User}.Sanitize(), s.Password))
		cancel()
	}
	if err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// initdb creates the cluster in Dir/data, owned by the user the server runs as.
func (s *Server) initdb() error {
	if s.cred != nil {
		if err := os.Chown(s.Dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return err
		}
	}
	pwfile := filepath.Join(s.Dir, "superuser-password")
	if err := os.WriteFile(pwfile, []byte(s.SuperPassword+"\n"), 0o600); err != nil {
		return err
	}
	defer os.Remove(pwfile)
	if s.cred != nil {
		if err := os.Chown(pwfile, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return err
		}
	}
	args := []string{"-D", filepath.Join(s.Dir, "data"), "-U", Superuser, "--pwfile", pwfile,
		"--auth", "scram-sha-256", "--encoding", "UTF8", "--no-sync", "--no-instructions"}
	// A collation other than C, as production databases have, where the server supports it (ICU, PostgreSQL
	// 15+): the store must not depend on the database's collation for its orders.
	out, err := s.command(filepath.Join(s.bin, "initdb"), append(args, "--locale", "C.UTF-8",
		"--locale-provider", "icu", "--icu-locale", "en-US")...).CombinedOutput()
	if err != nil {
		os.RemoveAll(filepath.Join(s.Dir, "data"))
		out2, err2 := s.command(filepath.Join(s.bin, "initdb"), append(args, "--no-locale")...).CombinedOutput()
		if err2 != nil {
			return fmt.Errorf("initdb: %v\n%s\n(with ICU: %v\n%s)", err2, out2, err, out)
		}
	}
	return nil
}

// run starts the postmaster on Port and waits until it accepts connections.
func (s *Server) run() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("server is closed")
	}
	if s.proc != nil {
		return nil
	}
	syncCommit := "on"
	if s.shared {
		syncCommit = "off"
	}
	cmd := s.command(filepath.Join(s.bin, "postgres"), "-D", filepath.Join(s.Dir, "data"),
		"-p", strconv.Itoa(s.Port),
		"-c", "listen_addresses="+s.Host,
		"-c", "unix_socket_directories="+s.Dir,
		"-c", "max_connections=300",
		// Speed over durability: the cluster is thrown away with the test binary. Only the host crashing could
		// lose what fsync=off leaves in its page cache. A private server still commits synchronously, so that
		// Kill, a crash of the server alone, loses nothing committed, as with a production server.
		"-c", "fsync=off",
		"-c", "synchronous_commit="+syncCommit,
		"-c", "full_page_writes=off",
		"-c", "max_wal_size=256MB",
		// Only what stops the server: the errors tests provoke on purpose are not news.
		"-c", "log_min_messages=fatal",
	)
	p := &process{cmd: cmd, exited: make(chan struct{}), output: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = p.output, p.output
	if err := pdeathsig.Start(cmd); err != nil {
		return err
	}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	if err := s.waitReady(p, 30*time.Second); err != nil {
		terminate(p, syscall.SIGKILL, 10*time.Second)
		return fmt.Errorf("%w\npostgres output:\n%s", err, p.output.String())
	}
	s.proc = p
	return nil
}

// waitReady waits until the server accepts a login.
func (s *Server) waitReady(p *process, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return fmt.Errorf("postgres exited: %s", p.cmd.ProcessState)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		var conn *pgx.Conn
		conn, lastErr = pgx.Connect(ctx, s.SuperuserDSN("postgres"))
		if lastErr == nil {
			conn.Close(ctx)
			cancel()
			return nil
		}
		cancel()
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("postgres did not accept connections within %v: %v", timeout, lastErr)
}

// stop signals the postmaster (SIGINT: fast shutdown, SIGQUIT: immediate, SIGKILL: crash) and waits for it to
// exit, killing it after timeout.
func (s *Server) stop(sig syscall.Signal, timeout time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return nil
	}
	err := terminate(s.proc, sig, timeout)
	s.proc = nil
	return err
}

// close stops the server for good, at once, and removes its files.
func (s *Server) close() {
	_ = s.stop(syscall.SIGQUIT, 10*time.Second)
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	os.RemoveAll(s.Dir)
}

func terminate(p *process, sig syscall.Signal, timeout time.Duration) error {
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal postgres (pid %d): %w", p.cmd.Process.Pid, err)
	}
	select {
	case <-p.exited:
		return nil
	case <-time.After(timeout):
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
	return fmt.Errorf("postgres (pid %d) ignored %v for %v; killed it", p.cmd.Process.Pid, sig, timeout)
}

// command runs name as the server's user, in Dir.
func (s *Server) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = s.Dir
	// libpq and server settings from the caller's environment must not leak in (PGDATA, PGPORT, LANG, ...).
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C.UTF-8", "TZ=UTC"}
	cmd.SysProcAttr = sysProcAttr(s.cred)
	return cmd
}

// baseDir is where clusters go: $PGTEST_DIR if set, else /dev/shm when it is a tmpfs with room, else the temp
// dir. Creating a database creates some 300 files, which costs 20 times more on some virtual disks than in memory
// (200 against 10 ms per database, measured on a Firecracker VM's ext4).
func baseDir() string {
	if d := os.Getenv("PGTEST_DIR"); d != "" {
		return d
	}
	if tmpfsWithRoom("/dev/shm", 2<<30) {
		return "/dev/shm"
	}
	return os.TempDir()
}

// sweep removes the dirs of servers whose test binary died without cleaning up: the kernel killed their
// postmaster with it, which left its postmaster.pid behind.
func sweep(base string) {
	dirs, _ := filepath.Glob(filepath.Join(base, "pgtest-*-*"))
	for _, d := range dirs {
		owner, err := strconv.Atoi(strings.Split(filepath.Base(d), "-")[1])
		if err != nil || owner == os.Getpid() || processAlive(owner) {
			continue
		}
		if b, err := os.ReadFile(filepath.Join(d, "data", "postmaster.pid")); err == nil {
			first, _, _ := strings.Cut(string(b), "\n")
			if pid, err := strconv.Atoi(strings.TrimSpace(first)); err != nil || processAlive(pid) {
				continue // still shutting down, or not ours to judge
			}
		}
		os.RemoveAll(d)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// syncBuffer collects the server's output, written by exec's copying goroutine and read by the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(slices.Clone(b.buf))
}
