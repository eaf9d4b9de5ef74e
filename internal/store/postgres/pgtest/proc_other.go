//go:build !linux

package pgtest

import "syscall"

func sysProcAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Setpgid: true}
}

// processAlive errs on the side of keeping a dir: only Linux is known to tell.
func processAlive(int) bool { return true }

func tmpfsWithRoom(string, uint64) bool { return false }
