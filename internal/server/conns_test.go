package server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/runplane/runplane/api"
)

// dialFrom opens a TCP connection to the server from the loopback address from (Linux routes all of 127/8 to lo).
func dialFrom(t *testing.T, ts *testServer, from string) net.Conn {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.DialContext(t.Context(), "tcp", ts.Addr())
	if err != nil {
		t.Fatalf("dial from %s: %v", from, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// healthFrom sends GET /healthz on a new connection from from and returns the status, or an error if the
// connection was refused or not answered within 5s.
func healthFrom(t *testing.T, ts *testServer, from string) (int, error) {
	t.Helper()
	c := dialFrom(t, ts, from)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: runplane\r\nConnection: close\r\n\r\n"); err != nil {
		return 0, err
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	return res.StatusCode, nil
}

// refused reports whether the server turned c away at once: it answers 503 or closes c without waiting for a
// request. A connection the server keeps waiting on is not refused (it times out after 3s).
func refused(t *testing.T, c net.Conn) bool {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	if err != nil {
		return true // closed (EOF or reset)
	}
	res.Body.Close()
	return res.StatusCode == http.StatusServiceUnavailable
}

// TestConnectionCaps: past the cap on one address's connections, that address's next connection is refused at
// once while another address is still served; past the total cap, every address is refused; a connection that
// closes gives its place back.
func TestConnectionCaps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		max, per int
		hold     []string // addresses of connections held open (idle, no request)
		next     string   // a further connection, which must be refused
		served   string   // an address still served meanwhile; "" if none is
		cap      string   // the metric's label for the refusal
	}{
		{"per address", 0, 2, []string{"127.0.0.5", "127.0.0.5"}, "127.0.0.5", "127.0.0.6", "address"},
		{"in total", 3, 0, []string{"127.0.0.7", "127.0.0.8", "127.0.0.9"}, "127.0.0.10", "", "total"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// The test client's own connections (root's login) come from 127.0.0.1; the cap in total counts them,
			// so it starts once they are closed.
			ts := startServer(t, func(c *Config) { c.MaxConns, c.MaxConnsPerAddr = tt.max, tt.per })
			http.DefaultClient.CloseIdleConnections()
			ts.waitConns(t, 0)
			var held []net.Conn
			for _, a := range tt.hold {
				held = append(held, dialFrom(t, ts, a))
			}
			ts.waitConns(t, len(tt.hold))
			if c := dialFrom(t, ts, tt.next); !refused(t, c) {
				t.Fatalf("connection from %s past the cap (%d open) was not refused", tt.next, len(tt.hold))
			}
			if tt.served != "" {
				if st, err := healthFrom(t, ts, tt.served); err != nil || st != http.StatusOK {
					t.Fatalf("GET /healthz from %s while %s is at its cap = %d, %v; want 200", tt.served, tt.next, st, err)
				}
			}
			held[0].Close()
			ts.waitConns(t, len(tt.hold)-1)
			if st, err := healthFrom(t, ts, tt.next); err != nil || st != http.StatusOK {
				t.Fatalf("GET /healthz from %s once a connection closed = %d, %v; want 200", tt.next, st, err)
			}
			if !strings.Contains(ts.metrics(t), fmt.Sprintf("runplane_http_connections_refused_total{cap=%q} 1", tt.cap)) {
				t.Errorf("metrics do not count the refused connection:\n%s", ts.metrics(t))
			}
		})
	}
}

// waitConns waits until the server holds n connections.
func (ts *testServer) waitConns(t *testing.T, n int) {
	t.Helper()
	l := ts.ln.(*connLimiter)
	deadline := time.Now().Add(10 * time.Second)
	for {
		l.mu.Lock()
		open := l.open
		l.mu.Unlock()
		if open == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server holds %d connections, want %d", open, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// metrics is the server's /metrics page, fetched on a connection of its own that ends with the request.
func (ts *testServer) metrics(t *testing.T) string {
	t.Helper()
	c := dialFrom(t, ts, "127.0.0.1")
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET /metrics HTTP/1.1\r\nHost: runplane\r\nConnection: close\r\n\r\n")
	b, _ := io.ReadAll(c)
	return string(b)
}

// TestSlowBodyCutOff: a client that sends its headers and then stalls in its body is answered 408 and cut off
// once the body timeout passes, and the server answers others meanwhile.
func TestSlowBodyCutOff(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *Config) { c.BodyTimeout = time.Second })
	const slow = 20
	conns := make([]net.Conn, slow)
	for i := range conns {
		conns[i] = dialFrom(t, ts, "127.0.0.11")
		fmt.Fprintf(conns[i], "POST /api/v1/login HTTP/1.1\r\nHost: runplane\r\nContent-Type: application/json\r\n"+
			"Content-Length: 1000\r\n\r\n{\"username\":")
	}
	if st, err := healthFrom(t, ts, "127.0.0.12"); err != nil || st != http.StatusOK {
		t.Fatalf("GET /healthz while %d bodies stall = %d, %v; want 200", slow, st, err)
	}
	start := time.Now()
	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("stalled body %d: no answer within 10s: %v", i, err)
		}
		_, _ = io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusRequestTimeout {
			t.Errorf("stalled body %d = %d, want 408", i, res.StatusCode)
		}
		if rest, err := io.ReadAll(br); err != nil || len(rest) > 0 {
			t.Errorf("stalled body %d: connection not closed after the answer (%v, then %q)", i, err, rest)
		}
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("stalled bodies were cut off after %v, want about 1s", d)
	}
	if st, err := healthFrom(t, ts, "127.0.0.11"); err != nil || st != http.StatusOK {
		t.Fatalf("GET /healthz after the cut = %d, %v; want 200", st, err)
	}
}

// TestBodyTimeoutSparesLongRequests: the body deadline ends with the body; a synchronous run that waits longer
// than the body timeout still gets its answer.
func TestBodyTimeoutSparesLongRequests(t *testing.T) {
	t.Parallel()
	ts := startServer(t, func(c *Config) { c.BodyTimeout = time.Second })
	ts.withRepo(t)
	ts.createTask(t, api.Task{Name: "nap", Runner: "repo", Command: "sleep 3; echo rested"})
	var j struct {
		Status string `json:"status"`
		Stdout string `json:"stdout"`
	}
	ts.do(t, req{method: "POST", path: "/api/v1/jobs/nap?wait=60s", body: `{"x":1}`}).want(t, http.StatusOK).decode(t, &j)
	if j.Status != "succeeded" || !strings.Contains(j.Stdout, "rested") {
		t.Errorf("synchronous run past the body timeout = %+v, want it succeeded with its output", j)
	}
}
