package kubeexec

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/gitsource"
)

// The one-container pod (the fast path). A plain command job — no secrets, no input files, its repository's tree
// small enough for a Secret — runs in ONE container: the checkout container beside it costs a container start,
// which on a busy node is most of what a pod costs beyond the bare Job's. Its PID 1 is sh running oneContainer,
// which does what the checkout and runplane-pid1 do for the two-container pod, in sh: it extracts the tree (a tar
// archive the server made from its git cache, gitsource.Cache.Archive, carried by the attempt's Secret) into the
// workspace, merges stderr into stdout, passes a stop signal to every process of the container, and ends the log
// with an end marker carrying a per-attempt nonce and the exit status: the log reader reads until it has it, strips
// it, and ends the attempt there (runplane-pid1 counts the bytes instead). The job's image needs sh (as for every
// job), sleep, and tar when the job has a repository; the workspace holds the tree without .git.
//
// A job with secrets keeps the two-container pod: its secret files must be 0400 files the job owns, which only a
// copy makes (a Secret volume's are root's, behind symlinks).

// annLogEnd, on the Job and pod of a one-container attempt, is the nonce of its log's end marker.
const annLogEnd = "runplane.dev/log-end"

// The tree in the pod: the Secret's key, and where its volume is mounted.
const (
	treeKey  = ".tree.tar"
	treeDir  = "/run/runplane/tree"
	treeFile = "tree.tar"
)

// maxTree bounds the archive of a tree that travels in the Secret (a Secret holds at most 1 MiB); a larger one is
// cloned by the checkout container.
const maxTree = 768 << 10

// endWritten is the wrapper's termination message once it has written the end marker: the log is whole only with
// it. A container killed before (SIGKILL after the grace period, OOM) has no marker to wait for.
const endWritten = "log end written"

// endPrefix starts the end marker line, "\n::runplane-end <nonce> <exit status>::\n"; the newline before it is the
// wrapper's, so an output without a final newline keeps its last line as it is.
const endPrefix = "\n::runplane-end "

// The wrapper's end. containerd (1.6, Debian 12's) stops copying a container's output once it has handled the
// exit of its PID 1: what is still in the pipe then never reaches the log. runplane-pid1 waits until the pipe is
// empty (FIONREAD), which sh cannot see; so the wrapper waits, after its end marker, until the executor says it has
// read it: the executor sets the pod's annotation annLogRead, which the kubelet writes into the pod's downward API
// volume at ackDir/ackFile. It waits at most about ackWait seconds (a server that went away says nothing). The
// executor takes the marker as the job's end (its exit status is in it): the attempt ends as soon as the log has
// it, rather than when the kubelet next looks at the container.
const (
	annLogRead = "runplane.dev/log-read"
	ackDir     = "/run/runplane/ack"
	ackFile    = "read"
	ackWait    = 30
)

// oneContainer is the one-container pod's command, `sh -c oneContainer runplane COMMAND NONCE`. COMMAND runs in the
// background (so that the trap runs when a signal comes, rather than after COMMAND); a stop signal is passed as
// SIGTERM to every other process of the container (kill -1: PID 1 is spared), as the background command ignores
// SIGINT and SIGQUIT. The loop waits again after a trap ran, while the command still exists. The marker is written
// first and the termination message after it, so that a message without endWritten means there is no marker to
// wait for; a tree that cannot be extracted ends it with a "not run" message and no marker.
const oneContainer = `exec 2>&1
n=$2
if [ -e ` + treeDir + `/` + treeFile + ` ] && ! tar -xof ` + treeDir + `/` + treeFile + ` -C ` + workspaceDir + `; then
printf 'not run: the job image could not extract the repository into ` + workspaceDir + ` (it needs tar)' >/dev/termination-log 2>/dev/null
exit 1
fi
trap 'kill -TERM -1 2>/dev/null' TERM INT QUIT
trap 'kill -HUP -1 2>/dev/null' HUP
sh -c "$1" &
p=$!
wait "$p"; r=$?
while kill -0 "$p" 2>/dev/null; do wait "$p"; r=$?; done
printf '\n::runplane-end %s %d::\n' "$n" "$r"
echo '` + endWritten + `' >/dev/termination-log 2>/dev/null
i=0
while [ ! -s ` + ackDir + `/` + ackFile + ` ] && [ "$i" -lt ` + ackTenths + ` ]; do sleep 0.1 2>/dev/null || { sleep 1; i=$((i+9)); }; i=$((i+1)); done
exit "$r"`

