package statestore

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/gitsource/gittest"
)

func gitStore(name, url string) api.StateStore {
	return api.StateStore{Kind: api.KindGitStateStore, Name: name, URL: url}
}

func request(store, name string) Placement {
	return Placement{Destination: destination("dev", api.KindGitStateStore, store, "", ""), Promise: "redis",
		Resource: name, Namespace: "default", Pipeline: "instance-configure", GroupID: rootGroup,
		Files: files("redis.yaml", "name: "+name+"\n")}
}

// TestGitConcurrentWrites writes 50 requests at once to one repository through two Writers with repositories of
// their own (two servers): every write lands (0 lost) and none reports an error (0 conflicts surfaced), although
// the two keep moving the branch under each other; this is Kratix #454. The repository starts empty, so the two
// also race to create the branch. In "file and http", one server writes in process and the other through git
// http-backend: git's ref lock and this package's must exclude each other.
func TestGitConcurrentWrites(t *testing.T) {
	type twoServers func(t *testing.T, bare string) [2]api.StateStore
	type testCase struct {
		name   string
		stores twoServers
	}
	var cases []testCase
	for _, kind := range remoteKinds {
		cases = append(cases, testCase{kind.name, func(t *testing.T, bare string) [2]api.StateStore {
			s := kind.store(t, bare)
			return [2]api.StateStore{s, s}
		}})
	}
	cases = append(cases, testCase{"file and http", func(t *testing.T, bare string) [2]api.StateStore {
		return [2]api.StateStore{remoteKinds[0].store(t, bare), remoteKinds[2].store(t, bare)}
	}})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bare := emptyBare(t)
			stores := tc.stores(t, bare)
			var writers []Writer
			for i := range 2 {
				ws, err := New(Options{Dir: t.TempDir(), MaxAttempts: 50})
				if err != nil {
					t.Fatal(err)
				}
				w, err := ws.For(stores[i])
				if err != nil {
					t.Fatal(err)
				}
				writers = append(writers, w)
			}
			const n = 50
			var wg sync.WaitGroup
			errs := make([]error, n)
			versions := make([]string, n)
			for i := range n {
				wg.Go(func() {
					res, err := writers[i%2].Write(t.Context(), request("git", fmt.Sprintf("r%02d", i)))
					errs[i], versions[i] = err, res.Version
				})
			}
			wg.Wait()
			got := repoFiles(t, bare, "main")
			for i := range n {
				if errs[i] != nil {
					t.Errorf("write %d: %v", i, errs[i])
				}
				p := fmt.Sprintf("dev/resources/default/redis/r%02d/instance-configure/5058f/redis.yaml", i)
				if got[p] != fmt.Sprintf("name: r%02d\n", i) {
					t.Errorf("write %d lost: %s = %q", i, p, got[p])
				}
				if versions[i] == "" || !strings.Contains(gitCmd(t, bare, "branch", "--contains", versions[i]), "main") {
					t.Errorf("write %d: version %q is not on main", i, versions[i])
				}
			}
			if len(got) != n {
				t.Errorf("repository holds %d files, want %d", len(got), n)
			}
			gitCmd(t, bare, "fsck", "--strict", "--no-dangling")
		})
	}
}

// remoteKinds are the ways a git store reaches its repository, each with its own push: a plain bare repository
// on this machine (in process), one with a push hook (through git-receive-pack), and smart HTTP with basic auth
// (go-git's client, git http-backend serving).
var remoteKinds = []struct {
	name  string
	store func(t *testing.T, bare string) api.StateStore
}{
	{"file", func(t *testing.T, bare string) api.StateStore { return gitStore("git", gittest.URL(bare)) }},
	{"file with a hook", func(t *testing.T, bare string) api.StateStore {
		hook(t, bare, "post-update", "exit 0")
		return gitStore("git", gittest.URL(bare))
	}},
	{"http", func(t *testing.T, bare string) api.StateStore {
		s := gitStore("git", gittest.ServePushHTTP(t, bare, "bot", "pw"))
		s.Credentials = &api.GitCredentials{Username: "bot", Password: "pw"}
		return s
	}},
}

