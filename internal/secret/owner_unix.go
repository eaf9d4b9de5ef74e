//go:build unix

package secret

import (
	"io/fs"
	"syscall"
)

// fileOwner is the uid owning fi's file, or -1 if unknown.
func fileOwner(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}
