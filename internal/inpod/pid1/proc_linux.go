package pid1

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// becomeSubreaper makes orphaned descendants children of this process even when it is not PID 1 (a pod that
// shares its process namespace), so that Run reaps them. PID 1 is a reaper already; failure changes nothing.
func becomeSubreaper() { _ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }

// waitRead waits, for at most limit, until the reader of f (the container runtime, when f is a pipe) has read
// all that was written to it; if it had to wait, it then waits slack more, for what the runtime holds in buffers of
// its own to reach the log. containerd (1.6, Debian 12's) stops copying a container's output as soon as it has
// handled the exit of the container's PID 1: output still on its way then never reaches the log. Anything but a
// pipe or a socket counts as read at once.
func waitRead(f *os.File, limit, slack time.Duration) {
	deadline := time.Now().Add(limit)
	for wait, waited := time.Millisecond, false; ; wait, waited = min(2*wait, 50*time.Millisecond), true {
		n, err := unix.IoctlGetInt(int(f.Fd()), unix.TIOCINQ) // FIONREAD
		if err != nil || n == 0 || time.Now().After(deadline) {
			if waited {
				time.Sleep(slack)
			}
			return
		}
		time.Sleep(wait)
	}
}

// watchDir wakes a waiting step as soon as something is created or renamed into dir (the previous step's marker),
// instead of at its next poll. Where inotify is not available, changed never fires and the poll alone finds it.
func watchDir(dir string) (changed <-chan struct{}, unwatch func()) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, func() {}
	}
	f := os.NewFile(uintptr(fd), "inotify")
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE|unix.IN_MOVED_TO|unix.IN_CLOSE_WRITE); err != nil {
		f.Close()
		return nil, func() {}
	}
	c := make(chan struct{}, 1)
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, err := f.Read(buf); err != nil {
				return // closed
			}
			select {
			case c <- struct{}{}:
			default:
			}
		}
	}()
	return c, func() { f.Close() }
}
