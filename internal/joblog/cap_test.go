package joblog

import (
	"fmt"
	"testing"
)

func TestMaxBytes(t *testing.T) {
	const cutMark = "runplane: the log is cut here, at 10 bytes (the server's max log size); the job goes on, its further output is dropped\n"
	tests := []struct {
		name        string
		spill       int // SpillBytes: in memory or in the file
		writes      []string
		want        string
		wantCut     int64
		wantDropped int64
	}{
		{"under the cap", 0, []string{"hello\n"}, "hello\n", 0, 0},
		{"exactly the cap", 0, []string{"0123456789"}, "0123456789", 0, 0},
		{"cut mid-line", 0, []string{"01234", "56789abc", "def\n"}, "0123456789\n" + cutMark +
			"runplane: 7 bytes of output were dropped after the cut at 10 bytes\n", 10, 7},
		{"cut at a line end", 0, []string{"012345678\n", "more\n"}, "012345678\n" + cutMark +
			"runplane: 5 bytes of output were dropped after the cut at 10 bytes\n", 10, 5},
		{"cut in the file", 4, []string{"0123", "456789xyz"}, "0123456789\n" + cutMark +
			"runplane: 3 bytes of output were dropped after the cut at 10 bytes\n", 10, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t, Options{MaxBytes: 10, SpillBytes: tt.spill})
			w, err := s.Create("job")
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range tt.writes {
				if n, err := w.Write([]byte(p)); n != len(p) || err != nil {
					t.Errorf("Write(%q) = %d, %v; want %d, nil: the job must not see its output refused", p, n, err, len(p))
				}
			}
			cut, dropped := w.End()
			if cut != tt.wantCut || dropped != tt.wantDropped {
				t.Errorf("End() = %d, %d; want %d, %d", cut, dropped, tt.wantCut, tt.wantDropped)
			}
			if again, _ := w.End(); again != cut {
				t.Errorf("End() again = %d, want %d", again, cut)
			}
			got, _, err := s.ReadAll("job", 1<<20)
			if err != nil || string(got) != tt.want {
				t.Errorf("log = %q, %v; want %q", got, err, tt.want)
			}
			if w.Size() != int64(len(tt.want)) {
				t.Errorf("Size() = %d, want %d", w.Size(), len(tt.want))
			}
			w.Release()
		})
	}
}

// TestMaxBytesAfterRestart: a job re-attached by a later process whose log already reached the cap keeps it.
func TestMaxBytesAfterRestart(t *testing.T) {
	s := open(t, Options{MaxBytes: 10, SpillBytes: 1})
	w, err := s.Create("job")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(w, "0123456789ab")
	w.Release()
	before, _, _ := s.ReadAll("job", 1<<20)

	w, err = s.Create("job")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(w, "more output")
	if _, dropped := w.End(); dropped != int64(len("more output")) {
		t.Errorf("End() after restart: dropped %d, want %d", dropped, len("more output"))
	}
	w.Release()
	after, _, _ := s.ReadAll("job", 1<<20)
	want := string(before) + "runplane: 11 bytes of output were dropped after the cut at 10 bytes\n"
	if string(after) != want {
		t.Errorf("log after restart = %q, want %q", after, want)
	}
}
