package pdeathsig

import (
	"os/exec"
	"runtime"
	"syscall"
)

func setSignal(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}

// forker runs every fork on its own OS thread, which it never unlocks, so the thread lives as long as the process.
func forker(forks <-chan func()) {
	runtime.LockOSThread()
	for f := range forks {
		f()
	}
}
