//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package cli

import "errors"

// isTerminal is false where runplane cannot switch echo off: the password is then read as a plain line.
func isTerminal(int) bool { return false }

func disableEcho(int) (func(), error) { return nil, errors.New("no terminal support on this platform") }
