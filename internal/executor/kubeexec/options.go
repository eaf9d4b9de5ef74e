package kubeexec

import (
	"context"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/runplane/runplane/internal/executor"
)

// Heads says which commit a repository's branch is at (gitsource.Cache does). Start uses it to fail at once, with
// a clear error, for a branch that does not exist, instead of in a pod seconds later.
type Heads interface {
	Head(ctx context.Context, repo executor.Repo) (string, error)
}

// Images decides which images jobs may run (imagePolicy.Allowlist does); Check's error says why not.
type Images interface {
	Check(image string) error
}

// Options configure an Executor. Client, JobImage and Heads are required.
type Options struct {
	// Client is the cluster's API (Connect, or NewClient for a rest.Config of one's own).
	Client *Client
	// Namespace the Jobs run in; default "default".
	Namespace string
	// JobImage is runplane's own image, run by the checkout container (`runplane pod checkout`) of every job but the
	// plain command jobs that run in one container (fastPath).
	JobImage string
	// JobImagePullPolicy of the init container; default IfNotPresent.
	JobImagePullPolicy corev1.PullPolicy
	// ServiceAccount jobs run as unless their task names one; empty: the namespace's default. Its token is
	// never mounted either way.
	ServiceAccount string
	// TTL keeps a finished Job (and its pod) this long for inspection; default 5 minutes. Logs are kept by
	// runplane regardless.
	TTL time.Duration
	// StartTimeout fails an attempt whose job container has not started this long after Start (unschedulable,
	// stuck pulling); default 5 minutes.
	StartTimeout time.Duration
	// StopGrace is the pods' terminationGracePeriodSeconds; default 10s. Stop uses its own grace.
	StopGrace time.Duration
	// Heads checks a repository branch before its Job is created. If it is an Archiver too (gitsource.Cache is), a
	// plain command job gets its repository's files from it, through its Secret, and runs in one container.
	Heads Heads
	// Images, if not nil, is checked again at Start (the API checks it when runners are saved and jobs submitted).
	Images Images
	// MaxKeep bounds the files a job's containers leave for Spec.Keep, in bytes; default 64 MiB.
	MaxKeep int64
	Logger  *slog.Logger
}
