package podman_test

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/runplane/runplane/api"
)

// greeter listens on the host's 127.0.0.1 and greets every connection with a word of its own; it counts them.
type greeter struct {
	port     string
	greeting string
	accepted atomic.Int32
}

func newGreeter(t *testing.T) *greeter {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	g := &greeter{port: strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), greeting: "hello-" + hex.EncodeToString(b[:])}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			g.accepted.Add(1)
			_, _ = c.Write([]byte(g.greeting + "\n"))
			c.Close()
		}
	}()
	return g
}

// TestNetwork: a job gets no network unless its task asks; with "host" it reaches a listener on the host's
// loopback, with "private" it has a network of its own that does not.
func TestNetwork(t *testing.T) {
	ex := newExecutor(t, nil)
	tests := []struct {
		network    string
		interfaces string // the job's /sys/class/net, sorted
		reaches    bool   // the host's 127.0.0.1
	}{
		{"", "lo", false},
		{api.NetworkNone, "lo", false},
		{api.NetworkPrivate, "eth0 lo", false},
		{api.NetworkHost, "", true}, // the host's interfaces, whatever they are
	}
	for _, tt := range tests {
		t.Run("network="+tt.network, func(t *testing.T) {
			g := newGreeter(t)
			s, out := spec(t, `echo "net:$(ls /sys/class/net | sort | tr '\n' ' ')"
if got=$(nc -w 5 127.0.0.1 `+g.port+` </dev/null 2>&1); then echo "got:$got"; else echo "refused:$got"; fi`)
			s.Network = tt.network
			if r := run(t, ex, s); r.ExitCode != 0 {
				t.Fatalf("exit %d (%s), output:\n%s", r.ExitCode, r.Reason, out)
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if len(lines) != 2 {
				t.Fatalf("output %q, want two lines", out)
			}
			if ifs := strings.TrimSpace(strings.TrimPrefix(lines[0], "net:")); tt.interfaces != "" && ifs != tt.interfaces {
				t.Errorf("the job's interfaces: %q, want %q", ifs, tt.interfaces)
			} else if tt.interfaces == "" && (ifs == "lo" || ifs == "eth0 lo") {
				t.Errorf("with the host's network, the job sees only %q", ifs)
			}
			got, reached := lines[1] == "got:"+g.greeting, g.accepted.Load() > 0
			if got != tt.reaches || reached != tt.reaches {
				t.Errorf("job connecting to the host's 127.0.0.1:%s: said %q, listener accepted %d; want reached %v",
					g.port, lines[1], g.accepted.Load(), tt.reaches)
			}
		})
	}
}
