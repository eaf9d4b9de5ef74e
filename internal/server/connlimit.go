package server

import (
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// connLimiter caps the connections the HTTP server holds open: in all, and per client IP address. A connection
// past either cap is answered 503 at once and closed, so it costs a file descriptor for a moment, not for as long
// as its client likes; the listener goes on accepting. Without the caps, clients that open connections and send
// nothing (or a body a byte a minute) exhaust the process's file descriptors and nobody is answered.
type connLimiter struct {
	net.Listener
	max, perAddr int
	refused      *prometheus.CounterVec
	// silent closes refused connections without an answer: under TLS, a plain-text 503 would be garbage to the
	// client, which sees the connection closed during its handshake instead.
	silent bool

	mu     sync.Mutex
	open   int
	byAddr map[string]int
}

// limitConns wraps ln; max or perAddr <= 0 leaves that cap off. refused may be nil.
func limitConns(ln net.Listener, max, perAddr int, refused *prometheus.CounterVec) *connLimiter {
	return &connLimiter{Listener: ln, max: max, perAddr: perAddr, refused: refused, byAddr: map[string]int{}}
}

// overCapResponse is written to a connection refused for a cap. The request is never read.
var overCapResponse = func() []byte {
	body := `{"error":"too many connections: retry shortly"}` + "\n"
	return fmt.Appendf(nil, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"+
		"Connection: close\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
}()

// Accept returns the next connection within the caps, refusing (and closing) those past them.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := hostOf(c.RemoteAddr())
		if reason := l.take(addr); reason != "" {
			if l.refused != nil {
				l.refused.WithLabelValues(reason).Inc()
			}
			if !l.silent {
				_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
				_, _ = c.Write(overCapResponse)
			}
			_ = c.Close()
			continue
		}
		return &limitedConn{Conn: c, release: func() { l.release(addr) }}, nil
	}
}

// take counts a new connection from addr, or says which cap it is past ("total" or "address").
func (l *connLimiter) take(addr string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.max > 0 && l.open >= l.max {
		return "total"
	}
	if l.perAddr > 0 && l.byAddr[addr] >= l.perAddr {
		return "address"
	}
	l.open++
	l.byAddr[addr]++
	return ""
}

func (l *connLimiter) release(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.byAddr[addr]--; l.byAddr[addr] <= 0 {
		delete(l.byAddr, addr)
	}
}

// hostOf is the IP address of a connection's remote end (the whole address if it has no port).
func hostOf(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// limitedConn gives its place back when closed (once, however often Close is called).
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
