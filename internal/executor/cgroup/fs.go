//go:build linux

package cgroup

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// write writes s to the cgroup file dir/name in one write(2), as cgroupfs wants.
func write(dir, name, s string) error {
	fd, err := unix.Open(filepath.Join(dir, name), unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: filepath.Join(dir, name), Err: err}
	}
	defer unix.Close(fd)
	for {
		_, err = unix.Write(fd, []byte(s))
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return &os.PathError{Op: "write " + strconv.Quote(s) + " to", Path: filepath.Join(dir, name), Err: err}
	}
	return nil
}

func read(dir, name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	return strings.TrimSpace(string(b)), err
}

// keyed returns the value of key in a "key value" per line file (memory.events, memory.oom_control).
func keyed(dir, name, key string) (int64, bool, error) {
	s, err := read(dir, name)
	if err != nil {
		return 0, false, err
	}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == key {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n, err == nil, err
		}
	}
	return 0, false, nil
}

// pids reads a cgroup.procs (or tasks) file.
func pids(dir, name string) ([]int, error) {
	s, err := read(dir, name)
	if err != nil {
		return nil, err
	}
	var out []int
	for _, f := range strings.Fields(s) {
		if n, err := strconv.Atoi(f); err == nil {
			out = append(out, n)
		}
	}
	return out, nil
}

// rmdir removes an empty group, retrying while the kernel still counts exiting tasks in it (EBUSY).
func rmdir(dir string, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	delay := 100 * time.Microsecond
	for {
		err := unix.Rmdir(dir)
		switch {
		case err == nil || errors.Is(err, unix.ENOENT):
			return nil
		case !errors.Is(err, unix.EBUSY) || time.Now().After(deadline):
			return &os.PathError{Op: "rmdir", Path: dir, Err: err}
		}
		time.Sleep(delay)
		delay = min(2*delay, 20*time.Millisecond)
	}
}
