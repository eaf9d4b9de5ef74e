//go:build linux

package pdeathsig

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The main goroutine keeps the main thread, which Go never ends: a test goroutine's locked thread really exits.
func init() { runtime.LockOSThread() }

// TestSurvivesThreadExit: a child started by Start lives on after the goroutine (and OS thread) that asked for it
// ends while locked to its thread, which would have killed a child forked from that thread.
func TestSurvivesThreadExit(t *testing.T) {
	var cmd *exec.Cmd
	var wg sync.WaitGroup
	wg.Go(func() {
		runtime.LockOSThread() // never unlocked: the thread exits with this goroutine
		cmd = exec.Command("sleep", "60")
		if err := Start(cmd); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	if cmd == nil || cmd.Process == nil {
		t.Fatal("not started")
	}
	defer cmd.Process.Kill()
	if cmd.SysProcAttr.Pdeathsig != syscall.SIGKILL {
		t.Errorf("Pdeathsig = %v, want SIGKILL", cmd.SysProcAttr.Pdeathsig)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		t.Fatalf("the child died with the thread that asked for it: %v", err)
	case <-time.After(500 * time.Millisecond):
	}
}
