package joblog

import (
	"fmt"
	"io"
	"os"
	"sync"
)

// Writer is one job's live log. It is safe for concurrent use: the job writes while followers read.
type Writer struct {
	s        *Store
	id, path string
	timer    interface{ Stop() bool }

	mu       sync.Mutex
	mem      []byte   // the log while it is in memory
	f        *os.File // the log file once spilled
	size     int64
	err      error         // a failed spill: writes keep going to memory
	wake     chan struct{} // closed and replaced on every write
	released bool
	// Options.MaxBytes: cutAt is where the log was cut (0: it was not), dropped how much output went since.
	cutAt, dropped int64
	endsLine       bool // the last byte kept is a newline
	ended          bool
}

// Write appends p to the log. Past Options.MaxBytes, it drops p but reports it written, so that the job goes on.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cutAt > 0 || w.ended {
		w.dropped += int64(len(p))
		return len(p), nil
	}
	defer w.notifyLocked()
	max := w.s.opts.MaxBytes
	if max <= 0 || w.size+int64(len(p)) <= max {
		return w.appendLocked(p)
	}
	keep := max - w.size
	if _, err := w.appendLocked(p[:keep]); err != nil {
		return int(keep), err
	}
	w.cutAt, w.dropped = max, int64(len(p))-keep
	mark := fmt.Sprintf("runplane: the log is cut here, at %d bytes (the server's max log size); the job goes on, its further output is dropped\n", max)
	if !w.endsLine {
		mark = "\n" + mark
	}
	if _, err := w.appendLocked([]byte(mark)); err != nil {
		return int(keep), err
	}
	return len(p), nil
}

// End marks the end of the job's output: later writes are dropped, and a log that was cut ends with a line saying
// how much was dropped. It returns where the log was cut (0 if it was not) and how many bytes were dropped.
func (w *Writer) End() (cutAt, dropped int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended || w.cutAt == 0 {
		w.ended = true
		return w.cutAt, w.dropped
	}
	w.ended = true
	defer w.notifyLocked()
	// A failure is kept for Err, as for any write.
	_, _ = w.appendLocked(fmt.Appendf(nil, "runplane: %d bytes of output were dropped after the cut at %d bytes\n", w.dropped, w.cutAt))
	return w.cutAt, w.dropped
}

// appendLocked writes p at the end of the log, in memory or in its file.
func (w *Writer) appendLocked(p []byte) (int, error) {
	if len(p) > 0 {
		w.endsLine = p[len(p)-1] == '\n'
	}
	if w.f != nil {
		n, err := w.f.Write(p)
		w.size += int64(n)
		if err != nil {
			return n, fmt.Errorf("joblog: write: %w", err)
		}
		return n, nil
	}
	w.mem = append(w.mem, p...)
	w.size += int64(len(p))
	if len(w.mem) > w.s.opts.SpillBytes && w.err == nil {
		if err := w.spillLocked(); err != nil {
			w.err = err
		}
	}
	return len(p), nil
}

func (w *Writer) notifyLocked() {
	close(w.wake)
	w.wake = make(chan struct{})
}

// changed returns a channel closed at the next write.
func (w *Writer) changed() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.wake
}

// Size is the number of bytes written so far.
func (w *Writer) Size() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.size
}

// ReadAt reads the log at off, from memory or from its file.
func (w *Writer) ReadAt(p []byte, off int64) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		if off >= int64(len(w.mem)) {
			return 0, io.EOF
		}
		n := copy(p, w.mem[off:])
		if n < len(p) {
			return n, io.EOF
		}
		return n, nil
	}
	if w.released {
		f, err := os.Open(w.path)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		return f.ReadAt(p, off)
	}
	return w.f.ReadAt(p, off)
}

// Spill writes the log to its file now; later writes go straight to the file.
func (w *Writer) Spill() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil || w.released {
		return nil
	}
	err := w.spillLocked()
	if err != nil && w.err == nil {
		w.err = err
	}
	return err
}

func (w *Writer) spillLocked() error {
	f, err := os.OpenFile(w.path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("joblog: create: %w", err)
	}
	if _, err := f.Write(w.mem); err != nil {
		f.Close()
		return fmt.Errorf("joblog: write: %w", err)
	}
	w.f, w.mem = f, nil
	return nil
}

// Err reports a failed spill (by size, age or Spill), after which the log stayed in memory.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Spilled reports whether the log is in its file.
func (w *Writer) Spilled() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.f != nil
}

// Release ends the live log: call it once the job's output is stored elsewhere (a log still in memory is then
// only in the job's stdout) or spilled. Followers holding the writer can still read it.
func (w *Writer) Release() error {
	w.timer.Stop()
	w.s.mu.Lock()
	if w.s.live[w.id] == w {
		delete(w.s.live, w.id)
	}
	w.s.mu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.released {
		return nil
	}
	w.released = true
	w.notifyLocked()
	if w.f != nil {
		return w.f.Close()
	}
	return nil
}
