//go:build linux

package local

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"syscall"

	"golang.org/x/sys/unix"
)

// enterJobMountNS gives the calling thread (which must be locked and must die afterwards) private mount and
// IPC namespaces, with every mount private, so that nothing mounted there propagates back to the host. Children
// forked from this thread inherit them; nobody else sees them.
func enterJobMountNS() error {
	if err := unix.Unshare(unix.CLONE_NEWNS | unix.CLONE_NEWIPC); err != nil {
		return fmt.Errorf("unshare mount namespace: %w", err)
	}
	return privateMounts()
}

// privateMounts makes every mount of the current mount namespace private.
func privateMounts() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	return nil
}

// mountSecretsAt mounts a tmpfs at dir, writes secrets there as files owned by uid:gid and remounts it read-only.
func mountSecretsAt(dir string, secrets map[string]string, uid, gid int) error {
	size := 16 << 10
	for k, v := range secrets {
		size += len(k) + len(v) + 4<<10
	}
	const flags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	opts := fmt.Sprintf("mode=0755,size=%d", size)
	if err := unix.Mount("tmpfs", dir, "tmpfs", flags, opts); err != nil {
		return fmt.Errorf("mount tmpfs at %s: %w", SecretDir, err)
	}
	if err := writeSecretFiles(dir, secrets, uid, gid); err != nil {
		return err
	}
	if err := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|flags, ""); err != nil {
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

// writeSecretFiles writes each secret as dir/<key>, mode 0400, owned by uid:gid (-1: unchanged). It holds syscall.ForkLock so that no process
// forked meanwhile inherits (and keeps open) one of the files: that would leak the fd until exec and make a
// read-only remount fail with EBUSY.
func writeSecretFiles(dir string, secrets map[string]string, uid, gid int) error {
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
		if err == nil && uid >= 0 {
			err = f.Chown(uid, gid)
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write secret %s: %w", k, err)
		}
	}
	return nil
}
