package joblog

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "logs"))
	if err != nil {
		t.Fatal(err)
	}
	s.PollInterval = time.Millisecond
	return s
}

func TestCreateAppendsAndReadAllBounds(t *testing.T) {
	s := open(t)
	for _, chunk := range []string{"hello ", "world\n"} {
		f, err := s.Create("job-abcde")
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(chunk)
		f.Close()
	}
	tests := []struct {
		name    string
		max     int64
		want    string
		wantCut bool
	}{
		{"all", 100, "hello world\n", false},
		{"exact", 12, "hello world\n", false},
		{"cut", 5, "hello", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, cut, err := s.ReadAll("job-abcde", tc.max)
			if err != nil || string(got) != tc.want || cut != tc.wantCut {
				t.Errorf("ReadAll(%d) = %q, %v, %v; want %q, %v", tc.max, got, cut, err, tc.want, tc.wantCut)
			}
		})
	}
	info, err := os.Stat(filepath.Join(s.dir, "job-abcde.log"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("log file mode = %v, %v; want 0600", info.Mode().Perm(), err)
	}
}

func TestMissingAndInvalidIDs(t *testing.T) {
	s := open(t)
	if _, err := s.Open("nope-12345"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open(missing) = %v, want ErrNotFound", err)
	}
	if b, cut, err := s.ReadAll("nope-12345", 10); err != nil || len(b) != 0 || cut {
		t.Errorf("ReadAll(missing) = %q, %v, %v; want empty", b, cut, err)
	}
	for _, id := range []string{"", "../etc/passwd", "a/b", ".hidden", "UPPER", string(make([]byte, 200))} {
		if _, err := s.Create(id); err == nil {
			t.Errorf("Create(%q) succeeded, want an error", id)
		}
		if _, err := s.Open(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Open(%q) = %v, want ErrNotFound", id, err)
		}
	}
}

func TestFollowStreamsUntilDone(t *testing.T) {
	s := open(t)
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
	w.WriteString("first\n")
	buf := make([]byte, 64)
	n, err := r.Read(buf)
	if err != nil || string(buf[:n]) != "first\n" {
		t.Fatalf("Read = %q, %v; want %q", buf[:n], err, "first\n")
	}
	w.WriteString("last\n")
	w.Close()
	close(done)
	rest, err := io.ReadAll(r)
	if err != nil || string(rest) != "last\n" {
		t.Errorf("rest = %q, %v; want %q", rest, err, "last\n")
	}
}

func TestFollowEndsWithContext(t *testing.T) {
	s := open(t)
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
	s := open(t)
	now := time.Now()
	for id, age := range map[string]time.Duration{"old-aaaaa": 48 * time.Hour, "new-bbbbb": time.Minute} {
		f, err := s.Create(id)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		p := filepath.Join(s.dir, id+".log")
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.Prune(now.Add(-24 * time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("Prune = %d, %v; want 1", n, err)
	}
	if _, err := s.Open("old-aaaaa"); !errors.Is(err, ErrNotFound) {
		t.Errorf("old log survived Prune")
	}
	if _, err := s.Open("new-bbbbb"); err != nil {
		t.Errorf("new log pruned: %v", err)
	}
}

func TestRunRetention(t *testing.T) {
	s := open(t)
	f, err := s.Create("old-ccccc")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	later := func() time.Time { return time.Now().Add(48 * time.Hour) }
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.RunRetention(ctx, 24*time.Hour, time.Hour, later, slog.New(slog.DiscardHandler)) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := s.Open("old-ccccc"); errors.Is(err, ErrNotFound) {
			break
		}
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
