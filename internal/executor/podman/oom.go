package podman

import (
	"errors"
	"strings"

	"golang.org/x/sys/unix"
)

// oomKilled reports whether the kernel's OOM killer killed a process of container id, as the kernel log says
// (`oom-kill:... oom_memcg=/.../libpod-<id>`): podman's State.OOMKilled stays false on hosts with cgroup v1,
// where conmon misses the event. Without access to the kernel log it assumes so (the caller asks only about a job
// with a memory limit that died of a SIGKILL Stop did not send).
func (e *Executor) oomKilled(id string) bool {
	if id == "" {
		return true
	}
	fd, err := unix.Open("/dev/kmsg", unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return true
	}
	defer unix.Close(fd)
	buf := make([]byte, 8192)
	for {
		n, err := unix.Read(fd, buf) // one record per read
		switch {
		case errors.Is(err, unix.EPIPE): // records overwritten while reading: go on with the next
			continue
		case err != nil || n <= 0: // EAGAIN: the end of the log
			return false
		}
		rec := string(buf[:n])
		if strings.Contains(rec, "oom-kill:") && strings.Contains(rec, "oom_memcg=") && strings.Contains(rec, id) {
			return true
		}
	}
}
