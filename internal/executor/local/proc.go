//go:build linux

package local

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// procStat is what runplane needs from /proc/<pid>/stat.
type procStat struct {
	pgrp      int
	startTime uint64 // clock ticks after boot: with the pid, names one process for good
}

func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	// The command name (field 2) may hold spaces and parentheses; fields resume after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): pgrp is field 5, starttime field 22.
	if len(f) < 20 {
		return procStat{}, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(f))
	}
	pgrp, err1 := strconv.Atoi(f[2])
	start, err2 := strconv.ParseUint(f[19], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return procStat{}, fmt.Errorf("parse /proc/%d/stat: %w", pid, err)
	}
	return procStat{pgrp: pgrp, startTime: start}, nil
}

// sigtermIsDefault reports whether pid neither catches nor ignores SIGTERM: as PID 1 of a namespace it would
// then silently survive a SIGTERM it should die of.
func sigtermIsDefault(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return false
	}
	const bit = uint64(1) << (uint(syscall.SIGTERM) - 1)
	for _, line := range strings.Split(string(b), "\n") {
		name, val, ok := strings.Cut(line, ":")
		if !ok || (name != "SigCgt" && name != "SigIgn") {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(val), 16, 64)
		if err != nil || mask&bit != 0 {
			return false
		}
	}
	return true
}

// killLeftovers SIGKILLs what may remain of an attempt whose shell was pid, started at startTime: the shell
// itself if it is still that process, and every member of its process group started no earlier. The kernel
// does not reuse a pid while it names a live process group, so members of group pid are the job's.
func killLeftovers(pid int, startTime uint64) (killed int) {
	if st, err := readProcStat(pid); err == nil && st.startTime == startTime {
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			killed++
		}
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return killed
	}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil || p == pid {
			continue
		}
		st, err := readProcStat(p)
		if err != nil || st.pgrp != pid || st.startTime < startTime {
			continue
		}
		if syscall.Kill(p, syscall.SIGKILL) == nil {
			killed++
		}
	}
	return killed
}
