package api

import (
	"strings"
	"testing"
)

func TestValidateNetwork(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"", true}, {"none", true}, {"private", true}, {"host", true},
		{"bridge", false}, {"Host", false}, {"host ", false}, {"container:abc", false}, {"slirp4netns", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			task := Task{Name: "t", Runner: "r", Command: "true", Network: tt.in}
			err := task.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Task{Network: %q}.Validate() = %v, want ok %v", tt.in, err, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "want none, private or host") {
				t.Errorf("Task{Network: %q}.Validate() = %v, want it to list the networks", tt.in, err)
			}
		})
	}
}

func FuzzValidateNetwork(f *testing.F) {
	for _, s := range []string{"", "none", "private", "host", "bridge", "ns:/proc/1/ns/net"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateNetwork(s)
		known := s == "" || s == NetworkNone || s == NetworkPrivate || s == NetworkHost
		if (err == nil) != known {
			t.Errorf("ValidateNetwork(%q) = %v", s, err)
		}
		if err != nil && len(err.Error()) > 150 { // 20 bytes, each up to 4 when quoted
			t.Errorf("ValidateNetwork(%q): a long message quotes all of it: %v", s, err)
		}
	})
}
