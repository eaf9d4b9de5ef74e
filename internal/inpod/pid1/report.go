package pid1

import (
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The termination log: where a container leaves Kubernetes a message about how it ended.
const (
	EnvTerminationLog     = "RUNPLANE_TERMINATION_LOG" // its path, for tests; default DefaultTerminationLog
	DefaultTerminationLog = "/dev/termination-log"     // where Kubernetes reads it by default
)

// maxTerminationLog keeps a termination message under the 4096 bytes Kubernetes keeps of it.
const maxTerminationLog = 4000

// TerminationLogPath is the termination log's path in the environment getenv reads.
func TerminationLogPath(getenv func(string) string) string {
	if p := getenv(EnvTerminationLog); p != "" {
		return p
	}
	return DefaultTerminationLog
}

// WriteTerminationLog replaces the termination message with msg, cut to maxTerminationLog bytes. It is best
// effort: a container without a termination log still ends with the right exit code.
func WriteTerminationLog(path, msg string) {
	if len(msg) > maxTerminationLog {
		cut := maxTerminationLog
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut]
	}
	_ = os.WriteFile(path, []byte(msg), 0o644)
}

// Report is what Run writes to its container's termination log: how the command ended.
type Report struct {
	Signal string // "signal: <name>" when a signal killed the command, else ""
	// OutputBytes is the length of the output copied to the container's stdout as its log holds it, each "\r\n"
	// one byte (containerd's CRI logger drops the "\r"); -1 when not known.
	OutputBytes int64
	// NotRun says why the command was not run (a step whose previous step failed, or that was stopped while it
	// waited for it): "" when it ran.
	NotRun string
	// Started and Ended are when the command started and ended, written by a step (Step.Done set): its container
	// started before it waited for the previous step, so the container's own start says nothing of the command's.
	Started, Ended time.Time
}

const (
	outputPrefix  = "output: "
	notRunPrefix  = "not run: "
	startedPrefix = "started: "
	endedPrefix   = "ended: "
)

// String is the termination message: the signal line first (where people look), then "output: N bytes"; the
// times after it. A step not run says only why.
func (r Report) String() string {
	if r.NotRun != "" {
		return notRunPrefix + r.NotRun
	}
	out := outputPrefix + strconv.FormatInt(r.OutputBytes, 10) + " bytes"
	if r.Signal != "" {
		out = r.Signal + "\n" + out
	}
	if !r.Started.IsZero() {
		out += "\n" + startedPrefix + r.Started.UTC().Format(time.RFC3339Nano)
	}
	if !r.Ended.IsZero() {
		out += "\n" + endedPrefix + r.Ended.UTC().Format(time.RFC3339Nano)
	}
	return out
}

// ParseReport reads a termination message written by Run. A message in any other form (a runtime's own, an
// older runplane's) gives what it can: OutputBytes -1 when it does not say.
func ParseReport(msg string) Report {
	r := Report{OutputBytes: -1}
	for _, line := range strings.Split(msg, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "signal: "):
			r.Signal = line
		case strings.HasPrefix(line, notRunPrefix):
			r.NotRun = strings.TrimPrefix(line, notRunPrefix)
		case strings.HasPrefix(line, startedPrefix):
			r.Started, _ = time.Parse(time.RFC3339Nano, strings.TrimPrefix(line, startedPrefix))
		case strings.HasPrefix(line, endedPrefix):
			r.Ended, _ = time.Parse(time.RFC3339Nano, strings.TrimPrefix(line, endedPrefix))
		case strings.HasPrefix(line, outputPrefix) && strings.HasSuffix(line, " bytes"):
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(line, outputPrefix), " bytes"), 10, 64)
			if err == nil && n >= 0 {
				r.OutputBytes = n
			}
		}
	}
	return r
}
