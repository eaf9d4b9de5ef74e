package podman

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
)

// DefaultSeccompProfile is podman's own seccomp profile, from which every job's is derived.
const DefaultSeccompProfile = "/usr/share/containers/seccomp.json"

// keyringCalls are what the derived profile takes away from podman's: the kernel keyrings are not namespaced, and
// every job runs as one user id, so keys one job stored in its user keyring would be there for the next.
var keyringCalls = []string{"keyctl", "add_key", "request_key"}

// deriveSeccompProfile writes to dst the seccomp profile at src (containers' JSON format) without any rule that
// allows keyringCalls: they then get the profile's default action (an error). It keeps every other field as it is.
func deriveSeccompProfile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	var profile map[string]any
	if err := json.Unmarshal(b, &profile); err != nil {
		return fmt.Errorf("seccomp profile %s: %w", src, err)
	}
	if profile["defaultAction"] == "SCMP_ACT_ALLOW" {
		return fmt.Errorf("seccomp profile %s allows by default: want one that lists what it allows", src)
	}
	rules, _ := profile["syscalls"].([]any)
	for _, r := range rules {
		rule, ok := r.(map[string]any)
		if !ok || rule["action"] != "SCMP_ACT_ALLOW" {
			continue
		}
		names, _ := rule["names"].([]any)
		rule["names"] = slices.DeleteFunc(names, func(n any) bool {
			s, _ := n.(string)
			return slices.Contains(keyringCalls, s)
		})
	}
	out, err := json.Marshal(profile)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, out, 0o644)
}

// seccompOption returns the --security-opt value for jobs: a profile derived from src (default
// DefaultSeccompProfile) written into dir, or "" (podman's built-in profile) where src does not exist.
func seccompOption(src, dir string) (string, error) {
	explicit := src != ""
	if !explicit {
		src = DefaultSeccompProfile
	}
	dst := dir + "/seccomp.json"
	err := deriveSeccompProfile(src, dst)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return "seccomp=" + dst, nil
}
