//go:build linux

package cgroup

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// controllers this package uses. "freezer" (v1 only) is not a limit: it lets Kill stop a job's processes from
// forking while they are signalled.
var controllers = []string{"memory", "pids", "cpu"}

// hierarchy is one mounted cgroup hierarchy that this package uses.
type hierarchy struct {
	v2    bool
	ctls  []string // v1: the controllers of interest bound to it; v2: those enabled for job groups
	own   string   // the server's own group in it
	mount string
}

// mount is one line of /proc/self/mountinfo of type cgroup or cgroup2.
type mount struct {
	root, point string
	v2          bool
	opts        map[string]bool // v1 super options: controller names
}

// parseMountinfo returns the cgroup mounts of a /proc/<pid>/mountinfo.
func parseMountinfo(b []byte) []mount {
	var out []mount
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 3 || (g[0] != "cgroup" && g[0] != "cgroup2") {
			continue
		}
		m := mount{root: unescape(f[3]), point: unescape(f[4]), v2: g[0] == "cgroup2", opts: map[string]bool{}}
		for _, o := range strings.Split(g[2], ",") {
			m.opts[o] = true
		}
		out = append(out, m)
	}
	return out
}

// unescape undoes mountinfo's octal escapes (\040 for a space, ...).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v byte
			ok := true
			for _, c := range []byte(s[i+1 : i+4]) {
				if c < '0' || c > '7' {
					ok = false
				}
				v = v*8 + c - '0'
			}
			if ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// parseProcCgroup returns, from a /proc/<pid>/cgroup, the group path per v1 controller and the v2 path ("" if
// none).
func parseProcCgroup(b []byte) (v1 map[string]string, v2 string, hasV2 bool) {
	v1 = map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			v2, hasV2 = parts[2], true
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			v1[c] = parts[2]
		}
	}
	return v1, v2, hasV2
}

// ownDir is the directory of group path p in mount m, or "" if m does not show it (a mount of another subtree).
func ownDir(m mount, p string) string {
	if m.root == "/" {
		return filepath.Join(m.point, p)
	}
	if p == m.root || strings.HasPrefix(p, m.root+"/") {
		return filepath.Join(m.point, strings.TrimPrefix(p, m.root))
	}
	return ""
}

// detect finds the hierarchies to use, from this process's mountinfo and cgroup files: each controller from a
// v1 hierarchy if one has it, else from the cgroup2 hierarchy; the cgroup2 hierarchy is used even without
// controllers (on a hybrid host), for clone-into-group and cgroup.kill. freezer is taken from v1 when there.
func detect(mountinfo, self []byte) (v1 map[string]*hierarchy, v2 *hierarchy, err error) {
	mounts := parseMountinfo(mountinfo)
	paths, v2path, hasV2 := parseProcCgroup(self)
	v1 = map[string]*hierarchy{}
	byPoint := map[string]*hierarchy{}
	for _, m := range mounts {
		if m.v2 {
			if v2 == nil && hasV2 {
				// A server that moved itself into its leaf (see delegate) makes its groups beside it.
				if d := ownDir(m, strings.TrimSuffix(v2path, "/runplane-server")); d != "" {
					v2 = &hierarchy{v2: true, own: d, mount: m.point}
				}
			}
			continue
		}
		for _, c := range append(append([]string{}, controllers...), "freezer") {
			if !m.opts[c] || v1[c] != nil {
				continue
			}
			p, ok := paths[c]
			if !ok {
				continue
			}
			d := ownDir(m, p)
			if d == "" {
				continue
			}
			h := byPoint[m.point]
			if h == nil {
				h = &hierarchy{own: d, mount: m.point}
				byPoint[m.point] = h
			}
			h.ctls = append(h.ctls, c)
			v1[c] = h
		}
	}
	if len(v1) == 0 && v2 == nil {
		return nil, nil, fmt.Errorf("%w: no cgroup filesystem is mounted", ErrUnavailable)
	}
	return v1, v2, nil
}

func readSelf() (mountinfo, self []byte, err error) {
	if mountinfo, err = os.ReadFile("/proc/self/mountinfo"); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if self, err = os.ReadFile("/proc/self/cgroup"); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return mountinfo, self, nil
}