// TestGitRemoteMovedBeforePush has another writer commit to the branch between this writer's fetch and its push:
// the push is refused, and the writer applies its change again on top of the other's and pushes that, so both
// changes are kept and no error is returned.
func TestGitRemoteMovedBeforePush(t *testing.T) {
	for _, kind := range remoteKinds {
		t.Run(kind.name, func(t *testing.T) {
			bare := gittest.NewRepo(t, map[string]string{"README.md": "state\n"})
			var pushes atomic.Int32
			ws, err := New(Options{Dir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			ws.opts.testHookBeforePush = func(attempt int) {
				if pushes.Add(1) == 1 {
					gittest.Commit(t, bare, map[string]string{"other/writer.yaml": "moved\n"})
				}
			}
			w, err := ws.For(kind.store(t, bare))
			if err != nil {
				t.Fatal(err)
			}
			res, err := w.Write(t.Context(), request("git", "cache"))
			if err != nil {
				t.Fatalf("Write: %v", err)
			}
			if pushes.Load() != 2 {
				t.Errorf("pushes = %d, want 2 (refused once, then on top of the other writer's commit)", pushes.Load())
			}
			got := repoFiles(t, bare, "main")
			if got["other/writer.yaml"] != "moved\n" || got[cacheFile] != "name: cache\n" || got["README.md"] != "state\n" {
				t.Errorf("repository = %v, want both writers' files", got)
			}
			if head := strings.TrimSpace(gitCmd(t, bare, "rev-parse", "main")); res.Version != head {
				t.Errorf("Version = %s, want head %s", res.Version, head)
			}
		})
	}
}

// TestGitRemoteRewound: a writer commits on top of the head it last pushed without fetching first, and pushes
// under a lease on that head. When the branch was rewound by hand meanwhile (a fast-forward of it would silently
// bring back what was removed), the push is refused and the write is made again on top of the rewound branch.
func TestGitRemoteRewound(t *testing.T) {
	for _, kind := range remoteKinds {
		t.Run(kind.name, func(t *testing.T) {
			bare := gittest.NewRepo(t, map[string]string{"README.md": "state\n"})
			initial := strings.TrimSpace(gitCmd(t, bare, "rev-parse", "main"))
			ws, err := New(Options{Dir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			var pushes atomic.Int32
			ws.opts.testHookBeforePush = func(int) { pushes.Add(1) }
			w, _ := ws.For(kind.store(t, bare))
			if _, err := w.Write(t.Context(), request("git", "cache")); err != nil {
				t.Fatal(err)
			}
			gitCmd(t, bare, "update-ref", "refs/heads/main", initial)
			res, err := w.Write(t.Context(), request("git", "db"))
			if err != nil {
				t.Fatalf("Write after the rewind: %v", err)
			}
			if pushes.Load() != 3 {
				t.Errorf("pushes = %d, want 3 (the second refused by its lease, then made again on the rewound branch)", pushes.Load())
			}
			got := repoFiles(t, bare, "main")
			if _, ok := got[cacheFile]; ok {
				t.Errorf("the rewound commit's file is back: %v", listing(got))
			}
			if len(got) != 2 || got["README.md"] != "state\n" {
				t.Errorf("repository = %v, want README.md and db's file", listing(got))
			}
			if head := strings.TrimSpace(gitCmd(t, bare, "rev-parse", "main")); res.Version != head {
				t.Errorf("Version = %s, want head %s", res.Version, head)
			}
		})
	}
}

// TestGitRemoteKeepsMoving gives up after MaxAttempts pushes when the branch moves before every one, and says so.
func TestGitRemoteKeepsMoving(t *testing.T) {
	bare := gittest.NewRepo(t, map[string]string{"README.md": "state\n"})
	ws, err := New(Options{Dir: t.TempDir(), MaxAttempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	var pushes atomic.Int32
	ws.opts.testHookBeforePush = func(int) {
		gittest.Commit(t, bare, map[string]string{"other.yaml": fmt.Sprint(pushes.Add(1))})
	}
	w, _ := ws.For(gitStore("git", gittest.URL(bare)))
	_, err = w.Write(t.Context(), request("git", "cache"))
	if err == nil || !errors.Is(err, errMoved) || pushes.Load() != 3 {
		t.Fatalf("Write = %v after %d pushes, want errMoved after 3", err, pushes.Load())
	}
}

// TestGitNoChange writes the same files twice: the second call makes no commit and returns the head (Kratix
// #691: "no changes to be committed" must not be an error).
func TestGitNoChange(t *testing.T) {
	bare := gittest.NewRepo(t, map[string]string{"README.md": "state\n"})
	ws, _ := New(Options{Dir: t.TempDir()})
	w, _ := ws.For(gitStore("git", gittest.URL(bare)))
	first, err := w.Write(t.Context(), request("git", "cache"))
	if err != nil {
		t.Fatal(err)
	}
	second, err := w.Write(t.Context(), request("git", "cache"))
	if err != nil || second.Version != first.Version {
		t.Fatalf("second Write = %+v, %v; want no error and version %s", second, err, first.Version)
	}
}

// TestGitDeleteAndBranch writes to another branch and deletes a request's files there.
func TestGitDeleteAndBranch(t *testing.T) {
	bare := gittest.NewRepo(t, map[string]string{"README.md": "state\n"})
	ws, _ := New(Options{Dir: t.TempDir()})
	s := gitStore("git", gittest.URL(bare))
	s.Branch = "platform"
	w, _ := ws.For(s)
	if _, err := w.Write(t.Context(), request("git", "a"), request("git", "b")); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Delete(t.Context(), request("git", "a")); err != nil {
		t.Fatal(err)
	}
	got := repoFiles(t, bare, "platform")
	if _, ok := got["dev/resources/default/redis/a/instance-configure/5058f/redis.yaml"]; ok || len(got) != 1 {
		t.Errorf("branch platform = %v, want b's file only (a new branch starts empty)", got)
	}
	if main := repoFiles(t, bare, "main"); len(main) != 1 {
		t.Errorf("main = %v, want untouched", main)
	}
}

// TestGitHTTPCredentials pushes over HTTP with basic auth and with a token, and checks that a refused password
// appears in no error, and that git never saw it in its arguments.
func TestGitHTTPCredentials(t *testing.T) {
	const password = "s3cret-Passw0rd-xyz"
	bare := gittest.NewRepo(t, map[string]string{"README.md": "state\n"})
	url := gittest.ServePushHTTP(t, bare, "bot", password)
	tests := []struct {
		name  string
		creds *api.GitCredentials
		ok    bool
	}{
		{"basic auth", &api.GitCredentials{Username: "bot", Password: password}, true},
		{"wrong password", &api.GitCredentials{Username: "bot", Password: password + "-wrong"}, false},
		{"none", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws, _ := New(Options{Dir: t.TempDir()})
			s := gitStore("git", url)
			s.Credentials = tc.creds
			w, err := ws.For(s)
			if err != nil {
				t.Fatal(err)
			}
			_, err = w.Write(t.Context(), request("git", "c-"+strings.ReplaceAll(tc.name, " ", "-")))
			if tc.ok != (err == nil) {
				t.Fatalf("Write = %v, want ok %v", err, tc.ok)
			}
			if err != nil && strings.Contains(err.Error(), password) {
				t.Fatalf("error %q shows the password", err)
			}
		})
	}
	if got := repoFiles(t, bare, "main"); len(got) != 2 {
		t.Errorf("repository = %v, want the one authorized write", got)
	}
}

// TestGitUnreachable fails with a clean error, and queued writes of the same batch fail with it.
func TestGitUnreachable(t *testing.T) {
	ws, _ := New(Options{Dir: t.TempDir()})
	w, _ := ws.For(gitStore("git", "file://"+filepath.Join(t.TempDir(), "missing.git")))
	_, err := w.Write(t.Context(), request("git", "a"))
	if err == nil || !strings.Contains(err.Error(), "git state store git: git fetch") {
		t.Fatalf("Write = %v, want a fetch error naming the store", err)
	}
}
