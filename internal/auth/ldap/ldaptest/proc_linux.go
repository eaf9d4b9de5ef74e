package ldaptest

import "syscall"

// sysProcAttr has the kernel kill slapd if the test binary dies without running its cleanups.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
