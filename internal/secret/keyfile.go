package secret

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// maxKeyFile bounds how much of a key file is read; a valid one is 45 bytes.
const maxKeyFile = 1 << 10

// LoadOrCreateKey returns the key stored at path, creating it first if the file does not exist.
//
// The file holds the KeySize-byte key in standard base64 on one line (surrounding whitespace is ignored), so it can
// be copied into a Kubernetes Secret or a password manager as text. A new file is written with mode 0600 in a
// directory created with mode 0700.
//
// Creation is atomic and exclusive: the key is written to a temporary file in the same directory, synced, and then
// hard-linked to path. Unlike rename, link fails when path already exists, so two processes starting at once
// both end up with the key of whichever linked first, and nobody ever reads a half-written file.
//
// It refuses a key file that grants any permission to group or others (a key others can read leaks every secret,
// one they can write lets them choose the key), one that is not a regular file, and one that does not decode to
// exactly KeySize bytes.
func LoadOrCreateKey(path string) ([]byte, error) {
	key, err := readKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("secret: create key directory: %w", err)
	}
	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("secret: generate key: %w", err)
	}
	tmp, err := writeTemp(dir, []byte(base64.StdEncoding.EncodeToString(key)+"\n"))
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp)
	err = os.Link(tmp, path)
	if errors.Is(err, fs.ErrExist) {
		// Another process created the key between our read and our link: use theirs.
		return readKeyFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("secret: create key file (the filesystem must support hard links; or create the file yourself): %w", err)
	}
	syncDir(dir)
	return key, nil
}

// writeTemp writes b to a new 0600 file in dir, synced to disk, and returns its name.
func writeTemp(dir string, b []byte) (string, error) {
	f, err := os.CreateTemp(dir, ".key-*.tmp")
	if err != nil {
		return "", fmt.Errorf("secret: create key file: %w", err)
	}
	name := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return "", fmt.Errorf("secret: write key file: %w", err)
	}
	return name, nil
}

// syncDir makes the new directory entry durable. It is best effort: not every platform can sync a directory,
// and the key is already usable.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("secret: read key file: %w", err)
	}
	defer f.Close()
	// Stat the open file, not the path: a key mounted through a symlink (as Kubernetes mounts Secrets) is judged
	// by the file it points to, and the file cannot be swapped between the check and the read.
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("secret: read key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("secret: key file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); !keyModeOK(perm, fileOwner(fi), os.Geteuid()) && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("secret: key file %s has mode %04o, which lets group or others use it; run chmod 600 on it", path, perm)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("secret: read key file: %w", err)
	}
	if len(b) > maxKeyFile {
		return nil, fmt.Errorf("secret: key file %s is too large to be a key", path)
	}
	key, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(b)))
	if err != nil {
		return nil, fmt.Errorf("secret: key file %s is not base64", path)
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret: key file %s holds %d bytes, want %d", path, len(key), KeySize)
	}
	return key, nil
}

// keyModeOK says whether a key file with mode perm, owned by uid owner, is private enough for a process running as
// euid: nobody but its owner may use it. As PostgreSQL allows for its key file, a root-owned key read by another
// user may also be group-readable (0640, 0440): that is how Kubernetes mounts a Secret into a pod with an fsGroup.
func keyModeOK(perm fs.FileMode, owner, euid int) bool {
	if perm&0o077 == 0 {
		return true
	}
	return owner == 0 && euid != 0 && perm&0o037 == 0
}
