package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// lockFile is the file in the data dir a server holds an exclusive flock on for as long as it is open: two servers
// on one data dir would each take the other's running jobs for orphans and share one workspace root. The kernel
// drops the lock when the process ends however it ends, so a crash never leaves a stale lock behind; the pid
// written into the file only names the holder in the error.
const lockFile = "runplane.lock"

// ErrDataDirInUse is returned by Open when another live server holds the data dir.
var ErrDataDirInUse = errors.New("server: data dir in use")

// lockWait is how long lockDataDir waits for a held lock to be let go. A server that just closed may not have let go
// yet: a process forked meanwhile (a job's, git's; by any goroutine of this process) holds a copy of the lock's file
// descriptor from fork until its exec closes it, which on a loaded machine takes a moment.
const lockWait = time.Second

// flockSoon takes f's exclusive lock, trying again for lockWait while another holds it.
func flockSoon(f *os.File) error {
	deadline := time.Now().Add(lockWait)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EWOULDBLOCK) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lockDataDir takes the data dir's lock, or fails (after lockWait), naming the process that holds it.
func lockDataDir(dir string) (release func() error, err error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("server: lock data dir: %w", err)
	}
	if err := flockSoon(f); err != nil {
		holder := ""
		if b, rerr := os.ReadFile(path); rerr == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil && pid > 0 {
				holder = fmt.Sprintf(" (pid %d)", pid)
			}
		}
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: another runplane server%s is running on %s; stop it first, or give this one its own --data-dir", ErrDataDirInUse, holder, dir)
		}
		return nil, fmt.Errorf("server: lock data dir: %w", err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() error {
		// The file stays: removing it would let a server that opened it before the removal lock a file nobody else
		// can see any more.
		return f.Close()
	}, nil
}
