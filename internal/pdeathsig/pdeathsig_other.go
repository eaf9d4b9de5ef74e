//go:build !linux

package pdeathsig

import "os/exec"

func setSignal(*exec.Cmd) {}

func forker(forks <-chan func()) {
	for f := range forks {
		f()
	}
}
