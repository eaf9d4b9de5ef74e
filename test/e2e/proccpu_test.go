package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// procCPU is the CPU time a process used: its own (user + system) and that of its children it has reaped.
type procCPU struct{ self, children time.Duration }

func (c procCPU) add(d procCPU) procCPU { return procCPU{c.self + d.self, c.children + d.children} }
func (c procCPU) sub(d procCPU) procCPU { return procCPU{c.self - d.self, c.children - d.children} }

// clockTick is USER_HZ, the unit of /proc/<pid>/stat's times: 100 on every Linux architecture Go runs on.
const clockTick = 10 * time.Millisecond

// readProcCPU reads pid's CPU times from /proc/<pid>/stat (fields 14–17: utime, stime, cutime, cstime).
func readProcCPU(tb testing.TB, pid int) procCPU {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatal(err)
	}
	// The command name (field 2) may hold spaces; the fields after it start past its closing parenthesis.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	var t [4]int64
	for i := range t {
		if _, err := fmt.Sscan(f[11+i], &t[i]); err != nil {
			tb.Fatalf("/proc/%d/stat field %d: %v", pid, 14+i, err)
		}
	}
	return procCPU{time.Duration(t[0]+t[1]) * clockTick, time.Duration(t[2]+t[3]) * clockTick}
}
