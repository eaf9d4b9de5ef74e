package pid1

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Step orders the containers of a multi-container job that the kubelet starts together (the regular containers
// of one pod, which start in one pass, where init containers cost a kubelet relist each): each waits for the
// previous one's done-marker in a directory they share, and runs its command only if that one succeeded, as
// Tekton's entrypoint orders a pipeline's steps.
type Step struct {
	// After is the previous step's done-marker: Run waits until it exists and runs the command only if it says
	// the previous step succeeded. "" runs at once.
	After string
	// Done is this step's marker, written when the command ended (with its exit code) or was not run. "" writes
	// none; when set, the Report also says when the command started and ended.
	Done string
}

// markerNotRun is the content of the done-marker of a step that did not run its command.
const markerNotRun = "not run"

// pollMarker is how often a waiting step looks for its previous step's marker when no file event woke it (where
// the directory cannot be watched): short beside the second each sequential container start costs.
const pollMarker = 20 * time.Millisecond

// AwaitMarker waits until the done-marker at path exists and reports whether it says its step succeeded; why,
// when not, is what the waiting step's Report.NotRun says. A value on stop (a signal: the pod is being deleted)
// ends the wait as not run.
func AwaitMarker(path string, stop <-chan os.Signal) (ok bool, why string) {
	t := time.NewTicker(pollMarker)
	defer t.Stop()
	// Watch first, then look: a marker written in between is seen by the look.
	changed, unwatch := watchDir(filepath.Dir(path))
	defer unwatch()
	for {
		b, err := os.ReadFile(path)
		if err == nil {
			if strings.TrimSpace(string(b)) == "0" {
				return true, ""
			}
			return false, "an earlier container failed"
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return false, "read the earlier container's marker: " + err.Error()
		}
		select {
		case <-stop:
			return false, "stopped while an earlier container ran"
		case <-t.C:
		case <-changed:
		}
	}
}

// WriteMarker writes a done-marker: the exit code, or markerNotRun for code < 0. It writes a temporary file and
// renames it, so that a waiting step never reads half of it. It is best effort: there is no one to tell.
func WriteMarker(path string, code int) {
	if path == "" {
		return
	}
	v := markerNotRun
	if code >= 0 {
		v = strconv.Itoa(code)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(v+"\n"), 0o644); err == nil {
		_ = os.Rename(tmp, path)
	}
}
