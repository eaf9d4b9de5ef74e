//go:build linux

package local

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/runplane/runplane/internal/executor"
)

// handle is what a Handle encodes: "local:<pid>:<starttime>:<workspace>". The pid and its start time name the
// attempt's first process for good (pids get reused, the pair does not); a start time of 0 says the job ran in
// namespaces, where nothing of it outlives its shell or the server. The workspace is the attempt's unique name,
// that of its directory under the workspace root if it had one there (empty in handles of older versions).
type handle struct {
	pid       int
	startTime uint64
	workspace string
}

func (h handle) String() string {
	return fmt.Sprintf("local:%d:%d:%s", h.pid, h.startTime, h.workspace)
}

func parseHandle(s executor.Handle) (handle, bool) {
	parts := strings.SplitN(string(s), ":", 4)
	if len(parts) != 4 || parts[0] != "local" || (parts[3] != "" && !validWorkspace(parts[3])) {
		return handle{}, false
	}
	pid, err1 := strconv.Atoi(parts[1])
	start, err2 := strconv.ParseUint(parts[2], 10, 64)
	if err1 != nil || err2 != nil || pid <= 1 {
		return handle{}, false
	}
	return handle{pid: pid, startTime: start, workspace: parts[3]}, true
}

// newWorkspaceName makes a unique, safe directory name that says which job it is for.
func newWorkspaceName(jobID string) string {
	var b strings.Builder
	for _, r := range jobID {
		if b.Len() >= 64 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		b.WriteString("job")
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	return b.String() + "." + hex.EncodeToString(rnd[:])
}

func validWorkspace(name string) bool {
	if name == "" || len(name) > 100 || name[0] == '.' {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}