const ackTenths = "300" // ackWait in tenths of a second

// fastPath is what makes an attempt's one-container pod: its end marker's nonce and its repository's tree (nil
// without a repository).
type fastPath struct {
	nonce string
	tree  []byte
}

// oneContainerJob reports whether spec can run in one container, its tree aside.
func oneContainerJob(spec executor.Spec) bool {
	return len(spec.Containers) == 0 && spec.Keep == "" && len(spec.Secrets) == 0 && len(spec.InputFiles) == 0
}

// fastPath returns the attempt's one-container pod, or nil when it needs the checkout container (see
// oneContainerJob; a tree larger than maxTree; no Archiver). Its error is the checkout's (a missing branch).
func (e *Executor) fastPath(ctx context.Context, spec executor.Spec) (*fastPath, error) {
	if !oneContainerJob(spec) {
		return nil, nil
	}
	f := &fastPath{nonce: newNonce()}
	if spec.Repo.URL == "" {
		return f, nil
	}
	ar, ok := e.opts.Heads.(Archiver)
	if !ok {
		return nil, nil
	}
	var buf bytes.Buffer
	if _, err := ar.Archive(ctx, spec.Repo, &buf, maxTree); errors.Is(err, gitsource.ErrTooLarge) {
		return nil, nil
	} else if errors.Is(err, exec.ErrNotFound) {
		// This server has no git (runplane's image has none), and its built-in reader cannot read this repository
		// (ssh): the pod checks out.
		e.noArchive.Do(func() {
			e.log.Info("no git on this server for some repository URLs: their jobs check out in their pods (a container more per pod)", "url", gitsource.RedactURL(spec.Repo.URL))
		})
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	f.tree = buf.Bytes()
	return f, nil
}

func newNonce() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// fastShape turns the job's container (c, as objects built it) into the one-container pod's: the wrapper as its
// command, the workspace, /tmp and the tree's Secret volume as its only mounts. It returns the pod's volumes.
func fastShape(name string, c *corev1.Container, command string, f *fastPath) []corev1.Volume {
	c.Command = []string{"sh", "-c", oneContainer, "runplane", command, f.nonce}
	volumes := []corev1.Volume{emptyDir("workspace", ""), emptyDir("tmp", ""), {Name: "ack", VolumeSource: corev1.VolumeSource{
		DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{{
			Path: ackFile, FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations['" + annLogRead + "']"},
		}}},
	}}}
	c.VolumeMounts = []corev1.VolumeMount{
		{Name: "workspace", MountPath: workspaceDir},
		{Name: "tmp", MountPath: tmpDir},
		{Name: "ack", MountPath: ackDir, ReadOnly: true},
	}
	if f.tree != nil {
		volumes = append(volumes, corev1.Volume{Name: "tree", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: name, Items: []corev1.KeyToPath{{Key: treeKey, Path: treeFile}}, DefaultMode: new(int32(0o440)),
		}}})
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "tree", MountPath: treeDir, ReadOnly: true})
	}
	return volumes
}

// fastReport completes the report of a one-container job's end from its exit code: sh gives a command a signal
// killed the status 128+signal (an OOM kill is the kubelet's to say).
func fastReport(code int32, reason string, msg string) (signal string, marked bool) {
	for _, line := range strings.Split(msg, "\n") {
		if strings.TrimSpace(line) == endWritten {
			marked = true
		}
	}
	if code > 128 && code < 128+65 && reason != "OOMKilled" {
		signal = "signal: " + syscall.Signal(code-128).String()
	}
	return signal, marked
}

// endFilter passes a one-container job's log on without its end marker, and says when it has come: the marker,
// and nothing after it, is the last thing written so far. What may be the start of the marker is held back until
// what follows shows it is not; a marker followed by anything in what was read is output like any other (a job
// may print one; printed alone, it ends the job's own log there).
type endFilter struct {
	w      io.Writer
	prefix []byte // endPrefix + nonce + " "
	held   []byte
	marked atomic.Bool
	status atomic.Int32 // the exit status in the marker, once marked
}

