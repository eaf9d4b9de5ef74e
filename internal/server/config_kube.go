package server

import (
	"fmt"
	"math"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/runplane/runplane/internal/imagepolicy"
)

// maxJobTTL is the longest ttlSecondsAfterFinished a Kubernetes Job can hold (an int32 of seconds).
const maxJobTTL = math.MaxInt32 * time.Second

// validateKubernetes checks the executor and the Kubernetes executor's settings. They are checked whichever
// executor runs, so that a mistake shows when it is made, not when the executor is switched; given to the local
// executor they are ignored without a word.
func (c Config) validateKubernetes() error {
	switch c.Executor {
	case "", ExecutorLocal, ExecutorKubernetes:
	default:
		return fmt.Errorf("config: executor %q: want %s or %s", c.Executor, ExecutorLocal, ExecutorKubernetes)
	}
	if c.Namespace != "" && len(validation.IsDNS1123Label(c.Namespace)) > 0 {
		return fmt.Errorf("config: namespace %q: want a Kubernetes namespace name: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit", c.Namespace)
	}
	if c.JobImage != "" && !imagepolicy.IsReference(c.JobImage) {
		return fmt.Errorf("config: job image %q: want an image reference such as ghcr.io/runplane/runplane:v1", c.JobImage)
	}
	if sa := c.JobServiceAccount; sa != "" && len(validation.IsDNS1123Subdomain(sa)) > 0 {
		return fmt.Errorf("config: job service account %q: want a ServiceAccount name: lowercase letters, digits, '-' and '.', at most 253 characters", sa)
	}
	if c.JobTTL < 0 || c.JobTTL > maxJobTTL {
		return fmt.Errorf("config: job TTL %v: want 0 to %v", c.JobTTL, maxJobTTL)
	}
	if c.PodStartTimeout <= 0 {
		return fmt.Errorf("config: pod start timeout %v: want a positive duration such as 5m", c.PodStartTimeout)
	}
	return nil
}

// loadKubernetesEnv reads the executor's RUNPLANE_* variables except the durations, which LoadEnv reads with the
// others.
func (c *Config) loadKubernetesEnv(get func(string) (string, bool)) error {
	strs := []struct {
		name string
		dst  *string
	}{
		{"RUNPLANE_EXECUTOR", &c.Executor},
		{"RUNPLANE_KUBECONFIG", &c.Kubeconfig},
		{"RUNPLANE_NAMESPACE", &c.Namespace},
		{"RUNPLANE_JOB_IMAGE", &c.JobImage},
		{"RUNPLANE_JOB_SERVICE_ACCOUNT", &c.JobServiceAccount},
	}
	for _, s := range strs {
		if v, ok := get(s.name); ok {
			*s.dst = strings.TrimSpace(v)
		}
	}
	if v, ok := get("RUNPLANE_IMAGE_ALLOWLIST"); ok {
		c.ImageAllowlist = SplitList(v)
	}
	if v, ok := get("RUNPLANE_ALLOWED_ORIGINS"); ok {
		c.AllowedOrigins = SplitList(v)
	}
	if v, ok := get("RUNPLANE_TRUSTED_PROXIES"); ok {
		c.TrustedProxies = SplitList(v)
	}
	if v, ok := get("RUNPLANE_TLS_CERT"); ok {
		c.TLSCertFile = strings.TrimSpace(v)
	}
	if v, ok := get("RUNPLANE_TLS_KEY"); ok {
		c.TLSKeyFile = strings.TrimSpace(v)
	}
	return nil
}

// SplitList turns comma-separated values (an environment variable, or repeated flags each of which may hold
// several) into one list, trimming spaces around each item and dropping empty ones ("a, b," is [a b]).
func SplitList(values ...string) []string {
	var out []string
	for _, v := range values {
		for item := range strings.SplitSeq(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
	}
	return out
}
