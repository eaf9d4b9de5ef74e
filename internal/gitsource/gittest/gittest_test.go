package gittest

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func clone(t *testing.T, url, branch string) (dir string, err error) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "clone")
	cmd := gitCmd(t.TempDir(), "", nil, "clone", "-q", "-b", branch, "--", url, dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git clone: %v: %s", err, out)
	}
	return dir, nil
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestNewRepoAndCommit(t *testing.T) {
	t.Parallel()
	bare := NewRepo(t, map[string]string{"a.txt": "one", "bin/run.sh": "#!/bin/sh\necho hi\n"})
	first := Head(t, bare, "main")
	Commit(t, bare, map[string]string{"a.txt": "two", "b.txt": "new"})
	CommitBranch(t, bare, "dev", map[string]string{"dev.txt": "dev"})
	if got := Head(t, bare, "main"); got == first {
		t.Fatalf("Head after Commit = %s, want a new commit", got)
	}

	tests := []struct {
		branch string
		want   map[string]string
	}{
		{"main", map[string]string{"a.txt": "two", "b.txt": "new", "bin/run.sh": "#!/bin/sh\necho hi\n"}},
		{"dev", map[string]string{"a.txt": "two", "b.txt": "new", "bin/run.sh": "#!/bin/sh\necho hi\n", "dev.txt": "dev"}},
	}
	for _, tc := range tests {
		t.Run(tc.branch, func(t *testing.T) {
			dir, err := clone(t, URL(bare), tc.branch)
			if err != nil {
				t.Fatalf("clone: %v", err)
			}
			got := map[string]string{}
			for name := range tc.want {
				got[name] = readFile(t, filepath.Join(dir, name))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("checkout of %s (-want +got):\n%s", tc.branch, diff)
			}
			fi, err := os.Stat(filepath.Join(dir, "bin/run.sh"))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm()&0o100 == 0 {
				t.Errorf("bin/run.sh mode = %v, want executable", fi.Mode())
			}
		})
	}
}

func TestServeHTTP(t *testing.T) {
	t.Parallel()
	bare := NewRepo(t, map[string]string{"f": "x"})
	tests := []struct {
		name, user, pass string // server side
		cUser, cPass     string // client side
		wantOK           bool
	}{
		{"good credentials", "u", "secret", "u", "secret", true},
		{"any user", "", "secret", "whoever", "secret", true},
		{"bad password", "u", "secret", "u", "wrong", false},
		{"bad user", "u", "secret", "v", "secret", false},
		{"public", "", "", "", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := ServeHTTP(t, bare, tc.user, tc.pass)
			if tc.cUser != "" || tc.cPass != "" {
				url = strings.Replace(url, "http://", "http://"+tc.cUser+":"+tc.cPass+"@", 1)
			}
			dir, err := clone(t, url, "main")
			if (err == nil) != tc.wantOK {
				t.Fatalf("clone ok = %v (%v), want %v", err == nil, err, tc.wantOK)
			}
			if tc.wantOK {
				if got := readFile(t, filepath.Join(dir, "f")); got != "x" {
					t.Errorf("f = %q, want %q", got, "x")
				}
			}
		})
	}
}

func TestServeHTTPChallenges(t *testing.T) {
	t.Parallel()
	url := ServeHTTP(t, NewRepo(t, map[string]string{"f": "x"}), "", "pw")
	resp, err := http.Get(url + "/info/refs?service=git-upload-pack")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("GET without auth = %d, WWW-Authenticate %q; want 401 with a challenge", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}