func newEndFilter(w io.Writer, nonce string) *endFilter {
	return &endFilter{w: w, prefix: []byte(endPrefix + nonce + " ")}
}

func (f *endFilter) Write(p []byte) (int, error) {
	f.held = append(f.held, p...)
	cut := len(f.held)
	for i := bytes.IndexByte(f.held, '\n'); i >= 0; {
		if f.mayEnd(f.held[i:]) {
			cut = i
			break
		}
		j := bytes.IndexByte(f.held[i+1:], '\n')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	if cut > 0 {
		if _, err := f.w.Write(f.held[:cut]); err != nil {
			f.held = f.held[:0]
			return 0, err
		}
		f.held = append(f.held[:0], f.held[cut:]...)
	}
	if f.whole(f.held) {
		code, _ := strconv.Atoi(string(f.held[len(f.prefix) : len(f.held)-3]))
		f.status.Store(int32(code))
		f.marked.Store(true)
	} else {
		f.marked.Store(false)
	}
	return len(p), nil
}

// mayEnd reports whether s is the start of an end marker, or one and nothing after it.
func (f *endFilter) mayEnd(s []byte) bool {
	if len(s) <= len(f.prefix) {
		return bytes.HasPrefix(f.prefix, s)
	}
	if !bytes.HasPrefix(s, f.prefix) {
		return false
	}
	rest := s[len(f.prefix):]
	d := 0
	for d < len(rest) && d < 3 && rest[d] >= '0' && rest[d] <= '9' {
		d++
	}
	tail := rest[d:]
	if len(tail) == 0 {
		return true
	}
	return d > 0 && len(tail) <= 3 && bytes.HasPrefix([]byte("::\n"), tail)
}

// whole reports whether s is an end marker, whole.
func (f *endFilter) whole(s []byte) bool {
	return len(s) > len(f.prefix)+3 && bytes.HasSuffix(s, []byte("::\n")) && f.mayEnd(s) && s[len(f.prefix)] >= '0' && s[len(f.prefix)] <= '9'
}

// flush passes on what is held back: the log ended without its marker.
func (f *endFilter) flush() error {
	if len(f.held) == 0 || f.marked.Load() {
		return nil
	}
	_, err := f.w.Write(f.held)
	f.held = f.held[:0]
	return err
}

// Archiver gives the tree of a repository's branch as a tar archive (gitsource.Cache does): when Heads is one too,
// a job whose tree is small runs in one container (fastPath).
type Archiver interface {
	// Archive writes the archive to w and returns the commit; more than max bytes is gitsource.ErrTooLarge.
	Archive(ctx context.Context, repo executor.Repo, w io.Writer, max int64) (string, error)
}

var _ Archiver = (*gitsource.Cache)(nil)

// endAtMarker ends a one-container attempt whose log has its end marker (step i, status from the marker), without
// waiting for the kubelet to see the container end, and tells the wrapper, which waits for that, that it may end. A
// container still running long after (a job that printed its own marker) is stopped (reapAfter).
func (e *Executor) endAtMarker(a *attempt, i int, pod string, status int32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stepEndedLocked(i, -1, status != 0, true)
	if a.exit != nil {
		return
	}
	signal, _ := fastReport(status, "", "")
	e.log.Debug("job log end marker", "job", a.name, "after", time.Since(a.started), "exit_code", status)
	a.endLocked(executor.Result{ExitCode: int(status), Reason: signal}, true)
	name, nonce := a.name, a.nonce
	go e.ackLogRead(pod, nonce)
	e.reapAfter(name, pod, 2*ackWait*time.Second)
}

// ackLogRead tells a one-container pod's wrapper that its log is read whole: it may end.
func (e *Executor) ackLogRead(pod, nonce string) {
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, annLogRead, nonce)
	_, err := e.client.Pods(e.ns).Patch(context.Background(), pod, types.MergePatchType, []byte(patch), metav1.PatchOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		e.log.Warn("tell the job's pod its log is read (it ends by itself later)", "pod", pod, "err", err)
	}
}
