// Package joblog keeps each job's combined stdout/stderr so logs outlive the process (or pod) that wrote them.
//
// A live log starts in memory and spills to a file in the data dir once it grows past Options.SpillBytes or lives
// longer than Options.SpillAfter. Short jobs — most of them — never touch the filesystem here: the engine stores
// their whole output with the job (Job.Stdout), so reading a log falls back to that when there is no file. This
// keeps file creation, which costs up to a millisecond on some filesystems, off the hot path of small jobs.
//
// Readers see live logs as they grow (Follow) and prune old log files by retention. This package never parses or
// changes what a job wrote.
package joblog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// ErrNotFound: the job has no log here.
var ErrNotFound = errors.New("joblog: not found")

// Options tune a Store. The zero value works.
type Options struct {
	// SpillBytes: a live log longer than this is written to its file; 0 means 256 KiB.
	SpillBytes int
	// SpillAfter: a live log older than this is written to its file, so a long job's output survives a crash;
	// 0 means 2s.
	SpillAfter time.Duration
	// MaxBytes caps each job's log: output past it is dropped (the job goes on running), the log says where it was
	// cut, and Writer.End adds how much was dropped. 0 means no cap.
	MaxBytes int64
	// PollInterval is how often a follower of a log file looks for new output; 0 means 100ms. Followers of live
	// logs are woken by writes instead.
	PollInterval time.Duration
	// PruneAlso, when set, is called by every Prune with its cutoff: what else a job leaves that lives as long as
	// its log (the files it kept). It returns how many jobs' it removed.
	PruneAlso func(cutoff time.Time) (int, error)
}

// Store is the job logs: live ones in memory, the rest as files in one directory, one per job id.
type Store struct {
	dir  string
	opts Options

	mu   sync.Mutex
	live map[string]*Writer
}

// Open makes (0700) and returns the log directory dir.
func Open(dir string, opts Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("joblog: %w", err)
	}
	if opts.SpillBytes <= 0 {
		opts.SpillBytes = 256 << 10
	}
	if opts.SpillAfter <= 0 {
		opts.SpillAfter = 2 * time.Second
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 100 * time.Millisecond
	}
	return &Store{dir: dir, opts: opts, live: make(map[string]*Writer)}, nil
}

func (s *Store) path(id string) (string, error) {
	if id == "" || len(id) > 128 || id[0] == '.' {
		return "", fmt.Errorf("joblog: invalid job id %q", id)
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return "", fmt.Errorf("joblog: invalid job id %q", id)
		}
	}
	return filepath.Join(s.dir, id+".log"), nil
}

// Create starts the live log of job id. If the job already has a log file (a job re-attached after a restart),
// the new output is appended to it. The caller must Release the writer once the job's output is stored.
func (s *Store) Create(id string) (*Writer, error) {
	p, err := s.path(id)
	if err != nil {
		return nil, err
	}
	w := &Writer{s: s, id: id, path: p, wake: make(chan struct{})}
	if info, err := os.Stat(p); err == nil {
		w.size = info.Size()
		if max := s.opts.MaxBytes; max > 0 && w.size >= max {
			// Cut by an earlier process: the rest of the output is dropped too, without a second mark.
			w.cutAt = max
		}
		if err := w.spillLocked(); err != nil {
			return nil, err
		}
	}
	w.timer = time.AfterFunc(s.opts.SpillAfter, func() { w.Spill() }) // a failure is kept for Err
	s.mu.Lock()
	s.live[id] = w
	s.mu.Unlock()
	return w, nil
}

func (s *Store) writer(id string) *Writer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live[id]
}

// Open returns the job's log from its start as it is now; ErrNotFound if there is neither a live log nor a file.
func (s *Store) Open(id string) (io.ReadCloser, error) {
	if w := s.writer(id); w != nil {
		return io.NopCloser(io.NewSectionReader(w, 0, w.Size())), nil
	}
	p, err := s.path(id)
	if err != nil {
		return nil, ErrNotFound
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("joblog: open: %w", err)
	}
	return f, nil
}

