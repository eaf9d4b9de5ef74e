// Package joblog keeps each job's combined stdout/stderr as a file in the data dir, so logs outlive the
// process (or pod) that wrote them. It tails files for live followers and prunes old logs by retention.
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
	"time"
)

// ErrNotFound: the job has no log.
var ErrNotFound = errors.New("joblog: not found")

// Store is a directory of log files, one per job id.
type Store struct {
	dir string
	// PollInterval is how often a follower looks for new output when it reached the end; default 100ms.
	PollInterval time.Duration
}

// Open makes (0700) and returns the log directory dir.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("joblog: %w", err)
	}
	return &Store{dir: dir, PollInterval: 100 * time.Millisecond}, nil
}

func (s *Store) path(id string) (string, error) {
	if id == "" || len(id) > 128 {
		return "", fmt.Errorf("joblog: invalid job id")
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') || (c == '.' && id[0] == '.') {
			return "", fmt.Errorf("joblog: invalid job id %q", id)
		}
	}
	return filepath.Join(s.dir, id+".log"), nil
}

// Create opens the job's log for appending, creating it (0600) if needed.
func (s *Store) Create(id string) (*os.File, error) {
	p, err := s.path(id)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("joblog: create: %w", err)
	}
	return f, nil
}

// Open returns the job's log for reading; ErrNotFound if there is none.
func (s *Store) Open(id string) (*os.File, error) {
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
	f, err := s.Open(id)
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, false, fmt.Errorf("joblog: read: %w", err)
	}
	if int64(len(b)) > max {
		return b[:max], true, nil
	}
	return b, false, nil
}

// Follow returns a reader of the job's log that, at the end of the file, waits for more output until done is
// closed, then reads what is left and returns io.EOF. It ends early when ctx ends. A log that does not exist yet
// reads as empty until it appears.
func (s *Store) Follow(ctx context.Context, id string, done <-chan struct{}) (io.ReadCloser, error) {
	p, err := s.path(id)
	if err != nil {
		return nil, ErrNotFound
	}
	return &follower{ctx: ctx, path: p, done: done, poll: s.PollInterval}, nil
}

type follower struct {
	ctx      context.Context
	path     string
	f        *os.File
	done     <-chan struct{}
	poll     time.Duration
	finished bool // done was closed; drain to EOF then stop
}

func (r *follower) Read(p []byte) (int, error) {
	for {
		if r.f == nil {
			f, err := os.Open(r.path)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return 0, err
			}
			r.f = f
		}
		if r.f != nil {
			n, err := r.f.Read(p)
			if n > 0 {
				return n, nil
			}
			if err != nil && err != io.EOF {
				return 0, err
			}
		}
		if r.finished {
			return 0, io.EOF
		}
		t := time.NewTimer(r.poll)
		select {
		case <-r.ctx.Done():
			t.Stop()
			return 0, r.ctx.Err()
		case <-r.done:
			t.Stop()
			r.finished = true
		case <-t.C:
		}
	}
}

func (r *follower) Close() error {
	if r.f != nil {
		return r.f.Close()
	}
	return nil
}

// Prune removes logs last written before cutoff and returns how many it removed.
func (s *Store) Prune(cutoff time.Time) (int, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return 0, fmt.Errorf("joblog: prune: %w", err)
	}
	n := 0
	for _, e := range entries {
		if e.IsDir() || filepath.Ext(e.Name()) != ".log" {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.ModTime().Before(cutoff) {
			continue
		}
		if os.Remove(filepath.Join(s.dir, e.Name())) == nil {
			n++
		}
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
