package kubeexec

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/runplane/runplane/internal/executor"
)

// Labels and annotations on everything this executor creates.
const (
	labelManagedBy = "app.kubernetes.io/managed-by"
	managedBy      = "runplane"
	labelAttempt   = "runplane.dev/attempt" // the Job's name, on the Job, its pods and its Secret
	labelJob       = "runplane.dev/job"     // the runplane job id, made label-safe
	labelTask      = "runplane.dev/task"
	annJob         = "runplane.dev/job-id" // the job id as it is
	annTask        = "runplane.dev/task"
	annRunner      = "runplane.dev/runner"
	annOwner       = "runplane.dev/owner"
)

// handlePrefix starts every handle of this executor: "kube:<namespace>/<job name>".
const handlePrefix = "kube:"

func handleFor(ns, name string) executor.Handle {
	return executor.Handle(handlePrefix + ns + "/" + name)
}

// parseHandle splits a handle of this executor; ok is false for anything else.
func parseHandle(h executor.Handle) (ns, name string, ok bool) {
	rest, ok := strings.CutPrefix(string(h), handlePrefix)
	if !ok {
		return "", "", false
	}
	ns, name, ok = strings.Cut(rest, "/")
	if !ok || !isDNSLabel(ns) || !isDNSLabel(name) {
		return "", "", false
	}
	return ns, name, true
}

// jobName is a fresh name for an attempt of job id: "rp-<id, DNS-safe, cut>-<5 random>", at most 52 characters
// so that the Job controller's pod names (name + "-" + 5) stay within a DNS label.
func jobName(id string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(id) {
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			b.WriteRune(c)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	s := strings.Trim(b.String(), "-")
	if len(s) > 40 {
		s = strings.TrimRight(s[:40], "-")
	}
	if s == "" {
		s = "job"
	}
	return "rp-" + s + "-" + randomSuffix()
}

const suffixChars = "bcdfghjklmnpqrstvwxz2456789" // the Job controller's alphabet: no vowels, no confusables

func randomSuffix() string {
	var r [5]byte
	_, _ = rand.Read(r[:])
	for i := range r {
		r[i] = suffixChars[int(r[i])%len(suffixChars)]
	}
	return string(r[:])
}

// labelValue returns s if it is a valid label value, else a readable prefix of it and a hash.
func labelValue(s string) string {
	if isLabelValue(s) {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	var b strings.Builder
	for _, c := range s {
		if b.Len() >= 40 {
			break
		}
		if c < 0x80 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			b.WriteRune(c)
		}
	}
	p := strings.Trim(b.String(), "-_.")
	if p != "" {
		p += "-"
	}
	return p + hex.EncodeToString(sum[:8])
}

func isLabelValue(s string) bool { return len(validation.IsValidLabelValue(s)) == 0 }

func isDNSLabel(s string) bool { return len(validation.IsDNS1123Label(s)) == 0 }