// ReadAll returns up to max bytes of the job's log from its start, and whether it was cut. A missing log reads
// as empty.
func (s *Store) ReadAll(id string, max int64) ([]byte, bool, error) {
	rc, err := s.Open(id)
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return nil, false, fmt.Errorf("joblog: read: %w", err)
	}
	if int64(len(b)) > max {
		return b[:max], true, nil
	}
	return b, false, nil
}

// Follow returns a reader of the job's log that, at its end, waits for more output until done is closed, then
// reads what is left and returns io.EOF. It ends early when ctx ends. A log that does not exist yet (a queued job)
// reads as empty until it appears.
func (s *Store) Follow(ctx context.Context, id string, done <-chan struct{}) (io.ReadCloser, error) {
	p, err := s.path(id)
	if err != nil {
		return nil, ErrNotFound
	}
	return &follower{s: s, ctx: ctx, id: id, path: p, done: done}, nil
}

type follower struct {
	s        *Store
	ctx      context.Context
	id, path string
	done     <-chan struct{}
	off      int64
	w        *Writer  // the live log, once seen; kept after it is released
	f        *os.File // the log file, when there is no live log
	finished bool     // done was closed: drain, then EOF
}

func (r *follower) Read(p []byte) (int, error) {
	for {
		if r.w == nil {
			r.w = r.s.writer(r.id)
		}
		var wake <-chan struct{}
		var n int
		var err error
		switch {
		case r.w != nil:
			wake = r.w.changed()
			n, err = r.w.ReadAt(p, r.off)
		default:
			if r.f == nil {
				if r.f, err = os.Open(r.path); errors.Is(err, fs.ErrNotExist) {
					r.f, err = nil, nil
				}
			}
			if r.f != nil {
				n, err = r.f.ReadAt(p, r.off)
			}
		}
		r.off += int64(n)
		if n > 0 {
			return n, nil
		}
		if err != nil && err != io.EOF {
			return 0, err
		}
		if r.finished {
			return 0, io.EOF
		}
		t := time.NewTimer(r.s.opts.PollInterval)
		select {
		case <-r.ctx.Done():
			t.Stop()
			return 0, r.ctx.Err()
		case <-r.done:
			r.finished = true
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

func (r *follower) Close() error {
	if r.f != nil {
		return r.f.Close()
	}
	return nil
}

// Remove deletes job id's log file, so that a new Create starts it over. It is not an error if there is none;
// a live log (one being written) is not removed.
func (s *Store) Remove(id string) error {
	p, err := s.path(id)
	if err != nil {
		return err
	}
	if s.writer(id) != nil {
		return fmt.Errorf("joblog: remove %s: the log is being written", id)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("joblog: remove: %w", err)
	}
	return nil
}

// Prune removes log files last written before cutoff, and what Options.PruneAlso prunes, and returns how many it
// removed. Live logs are kept.
func (s *Store) Prune(cutoff time.Time) (int, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return 0, fmt.Errorf("joblog: prune: %w", err)
	}
	n := 0
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || filepath.Ext(name) != ".log" || s.writer(name[:len(name)-len(".log")]) != nil {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.ModTime().Before(cutoff) {
			continue
		}
		if os.Remove(filepath.Join(s.dir, name)) == nil {
			n++
		}
	}
	if s.opts.PruneAlso != nil {
		m, err := s.opts.PruneAlso(cutoff)
		if err != nil {
			return n, err
		}
		n += m
	}
	return n, nil
}

// RunRetention prunes logs older than keep every interval until ctx ends. keep <= 0 keeps logs forever.
// A failed pass is logged and tried again at the next interval: retention never stops the server.
func (s *Store) RunRetention(ctx context.Context, keep, interval time.Duration, now func() time.Time, log *slog.Logger) error {
	if keep <= 0 {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.Prune(now().Add(-keep)); err != nil {
			log.Warn("prune job logs", "err", err)
		} else if n > 0 {
			log.Info("pruned job logs", "count", n, "older_than", keep)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
