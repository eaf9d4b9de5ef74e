package pgtest

import (
	"errors"
	"syscall"
)

// sysProcAttr runs the server as cred (nil: as this process's user), in a process group of its own so that a
// terminal's Ctrl-C reaches only the test binary, which then stops it. (pdeathsig.Start has the kernel kill it if
// the test binary dies without doing so.)
func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Setpgid: true}
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// tmpfsWithRoom reports whether dir is a tmpfs with at least room bytes free.
func tmpfsWithRoom(dir string, room uint64) bool {
	const tmpfsMagic = 0x01021994
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return false
	}
	return st.Type == tmpfsMagic && st.Bavail*uint64(st.Bsize) >= room
}
