package joblog

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func open(t *testing.T, opts Options) *Store {
	t.Helper()
	if opts.PollInterval == 0 {
		opts.PollInterval = time.Millisecond
	}
	if opts.SpillAfter == 0 {
		opts.SpillAfter = time.Hour
	}
	s, err := Open(filepath.Join(t.TempDir(), "logs"), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func fileExists(s *Store, id string) bool {
	_, err := os.Stat(filepath.Join(s.dir, id+".log"))
	return err == nil
}

func TestSmallLogStaysInMemory(t *testing.T) {
	s := open(t, Options{})
	w, err := s.Create("job-small")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("hello "))
	w.Write([]byte("world\n"))
	got, cut, err := s.ReadAll("job-small", 100)
	if err != nil || string(got) != "hello world\n" || cut {
		t.Errorf("ReadAll(live) = %q, %v, %v; want %q", got, cut, err, "hello world\n")
	}
	if fileExists(s, "job-small") || w.Spilled() {
		t.Errorf("a small live log was written to a file")
	}
	if err := w.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open("job-small"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open(released in-memory log) = %v, want ErrNotFound (the job's stdout has it)", err)
	}
}

func TestSpillBySize(t *testing.T) {
	s := open(t, Options{SpillBytes: 10})
	w, err := s.Create("job-big")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("0123456789"))
	if w.Spilled() {
		t.Fatalf("spilled at exactly SpillBytes")
	}
	w.Write([]byte("abc"))
	w.Write([]byte("def"))
	if !w.Spilled() || !fileExists(s, "job-big") {
		t.Fatalf("log over SpillBytes was not written to its file")
	}
	w.Release()
	tests := []struct {
		name    string
		max     int64
		want    string
		wantCut bool
	}{
		{"all", 100, "0123456789abcdef", false},
		{"exact", 16, "0123456789abcdef", false},
		{"cut", 5, "01234", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, cut, err := s.ReadAll("job-big", tc.max)
			if err != nil || string(got) != tc.want || cut != tc.wantCut {
				t.Errorf("ReadAll(%d) = %q, %v, %v; want %q, %v", tc.max, got, cut, err, tc.want, tc.wantCut)
			}
		})
	}
	info, err := os.Stat(filepath.Join(s.dir, "job-big.log"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("log file mode = %v, %v; want 0600", info.Mode().Perm(), err)
	}
}

func TestSpillByAge(t *testing.T) {
	s := open(t, Options{SpillAfter: time.Millisecond})
	w, err := s.Create("job-long")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Release()
	w.Write([]byte("still running\n"))
	deadline := time.Now().Add(5 * time.Second)
	for !w.Spilled() {
		if time.Now().After(deadline) {
			t.Fatal("a long-lived log was never written to its file")
		}
		time.Sleep(time.Millisecond)
	}
	w.Write([]byte("more\n"))
	b, err := os.ReadFile(filepath.Join(s.dir, "job-long.log"))
	if err != nil || string(b) != "still running\nmore\n" {
		t.Errorf("log file = %q, %v", b, err)
	}
}

func TestCreateAppendsToExistingFile(t *testing.T) {
	s := open(t, Options{})
	if err := os.WriteFile(filepath.Join(s.dir, "job-again.log"), []byte("before restart\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := s.Create("job-again")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("after\n"))
	w.Release()
	got, _, err := s.ReadAll("job-again", 100)
	if err != nil || string(got) != "before restart\nafter\n" {
		t.Errorf("ReadAll = %q, %v", got, err)
	}
}

func TestMissingAndInvalidIDs(t *testing.T) {
	s := open(t, Options{})
	if _, err := s.Open("nope-12345"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open(missing) = %v, want ErrNotFound", err)
	}
	if b, cut, err := s.ReadAll("nope-12345", 10); err != nil || len(b) != 0 || cut {
		t.Errorf("ReadAll(missing) = %q, %v, %v; want empty", b, cut, err)
	}
	for _, id := range []string{"", "../etc/passwd", "a/b", ".hidden", "UPPER", strings.Repeat("a", 200)} {
		if _, err := s.Create(id); err == nil {
			t.Errorf("Create(%q) succeeded, want an error", id)
		}
		if _, err := s.Open(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Open(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

func TestFollowLiveLog(t *testing.T) {
	for _, spill := range []int{0, 4} {
		t.Run(map[int]string{0: "in memory", 4: "spilled"}[spill], func(t *testing.T) {
			s := open(t, Options{SpillBytes: spill, PollInterval: time.Hour}) // live followers are woken by writes
			done := make(chan struct{})
			r, err := s.Follow(t.Context(), "job-follow", done) // before the log exists
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			w, err := s.Create("job-follow")
			if err != nil {
				t.Fatal(err)
			}
			w.Write([]byte("first\n"))
			buf := make([]byte, 64)
			n, err := r.Read(buf)
			if err != nil || string(buf[:n]) != "first\n" {
				t.Fatalf("Read = %q, %v; want %q", buf[:n], err, "first\n")
			}
			got := make(chan string)
			go func() {
				rest, _ := io.ReadAll(r)
				got <- string(rest)
			}()
			w.Write([]byte("last\n"))
			w.Release()
			close(done)
			if rest := <-got; rest != "last\n" {
				t.Errorf("rest = %q, want %q", rest, "last\n")
			}
		})
	}
}

func TestFollowFile(t *testing.T) {
	s := open(t, Options{})
	if err := os.WriteFile(filepath.Join(s.dir, "job-file.log"), []byte("kept\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	close(done)
	r, err := s.Follow(t.Context(), "job-file", done)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if b, err := io.ReadAll(r); err != nil || string(b) != "kept\n" {
		t.Errorf("ReadAll = %q, %v", b, err)
	}
}

func TestFollowEndsWithContext(t *testing.T) {
	s := open(t, Options{})
	ctx, cancel := context.WithCancel(t.Context())
	r, err := s.Follow(ctx, "job-ctx", make(chan struct{}))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cancel()
	if _, err := io.ReadAll(r); !errors.Is(err, context.Canceled) {
		t.Errorf("ReadAll after cancel = %v, want context.Canceled", err)
	}
}

func TestPrune(t *testing.T) {
	s := open(t, Options{})
	now := time.Now()
	live, err := s.Create("live-ddddd")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Release()
	live.Spill()
	for id, age := range map[string]time.Duration{"old-aaaaa": 48 * time.Hour, "new-bbbbb": time.Minute, "live-ddddd": 48 * time.Hour} {
		p := filepath.Join(s.dir, id+".log")
		if id != "live-ddddd" {
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.Prune(now.Add(-24 * time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("Prune = %d, %v; want 1", n, err)
	}
	if fileExists(s, "old-aaaaa") || !fileExists(s, "new-bbbbb") || !fileExists(s, "live-ddddd") {
		t.Errorf("Prune removed the wrong logs")
	}
}

func TestRunRetention(t *testing.T) {
	s := open(t, Options{})
	if err := os.WriteFile(filepath.Join(s.dir, "old-ccccc.log"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	later := func() time.Time { return time.Now().Add(48 * time.Hour) }
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.RunRetention(ctx, 24*time.Hour, time.Hour, later, slog.New(slog.DiscardHandler)) }()
	deadline := time.Now().Add(5 * time.Second)
	for fileExists(s, "old-ccccc") {
		if time.Now().After(deadline) {
			t.Fatal("RunRetention did not prune an expired log")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("RunRetention = %v, want nil after cancel", err)
	}
}

func TestSpillFailureKeepsLogInMemory(t *testing.T) {
	s := open(t, Options{SpillBytes: 4})
	if err := os.RemoveAll(s.dir); err != nil { // nowhere to spill to
		t.Fatal(err)
	}
	w, err := s.Create("job-nodisk")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Release()
	w.Write([]byte("more than four bytes"))
	if w.Err() == nil || w.Spilled() {
		t.Fatalf("Err() = %v, Spilled() = %v; want a spill error and the log in memory", w.Err(), w.Spilled())
	}
	if got, _, err := s.ReadAll("job-nodisk", 100); err != nil || string(got) != "more than four bytes" {
		t.Errorf("ReadAll = %q, %v; want the whole log from memory", got, err)
	}
}

func TestRemove(t *testing.T) {
	s := open(t, Options{SpillBytes: 1})
	w, err := s.Create("job-1")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("first attempt's output\n"))
	if err := s.Remove("job-1"); err == nil {
		t.Error("Remove of a log being written = nil, want an error")
	}
	w.Release()
	if err := s.Remove("job-1"); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if fileExists(s, "job-1") {
		t.Error("the log file is still there")
	}
	if err := s.Remove("job-1"); err != nil {
		t.Errorf("Remove of a missing log = %v, want nil", err)
	}
	if err := s.Remove("../etc"); err == nil {
		t.Error("Remove of an invalid id = nil, want an error")
	}
	w, _ = s.Create("job-1")
	w.Write([]byte("again\n"))
	w.Release()
	if b, _, _ := s.ReadAll("job-1", 1<<20); string(b) != "again\n" {
		t.Errorf("log after Remove and Create = %q, want only the new output", b)
	}
}
