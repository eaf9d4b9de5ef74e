package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/runplane/runplane/client"
)

// logTailLines is how much of a failed job's log run and wait print.
const logTailLines = 20

// logTailBytes bounds what is read of a log's end for a tail, however long its lines.
const logTailBytes = 64 << 10

// printLogTail prints the last lines of job id's log on stderr, so that a failed job says why without another
// command. It is best effort: a log that cannot be read is mentioned, not an error.
func (a *app) printLogTail(ctx context.Context, c *client.Client, id string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rc, err := c.Log(ctx, id, false)
	if err != nil {
		fmt.Fprintf(a.stderr, "(its log could not be read: %v)\n", err)
		return
	}
	defer rc.Close()
	tail, cut, err := lastLines(rc, logTailLines, logTailBytes)
	if err != nil {
		fmt.Fprintf(a.stderr, "(its log could not be read: %v)\n", err)
		return
	}
	if len(tail) == 0 {
		fmt.Fprintln(a.stderr, "(its log is empty)")
		return
	}
	if cut {
		fmt.Fprintf(a.stderr, "--- the end of its log (runplane logs %s shows all of it) ---\n", id)
	} else {
		fmt.Fprintln(a.stderr, "--- its log ---")
	}
	a.stderr.Write(tail)
	if tail[len(tail)-1] != '\n' {
		fmt.Fprintln(a.stderr)
	}
}

// lastLines reads r to its end and returns its last n lines, at most max bytes of them, and whether anything
// before them was left out.
func lastLines(r io.Reader, n, max int) (tail []byte, cut bool, err error) {
	ring := make([]byte, 0, 2*max)
	var dropped bool
	buf := make([]byte, 32<<10)
	for {
		k, rerr := r.Read(buf)
		ring = append(ring, buf[:k]...)
		if len(ring) > max {
			ring = append(ring[:0], ring[len(ring)-max:]...)
			dropped = true
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return nil, false, rerr
		}
	}
	end := len(ring)
	if end > 0 && ring[end-1] == '\n' {
		end-- // a final newline does not start another line
	}
	start, lines := 0, 0
	for i := end - 1; i >= 0; i-- {
		if ring[i] == '\n' {
			if lines++; lines == n {
				start = i + 1
				break
			}
		}
	}
	if start == 0 && dropped {
		// The first line kept may be a part of one: start at the next whole line if there is one.
		if i := bytes.IndexByte(ring[:end], '\n'); i >= 0 {
			start = i + 1
		}
	}
	return ring[start:], dropped || start > 0, nil
}
