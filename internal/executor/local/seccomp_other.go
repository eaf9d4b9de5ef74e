//go:build linux && !amd64

package local

// deniedSyscalls has no table for this architecture yet: sandboxed jobs run without a seccomp filter here.
var deniedSyscalls []archSyscalls
