// Command pause is the pod sandbox process of the harness's pause image when no C compiler with a static
// libc is at hand (hack/kube/pause/pause.c is used otherwise). It sleeps until SIGINT or SIGTERM, then exits 0,
// and reaps the zombies it inherits as PID 1 of the pod.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGINT, syscall.SIGTERM)
	chld := make(chan os.Signal, 16)
	signal.Notify(chld, syscall.SIGCHLD)
	go func() {
		for range chld {
			for {
				var ws syscall.WaitStatus
				pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
		}
	}()
	<-term
	os.Exit(0)
}
