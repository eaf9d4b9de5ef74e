package executor

import (
	"io"
	"os"
)

// HoldOutput returns a writer for an attempt's output that stays open until release is called, whatever the
// caller does with w once Start returned: an *os.File is duplicated (the job engine closes its copy of a pipe
// once Start returned, since a process holds its own), anything else is w itself. Executors that write to the
// output after Start returned — the later containers of a multi-container job — hold it.
func HoldOutput(w io.Writer) (held io.Writer, release func()) {
	f, ok := w.(*os.File)
	if !ok {
		return w, func() {}
	}
	dup, err := dupFile(f)
	if err != nil {
		return w, func() {} // as before: the caller's file, while it keeps it open
	}
	return dup, func() { dup.Close() }
}
