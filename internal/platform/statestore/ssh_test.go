package statestore

import (
	"crypto/ed25519"
	"crypto/rand"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/gitsource/gittest"
)

// TestGitSSH writes to a repository over ssh, with the key and known_hosts of the store's credentials: writes
// land, a branch moved under a write is written on top of, and a host key that is not the one known is refused
// without the key appearing in the error.
func TestGitSSH(t *testing.T) {
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("no ssh client")
	}
	bare := gittest.NewRepo(t, map[string]string{"README.md": "state\n"})
	key, known, url := gittest.ServeSSH(t, bare)
	store := func(knownHosts string) api.StateStore {
		s := gitStore("git", url)
		s.AuthMethod = api.AuthSSH
		s.Credentials = &api.GitCredentials{SSHPrivateKey: key, KnownHosts: knownHosts}
		return s
	}
	ws, _ := New(Options{Dir: t.TempDir()})
	var pushes atomic.Int32
	ws.opts.testHookBeforePush = func(int) {
		if pushes.Add(1) == 2 {
			gittest.Commit(t, bare, map[string]string{"other.yaml": "moved\n"})
		}
	}
	w, err := ws.For(store(known))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(t.Context(), request("git", "cache")); err != nil {
		t.Fatalf("Write over ssh: %v", err)
	}
	res, err := w.Write(t.Context(), request("git", "db"))
	if err != nil {
		t.Fatalf("Write over ssh after the branch moved: %v", err)
	}
	if pushes.Load() != 3 {
		t.Errorf("pushes = %d, want 3 (the second refused by its lease)", pushes.Load())
	}
	got := repoFiles(t, bare, "main")
	if len(got) != 4 || got[cacheFile] != "name: cache\n" || got["other.yaml"] != "moved\n" {
		t.Errorf("repository = %v, want README.md, other.yaml and both requests' files", listing(got))
	}
	if head := gittest.Head(t, bare, "main"); res.Version != head {
		t.Errorf("Version = %s, want %s", res.Version, head)
	}
	gitCmd(t, bare, "fsck", "--strict", "--no-dangling")

	// Another host's key in known_hosts: refused.
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	other, _ := ssh.NewSignerFromKey(otherPriv)
	host := strings.Fields(known)[0]
	ws2, _ := New(Options{Dir: t.TempDir()})
	w2, _ := ws2.For(store(knownhosts.Line([]string{host}, other.PublicKey())))
	_, err = w2.Write(t.Context(), request("git", "web"))
	if err == nil || !strings.Contains(err.Error(), "Host key verification failed") {
		t.Fatalf("Write with a wrong known host = %v, want ssh's host key refusal", err)
	}
	if strings.Contains(err.Error(), "PRIVATE KEY") {
		t.Errorf("error shows the key: %v", err)
	}
}
