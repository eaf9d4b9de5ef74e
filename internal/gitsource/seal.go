package gitsource

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// mirrorConfig is the whole config of every mirror: what `git init --bare` writes. Fetches name the URL and
// refspec on the command line, so a mirror needs nothing else.
const mirrorConfig = "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n"

// sealMirror puts back the server's own config of m before git runs in it, and removes the files through which
// a mirror could be told to run commands or take objects from elsewhere: a job never reaches the cache once the
// executor isolates it, but the server must not run what anyone else planted there (a filter, fsmonitor or
// pager command in the config, attributes, alternates). It costs a read of one small file when nothing changed.
// m.mu must be held.
func (c *Cache) sealMirror(m *mirror) error {
	cfg := filepath.Join(m.dir, "config")
	b, err := os.ReadFile(cfg)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("gitsource: mirror config: %w", err)
	}
	if !bytes.Equal(b, []byte(mirrorConfig)) {
		c.log.Warn("mirror config was changed outside the server; restoring it", "url", RedactURL(m.url), "dir", m.dir)
		tmp := cfg + ".runplane-tmp"
		if err := os.WriteFile(tmp, []byte(mirrorConfig), 0o600); err != nil {
			return fmt.Errorf("gitsource: restore mirror config: %w", err)
		}
		if err := os.Rename(tmp, cfg); err != nil {
			return fmt.Errorf("gitsource: restore mirror config: %w", err)
		}
	}
	for _, p := range []string{"info/attributes", "objects/info/alternates", "objects/info/http-alternates"} {
		if err := os.Remove(filepath.Join(m.dir, p)); err == nil {
			c.log.Warn("removed a file planted in a mirror", "url", RedactURL(m.url), "file", p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("gitsource: seal mirror: %w", err)
		}
	}
	return nil
}

// privateDir makes dir (and missing parents) if needed and makes sure only this process's user can use it: it
// must be a directory owned by the effective uid, and a looser mode is set to 0700.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s is owned by uid %d, not by this server's uid %d", dir, st.Uid, os.Geteuid())
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return err
		}
	}
	return nil
}
