//go:build linux

package local

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runplane/runplane/internal/executor"
)

func TestParseHandle(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     executor.Handle
		want   handle
		wantOK bool
	}{
		{"local:1234:99887766:job-a.0a1b2c", handle{pid: 1234, startTime: 99887766, workspace: "job-a.0a1b2c"}, true},
		{"local:1234:5:", handle{pid: 1234, startTime: 5}, true},
		{"local:1234:0:job-a.0a1b2c", handle{pid: 1234, workspace: "job-a.0a1b2c"}, true},
		{"local:1234:5:a.b:c", handle{}, false},
		{"local:1234:5:../etc", handle{}, false},
		{"local:1234:5:.hidden", handle{}, false},
		{"local:1:5:ws", handle{}, false},
		{"local:x:5:ws", handle{}, false},
		{"kube:ns/job", handle{}, false},
		{"", handle{}, false},
	}
	for _, tc := range tests {
		got, ok := parseHandle(tc.in)
		if ok != tc.wantOK || got != tc.want {
			t.Errorf("parseHandle(%q) = %+v, %v; want %+v, %v", tc.in, got, ok, tc.want, tc.wantOK)
		}
		if ok {
			if back := executor.Handle(got.String()); back != tc.in {
				t.Errorf("handle %q formats back as %q", tc.in, back)
			}
		}
	}
}

func TestNewWorkspaceName(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"task-ab12c", "../../etc/passwd", "", "weird id with spaces/and:colons", string(make([]byte, 300))} {
		name := newWorkspaceName(id)
		if !validWorkspace(name) {
			t.Errorf("newWorkspaceName(%q) = %q, not a valid workspace name", id, name)
		}
	}
}

func TestReadProcStat(t *testing.T) {
	t.Parallel()
	st, err := readProcStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	again, err := readProcStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if st.startTime == 0 || st.pgrp == 0 {
		t.Errorf("readProcStat(self) = %+v, want a start time and a process group", st)
	}
	if diff := cmp.Diff(st, again, cmp.AllowUnexported(procStat{})); diff != "" {
		t.Errorf("readProcStat is not stable (-first +second):\n%s", diff)
	}
}
