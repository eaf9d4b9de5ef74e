package cgroup

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const hybridMountinfo = `30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 30 0:33 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`

const hybridSelf = `9:name=systemd:/
8:pids:/
6:freezer:/
4:memory:/process_api/d0b6
1:cpu,cpuacct:/
0::/
`

func TestDetect(t *testing.T) {
	t.Parallel()
	type want struct {
		V1 map[string]string // controller → own dir
		V2 string
	}
	tests := []struct {
		name            string
		mountinfo, self string
		want            want
		wantUnavailable bool
	}{
		{"hybrid", hybridMountinfo, hybridSelf, want{
			V1: map[string]string{"cpu": "/sys/fs/cgroup/cpu,cpuacct", "memory": "/sys/fs/cgroup/memory/process_api/d0b6",
				"pids": "/sys/fs/cgroup/pids", "freezer": "/sys/fs/cgroup/freezer"},
			V2: "/sys/fs/cgroup/unified",
		}, false},
		{"pure v2", "25 1 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n", "0::/system.slice/runplane.service\n",
			want{V1: map[string]string{}, V2: "/sys/fs/cgroup/system.slice/runplane.service"}, false},
		{"v2, server in its own leaf", "25 1 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n", "0::/system.slice/r.service/runplane-server\n",
			want{V1: map[string]string{}, V2: "/sys/fs/cgroup/system.slice/r.service"}, false},
		{"v2 mounted from a subtree (container)", `25 1 0:22 /kubepods/pod1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw` + "\n",
			"0::/kubepods/pod1/c\n", want{V1: map[string]string{}, V2: "/sys/fs/cgroup/c"}, false},
		{"mount of another subtree is unusable", `25 1 0:22 /other /sys/fs/cgroup rw - cgroup2 cgroup2 rw` + "\n",
			"0::/kubepods/pod1/c\n", want{}, true},
		{"escaped mount point", `25 1 0:22 / /mnt/my\040cgroup rw - cgroup2 cgroup2 rw` + "\n", "0::/\n",
			want{V1: map[string]string{}, V2: "/mnt/my cgroup"}, false},
		{"no cgroup fs", "22 1 0:20 / / rw - ext4 /dev/vda rw\n", "0::/\n", want{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v1, v2, err := detect([]byte(tc.mountinfo), []byte(tc.self))
			if tc.wantUnavailable {
				if !errors.Is(err, ErrUnavailable) {
					t.Fatalf("detect = %v, want ErrUnavailable", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := want{V1: map[string]string{}}
			for c, h := range v1 {
				got.V1[c] = h.own
			}
			if v2 != nil {
				got.V2 = v2.own
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("detect (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOpenUnavailable(t *testing.T) {
	t.Parallel()
	_, err := open(Options{}, []byte("22 1 0:20 / / rw - ext4 /dev/vda rw\n"), []byte("0::/\n"))
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("open without cgroup fs = %v, want ErrUnavailable", err)
	}
	if _, err := open(Options{Name: "../x"}, []byte(hybridMountinfo), []byte(hybridSelf)); err == nil {
		t.Error("open with name ../x succeeded")
	}
}
