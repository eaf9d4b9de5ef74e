package gittest

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
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// ServeSSH serves git over ssh on 127.0.0.1 for tests: a real ssh server (x/crypto/ssh) that takes the client key
// it was given and runs the git command a client asks for (git-upload-pack / git-receive-pack) against the local
// repositories. It returns the client's private key (OpenSSH PEM), a known_hosts line for the server and the
// ssh:// URL of bare. The server closes at t.Cleanup.
func ServeSSH(t testing.TB, bare string) (key, knownHosts, url string) {
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
