//go:build unix

package pid1

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// TestDrainAfterDeadline: a reader whose deadline passed before it read (a busy machine held it up) gets nothing,
// and drain still copies all that is in the pipe, without waiting for the writer that holds it open.
func TestDrainAfterDeadline(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close() // held open: a background process of the command
	want := strings.Repeat("output still in the pipe\n", 1000)
	go func() { _, _ = w.WriteString(want) }() // more than a pipe holds: the writer blocks until drained
	time.Sleep(50 * time.Millisecond)
	var out bytes.Buffer
	c := &outputCopier{dst: &out, src: r, buf: make([]byte, 4096)}
	_ = r.SetReadDeadline(time.Now().Add(-time.Second))
	c.copy()
	if c.n != 0 {
		t.Fatalf("a read past its deadline copied %d bytes; this test needs it to copy nothing", c.n)
	}
	done := make(chan struct{})
	go func() {
		for c.n < int64(len(want)) { // the writer refills the pipe as drain empties it
			c.drain()
			time.Sleep(time.Millisecond)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("drain copied %d of %d bytes", c.n, len(want))
	}
	if out.String() != want || c.n != int64(len(want)) {
		t.Errorf("drained %d bytes (counted %d), want %d", out.Len(), c.n, len(want))
	}
	c.drain() // an empty pipe: returns at once
}

// TestDrainBounded: a writer that refills the pipe as fast as drain empties it does not keep drain going.
func TestDrainBounded(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	stop := make(chan struct{})
	writing := make(chan struct{})
	go func() {
		defer close(writing)
		chunk := bytes.Repeat([]byte("y\n"), 2048)
		for {
			select {
			case <-stop:
				w.Close()
				return
			default:
				_, _ = w.Write(chunk)
			}
		}
	}()
	defer func() {
		close(stop)
		go func() { _, _ = io.Copy(io.Discard, r) }() // unblock the writer's last write
		<-writing
	}()
	time.Sleep(20 * time.Millisecond)
	c := &outputCopier{dst: io.Discard, src: r, buf: make([]byte, 4096)}
	done := make(chan struct{})
	go func() {
		c.drain()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("drain did not return while a writer kept the pipe full")
	}
	if c.n < 1 || c.n > maxDrain+int64(len(c.buf)) {
		t.Errorf("drain copied %d bytes; want some, at most %d", c.n, maxDrain+len(c.buf))
	}
}

// TestCountCRLF: the "\r\n" line ends are counted, also when one is split between two writes, since the CRI
// logger drops their "\r" from the log.
func TestCountCRLF(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   int64
	}{
		{"none", []string{"a\nb\n"}, 0},
		{"two", []string{"a\r\nb\r\n"}, 2},
		{"a lone CR", []string{"progress 1\rprogress 2\r", "x"}, 0},
		{"split between writes", []string{"a\r", "\nb"}, 1},
		{"split, then an empty write", []string{"a\r", "", "\n"}, 1},
		{"CR CR LF", []string{"a\r\r\n"}, 1},
		{"LF first, no CR before", []string{"a", "\n"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			c := &outputCopier{dst: &out}
			for _, w := range tt.writes {
				c.write([]byte(w))
			}
			if c.crlf != tt.want || c.n != int64(out.Len()) {
				t.Errorf("writes %q: crlf %d, n %d; want %d, %d", tt.writes, c.crlf, c.n, tt.want, out.Len())
			}
		})
	}
}
