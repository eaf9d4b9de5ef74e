//go:build linux

package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"syscall"

	"golang.org/x/sys/unix"
)

// enterJobMountNS gives the calling thread (which must be locked and must die afterwards) a private mount
// namespace with a read-only tmpfs at SecretDir holding secrets, one 0400 file each. Children forked from this
// thread inherit it; nobody else sees it.
func enterJobMountNS(secrets map[string]string) error {
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("unshare mount namespace: %w", err)
	}
	return mountSecrets(secrets)
}

// mountSecrets makes the current mount namespace private (so nothing propagates back to the host), mounts a
// tmpfs at SecretDir, writes secrets and remounts it read-only.
func mountSecrets(secrets map[string]string) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	size := 16 << 10
	for k, v := range secrets {
		size += len(k) + len(v) + 4<<10
	}
	const flags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	opts := fmt.Sprintf("mode=0755,size=%d", size)
	err := unix.Mount("tmpfs", SecretDir, "tmpfs", flags, opts)
	if errors.Is(err, unix.ENOENT) {
		// Jobs without secrets share the host's mount namespace, and one may have removed the mount point.
		if err = os.MkdirAll(SecretDir, 0o755); err == nil {
			err = unix.Mount("tmpfs", SecretDir, "tmpfs", flags, opts)
		}
	}
	if err != nil {
		return fmt.Errorf("mount tmpfs at %s: %w", SecretDir, err)
	}
	if err := writeSecretFiles(SecretDir, secrets); err != nil {
		return err
	}
	if err := unix.Mount("", SecretDir, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|flags, ""); err != nil {
		return fmt.Errorf("remount %s read-only: %w", SecretDir, err)
	}
	return nil
}

// mountWorkspace mounts a fresh tmpfs (at most size bytes if size > 0) at dir in the current mount namespace.
func mountWorkspace(dir string, size int64) error {
	opts := "mode=0700"
	if size > 0 {
		opts += fmt.Sprintf(",size=%d", size)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("mount workspace tmpfs: %w", err)
	}
	return nil
}

// writeSecretFiles writes each secret as dir/<key>, mode 0400. It holds syscall.ForkLock so that no process
// forked meanwhile inherits (and keeps open) one of the files: that would leak the fd until exec and make a
// read-only remount fail with EBUSY.
func writeSecretFiles(dir string, secrets map[string]string) error {
	keys := make([]string, 0, len(secrets))
	for k := range secrets {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	for _, k := range keys {
		f, err := os.OpenFile(filepath.Join(dir, k), os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o400)
		if err != nil {
			return fmt.Errorf("write secret %s: %w", k, err)
		}
		_, err = f.WriteString(secrets[k])
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write secret %s: %w", k, err)
		}
	}
	return nil
}
