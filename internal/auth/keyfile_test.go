package auth

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestLoadOrCreateSigningKey(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "jwt.key")
	key, err := LoadOrCreateSigningKey(path)
	if err != nil {
		t.Fatalf("LoadOrCreateSigningKey (create): %v", err)
	}
	if len(key) != SigningKeySize {
		t.Errorf("generated key has %d bytes, want %d", len(key), SigningKeySize)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode = %04o, want 0600", perm)
	}
	again, err := LoadOrCreateSigningKey(path)
	if err != nil {
		t.Fatalf("LoadOrCreateSigningKey (load): %v", err)
	}
	if !bytes.Equal(again, key) {
		t.Errorf("second load returned a different key")
	}
	if other, err := LoadOrCreateSigningKey(filepath.Join(t.TempDir(), "jwt.key")); err != nil || bytes.Equal(other, key) {
		t.Errorf("a second data dir got the same key (or %v)", err)
	}
}

func TestLoadOrCreateSigningKeyRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		setup func(t *testing.T, path string)
	}{
		{"group readable", func(t *testing.T, path string) { validKey(t, path, 0o640) }},
		{"world readable", func(t *testing.T, path string) { validKey(t, path, 0o604) }},
		{"group writable", func(t *testing.T, path string) { validKey(t, path, 0o620) }},
		{"too short", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("c2hvcnQ=\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"directory", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "jwt.key")
			tt.setup(t, path)
			if key, err := LoadOrCreateSigningKey(path); err == nil {
				t.Errorf("LoadOrCreateSigningKey = %d bytes, nil; want an error", len(key))
			}
		})
	}
}

// validKey writes a good key file at path, then gives it mode.
func validKey(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if _, err := LoadOrCreateSigningKey(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}
