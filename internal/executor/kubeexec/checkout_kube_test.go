package kubeexec_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/runplane/runplane/internal/executor"
	"github.com/runplane/runplane/internal/executor/kubeexec"
	"github.com/runplane/runplane/internal/executor/kubeexec/kubetest"
	"github.com/runplane/runplane/internal/gitsource/gittest"
)

// TestCheckoutFails: a command job's container (one with secrets: a plain one runs alone) starts beside its checkout; when the checkout fails in the pod
// (a repository the server reaches but the pod does not) or cannot start (its image), the job fails promptly with
// the checkout's reason, its command never runs, and its Job is deleted.
func TestCheckoutFails(t *testing.T) {
	c := needCluster(t)
	t.Parallel()
	tests := []struct {
		name  string
		repo  func(t *testing.T) executor.Repo
		tweak func(*kubeexec.Options)
		want  []string
	}{
		{
			name: "clone fails",
			// The pod's own loopback has no git server: the checkout fails; the server's check of the branch passes.
			repo: func(t *testing.T) executor.Repo {
				return executor.Repo{URL: gittest.ServeHTTPAt(t, "127.0.0.1", gittest.NewRepo(t, map[string]string{"a": "b"}), "", "")}
			},
			want: []string{"checkout failed: ", "127.0.0.1"},
		},
		{
			name: "checkout image cannot start",
			repo: func(t *testing.T) executor.Repo { return c.repo(t, map[string]map[string]string{"main": {"a": "b"}}) },
			tweak: func(o *kubeexec.Options) {
				o.JobImage, o.JobImagePullPolicy = "docker.io/local/no-such-image:1", corev1.PullNever
			},
			want: []string{"cannot start the checkout container (image docker.io/local/no-such-image:1)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ns := c.Namespace(t)
			ex := c.newExecutor(t, ns, tc.tweak)
			spec, out := c.jobSpec(t, tc.repo(t), "echo the command ran")
			spec.Secrets = map[string]string{"K": "v"} // a job with secrets has a checkout container
			h, err := ex.Start(t.Context(), spec)
			if err != nil {
				t.Fatal(err)
			}
			r := waitResult(t, ex, h, time.Minute)
			b, _ := os.ReadFile(out.Name())
			ok := r.ExitCode == -1 && len(b) == 0
			for _, w := range tc.want {
				ok = ok && strings.Contains(r.Reason, w)
			}
			if !ok {
				t.Errorf("result %+v, output %q; want exit -1, no output, a reason with %q", r, b, tc.want)
			}
			kubetest.WaitFor(t, time.Minute, "its Job to be deleted", func() bool {
				_, err := c.Client.BatchV1().Jobs(ns).Get(context.Background(), jobNameOf(h), metav1.GetOptions{})
				return apierrors.IsNotFound(err)
			})
		})
	}
}
