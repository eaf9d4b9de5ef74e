package secret

import (
	"bytes"
	"encoding/base64"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func TestLoadOrCreateKeyCreates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "keys")
	path := filepath.Join(dir, "secret.key")

	key, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatalf("LoadOrCreateKey(new): %v", err)
	}
	if len(key) != KeySize {
		t.Fatalf("LoadOrCreateKey(new) = %d bytes, want %d", len(key), KeySize)
	}
	if runtime.GOOS != "windows" {
		for p, want := range map[string]os.FileMode{path: 0o600, dir: 0o700} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("mode of %s = %04o, want %04o", p, got, want)
			}
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := base64.StdEncoding.EncodeToString(key) + "\n"; string(b) != want {
		t.Errorf("key file = %q, want %q", b, want)
	}

	again, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatalf("LoadOrCreateKey(existing): %v", err)
	}
	if !bytes.Equal(again, key) {
		t.Errorf("LoadOrCreateKey(existing) = %x, want the created key %x", again, key)
	}
	if _, err := NewCipher(key); err != nil {
		t.Errorf("NewCipher(created key): %v", err)
	}
}

func TestLoadOrCreateKeyReadsWhitespace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret.key")
	want := bytes.Repeat([]byte{7}, KeySize)
	content := "  " + base64.StdEncoding.EncodeToString(want) + "\r\n\n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := LoadOrCreateKey(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("LoadOrCreateKey(%q) = %x, %v; want %x", content, got, err, want)
	}
}

func TestLoadOrCreateKeyRefuses(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes are not enforced on windows")
	}
	good := base64.StdEncoding.EncodeToString(make([]byte, KeySize))
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		dir     bool
		wantMsg string
	}{
		{name: "group readable", content: good, mode: 0o640, wantMsg: "mode 0640"},
		{name: "world readable", content: good, mode: 0o604, wantMsg: "mode 0604"},
		{name: "group writable", content: good, mode: 0o620, wantMsg: "mode 0620"},
		{name: "short key", content: base64.StdEncoding.EncodeToString(make([]byte, 16)), mode: 0o600, wantMsg: "holds 16 bytes"},
		{name: "long key", content: base64.StdEncoding.EncodeToString(make([]byte, 64)), mode: 0o600, wantMsg: "holds 64 bytes"},
		{name: "raw bytes", content: string(make([]byte, KeySize)), mode: 0o600, wantMsg: "not base64"},
		{name: "empty", content: "", mode: 0o600, wantMsg: "holds 0 bytes"},
		{name: "huge", content: strings.Repeat("A", 4096), mode: 0o600, wantMsg: "too large"},
		{name: "directory", dir: true, wantMsg: "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "secret.key")
			if tt.dir {
				if err := os.Mkdir(path, 0o700); err != nil {
					t.Fatal(err)
				}
			} else {
				if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, tt.mode); err != nil {
					t.Fatal(err)
				}
			}
			key, err := LoadOrCreateKey(path)
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("LoadOrCreateKey(%s) = %x, %v; want an error containing %q", tt.name, key, err, tt.wantMsg)
			}
		})
	}
}

func TestLoadOrCreateKeyConcurrent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secret.key")
	const n = 16
	keys := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			keys[i], errs[i] = LoadOrCreateKey(path)
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("LoadOrCreateKey #%d: %v", i, errs[i])
		}
		if !bytes.Equal(keys[i], keys[0]) {
			t.Errorf("LoadOrCreateKey #%d = %x, want %x like #0: concurrent creators disagree", i, keys[i], keys[0])
		}
	}
	onDisk, err := LoadOrCreateKey(path)
	if err != nil || !bytes.Equal(onDisk, keys[0]) {
		t.Errorf("key on disk = %x, %v; want %x", onDisk, err, keys[0])
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only the key file (temporary files left behind)", names)
	}
}

func TestKeyModeOK(t *testing.T) {
	tests := []struct {
		perm        fs.FileMode
		owner, euid int
		want        bool
	}{
		{0o600, 1000, 1000, true},
		{0o400, 0, 0, true},
		{0o640, 1000, 1000, false},
		{0o640, 0, 0, false},    // root can chmod its own key
		{0o640, 0, 65532, true}, // a Kubernetes Secret with fsGroup, read by a non-root server
		{0o440, 0, 65532, true},
		{0o660, 0, 65532, false}, // group-writable
		{0o644, 0, 65532, false}, // world-readable
		{0o650, 0, 65532, false},
		{0o640, 1000, 65532, false}, // someone else's file
	}
	for _, tc := range tests {
		if got := keyModeOK(tc.perm, tc.owner, tc.euid); got != tc.want {
			t.Errorf("keyModeOK(%04o, owner %d, euid %d) = %v, want %v", tc.perm, tc.owner, tc.euid, got, tc.want)
		}
	}
}
