package statestore

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/gitsource/gittest"
)

// sshServer serves git over ssh on 127.0.0.1 for tests: a real ssh server (x/crypto/ssh) that takes the client key
// it was given and runs the git command a client asks for (git-upload-pack / git-receive-pack) against the local
// repositories. It returns the client's private key (OpenSSH PEM), a known_hosts line for the server and the
// ssh:// URL of bare.
func sshServer(t *testing.T, bare string) (key, knownHosts, url string) {
	t.Helper()
	_, hostPriv, _ := ed25519.GenerateKey(rand.Reader)
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		t.Fatal(err)
	}
	clientPub, clientPriv, _ := ed25519.GenerateKey(rand.Reader)
	sshClientPub, err := ssh.NewPublicKey(clientPub)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(clientPriv, "")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
		if string(k.Marshal()) == string(sshClientPub.Marshal()) {
			return nil, nil
		}
		return nil, fmt.Errorf("unknown key")
	}}
	cfg.AddHostKey(hostSigner)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { serveSSH(c, cfg) })
		}
	})
	addr := ln.Addr().String()
	knownHosts = knownhosts.Line([]string{knownhosts.Normalize(addr)}, hostSigner.PublicKey())
	return string(pem.EncodeToMemory(block)), knownHosts, "ssh://git@" + addr + bare
}

func serveSSH(c net.Conn, cfg *ssh.ServerConfig) {
	defer c.Close()
	_, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "session only")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			return
		}
		go func() {
			defer ch.Close()
			for r := range creqs {
				if r.Type != "exec" || len(r.Payload) < 4 {
					r.Reply(r.Type == "env", nil)
					continue
				}
				cmd := string(r.Payload[4:])
				if !strings.HasPrefix(cmd, "git-upload-pack ") && !strings.HasPrefix(cmd, "git-receive-pack ") {
					r.Reply(false, nil)
					continue
				}
				r.Reply(true, nil)
				p := exec.Command("sh", "-c", cmd)
				p.Stdin, p.Stdout, p.Stderr = ch, ch, ch.Stderr()
				status := uint32(0)
				if err := p.Run(); err != nil {
					status = 1
				}
				_, _ = io.Copy(io.Discard, ch)
				var b [4]byte
				binary.BigEndian.PutUint32(b[:], status)
				ch.SendRequest("exit-status", false, b[:])
				return
			}
		}()
	}
}

// TestGitSSH writes to a repository over ssh, with the key and known_hosts of the store's credentials: writes
// land, a branch moved under a write is written on top of, and a host key that is not the one known is refused
// without the key appearing in the error.
func TestGitSSH(t *testing.T) {
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("no ssh client")
	}
	bare := gittest.NewRepo(t, map[string]string{"README.md": "state\n"})
	key, known, url := sshServer(t, bare)
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
