//go:build linux

package local

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A seccomp filter for sandboxed jobs: installed on the thread that forks the job (which dies afterwards), so
// the job and everything it starts inherit it and the server never does. Denied calls fail with EPERM.

// archSyscalls are the denied calls of one architecture the kernel may be entered with.
type archSyscalls struct {
	arch uint32
	x32  bool // refuse the x32 ABI (system call numbers with bit 30 set) on this architecture
	nrs  []uint32
}

const x32Bit = 0x40000000

// seccompProgram compiles deniedSyscalls into a classic BPF program; calls from an architecture without a table
// are refused.
func seccompProgram(tables []archSyscalls) []unix.SockFilter {
	const (
		ldAbs = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jge   = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
		ret   = unix.BPF_RET | unix.BPF_K
		// offsets in struct seccomp_data
		offNr   = 0
		offArch = 4
	)
	allow := unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ALLOW}
	deny := unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)}
	var prog []unix.SockFilter
	for _, t := range tables {
		// One block per architecture: [ld arch] [jeq arch, 0, skip] [ld nr] ([jge x32, deny]) [jeq nr, deny]... [allow] [deny]
		var body []unix.SockFilter
		body = append(body, unix.SockFilter{Code: ldAbs, K: offNr})
		checks := len(t.nrs)
		if t.x32 {
			checks++
		}
		// Jumps are relative to the next instruction; the block's deny is after its checks and its allow.
		jumpToDeny := func(i int) uint8 { return uint8(checks - i) }
		i := 0
		if t.x32 {
			body = append(body, unix.SockFilter{Code: jge, K: x32Bit, Jt: jumpToDeny(i)})
			i++
		}
		for _, nr := range t.nrs {
			body = append(body, unix.SockFilter{Code: jeq, K: nr, Jt: jumpToDeny(i)})
			i++
		}
		body = append(body, allow, deny)
		prog = append(prog,
			unix.SockFilter{Code: ldAbs, K: offArch},
			unix.SockFilter{Code: jeq, K: t.arch, Jf: uint8(len(body))})
		prog = append(prog, body...)
	}
	return append(prog, deny)
}

var seccompFilter = seccompProgram(deniedSyscalls)

// restrictThread sets no_new_privs and installs the seccomp filter on the calling thread, which must be locked
// and must end when the job it forks has ended (the thread keeps both until then).
func restrictThread() error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	if len(deniedSyscalls) == 0 {
		return nil
	}
	prog := unix.SockFprog{Len: uint16(len(seccompFilter)), Filter: &seccompFilter[0]}
	if _, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(&prog))); errno != 0 {
		return fmt.Errorf("seccomp filter: %w", errno)
	}
	return nil
}
