//go:build linux && amd64

package local

import "golang.org/x/sys/unix"

// deniedSyscalls are the system calls sandboxed jobs may not make, by architecture (seccomp.go): the kernel
// keyrings, which are not namespaced (a job's keys would outlive it, for the next job with its user id), and
// kernel interfaces jobs have no use for that widen what an exploit can reach (bpf, userfaultfd, perf events,
// io_uring). On x86-64 the i386 entry points are filtered with their own numbers; x32 is refused whole.
var deniedSyscalls = []archSyscalls{
	{arch: unix.AUDIT_ARCH_X86_64, x32: true, nrs: []uint32{
		248, 249, 250, // add_key, request_key, keyctl
		321, 323, 298, // bpf, userfaultfd, perf_event_open
		425, 426, 427, // io_uring_setup, io_uring_enter, io_uring_register
	}},
	{arch: unix.AUDIT_ARCH_I386, nrs: []uint32{
		286, 287, 288, // add_key, request_key, keyctl
		357, 374, 336, // bpf, userfaultfd, perf_event_open
		425, 426, 427,
	}},
}
