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
}

// Write appends p to the log.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	defer w.notifyLocked()
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
