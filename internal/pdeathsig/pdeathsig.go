// Package pdeathsig starts child processes that the kernel kills when this process dies — and only then.
//
// Linux delivers a child's parent-death signal when the *thread* that forked it exits, not the process, and Go
// ends threads: a goroutine that exits while locked to its OS thread takes the thread with it (executor/local's
// namespace jobs do exactly that). A test server forked from such a thread would be killed mid-test. Start forks
// from one OS thread that never exits. It is for helper servers of tests (pgtest, ldaptest); it must never be used
// for jobs, whose lifetime executor/local ties to their own threads on purpose.
package pdeathsig

import (
	"os/exec"
	"sync"
)

var (
	once  sync.Once
	forks chan func()
)

// Start starts cmd with SIGKILL as its parent-death signal (on Linux; elsewhere it just starts it), keeping the
// rest of cmd.SysProcAttr.
func Start(cmd *exec.Cmd) error {
	setSignal(cmd)
	once.Do(func() {
		forks = make(chan func())
		go forker(forks)
	})
	errc := make(chan error, 1)
	forks <- func() { errc <- cmd.Start() }
	return <-errc
}
