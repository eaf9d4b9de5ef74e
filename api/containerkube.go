package api

import (
	"encoding/json"
	"fmt"
	"strings"
)

// ContainerKubernetes are a container's settings that only a pod can take, spelled as in a pod spec: a Kratix
// pipeline's container carries them. The Kubernetes executor applies them to the container; the local and podman
// executors refuse a job whose containers need what they cannot give (env valueFrom, envFrom, volumeMounts) and
// ignore the rest (securityContext, imagePullPolicy, resources), as they ignore a task's kubernetes settings.
type ContainerKubernetes struct {
	// Env are environment variables set from elsewhere (valueFrom: corev1.EnvVarSource), after the container's env.
	Env []KubeEnvVar `json:"env,omitempty"`
	// EnvFrom ([]corev1.EnvFromSource), VolumeMounts ([]corev1.VolumeMount, naming the task's kubernetes.volumes)
	// and SecurityContext (corev1.SecurityContext, replacing runplane's hardened default) go to the pod as written.
	EnvFrom         json.RawMessage       `json:"envFrom,omitempty"`
	VolumeMounts    json.RawMessage       `json:"volumeMounts,omitempty"`
	SecurityContext json.RawMessage       `json:"securityContext,omitempty"`
	ImagePullPolicy string                `json:"imagePullPolicy,omitempty"`
	Resources       *ResourceRequirements `json:"resources,omitempty"`
}

// maxRawKube bounds each raw pod-spec field of a container or task.
const maxRawKube = 64 << 10

// reservedMounts are the paths runplane mounts in a job's containers: a volume mount may not be at or under one.
var reservedMounts = []string{"/runplane", "/run/runplane", "/kratix", "/keptn", "/etc/secret", "/workspace", "/tmp"}

// NeedsPod reports what of k only a pod can give ("" for nothing): env valueFrom, envFrom or volumeMounts.
func (k *ContainerKubernetes) NeedsPod() string {
	switch {
	case k == nil:
		return ""
	case len(k.Env) > 0:
		return "env " + k.Env[0].Name + " valueFrom"
	case len(k.EnvFrom) > 0:
		return "envFrom"
	case len(k.VolumeMounts) > 0:
		return "volumeMounts"
	}
	return ""
}

// validate checks k; at names the container ("containers[0]"); env are the names the container's env sets.
func (k *ContainerKubernetes) validate(at string, env EnvVars) error {
	if k == nil {
		return nil
	}
	at += ".kubernetes"
	seen := map[string]bool{}
	for _, v := range env {
		seen[v.Name] = true
	}
	for i, v := range k.Env {
		if err := ValidateEnvName(v.Name); err != nil {
			return Invalidf("%s.env[%d]: %s", at, i, err.Error())
		}
		if seen[v.Name] {
			return Invalidf("%s.env[%d]: %s is set twice", at, i, v.Name)
		}
		seen[v.Name] = true
		if v.Value != "" {
			return Invalidf("%s.env[%d]: set a value in the container's env; here only valueFrom", at, i)
		}
		if err := rawKind(v.ValueFrom, '{', fmt.Sprintf("%s.env[%d].valueFrom", at, i), "an object such as {\"secretKeyRef\": {...}}"); err != nil {
			return err
		}
		if len(v.ValueFrom) == 0 {
			return Invalidf("%s.env[%d].valueFrom: required", at, i)
		}
	}
	if err := rawKind(k.EnvFrom, '[', at+".envFrom", "a list such as [{\"secretRef\": {\"name\": ...}}]"); err != nil {
		return err
	}
	if err := rawKind(k.SecurityContext, '{', at+".securityContext", "an object"); err != nil {
		return err
	}
	if err := validateMounts(at+".volumeMounts", k.VolumeMounts); err != nil {
		return err
	}
	switch k.ImagePullPolicy {
	case "", PullAlways, PullIfNotPresent, PullNever:
	default:
		return Invalidf("%s.imagePullPolicy %q: want Always, IfNotPresent or Never", at, clip(k.ImagePullPolicy))
	}
	if r := k.Resources; r != nil {
		if err := r.validate(at+".resources", isResourceName, kubeResourceNames); err != nil {
			return err
		}
	}
	return nil
}

// rawKind checks a raw pod-spec field: empty, or JSON of the kind that starts with open, at most maxRawKube bytes.
func rawKind(raw json.RawMessage, open byte, at, want string) error {
	if len(raw) == 0 {
		return nil
	}
	if len(raw) > maxRawKube {
		return Invalidf("%s: more than %d KiB", at, maxRawKube>>10)
	}
	t := strings.TrimSpace(string(raw))
	if t == "" || t[0] != open || !json.Valid(raw) {
		return Invalidf("%s: want %s", at, want)
	}
	return nil
}

// validateMounts checks volume mounts: a list of {name, mountPath, ...}, the path absolute and none of runplane's.
func validateMounts(at string, raw json.RawMessage) error {
	if err := rawKind(raw, '[', at, "a list of {name, mountPath}"); err != nil || len(raw) == 0 {
		return err
	}
	var mounts []map[string]any
	if err := json.Unmarshal(raw, &mounts); err != nil {
		return Invalidf("%s: want a list of {name, mountPath}", at)
	}
	for i, m := range mounts {
		name, _ := m["name"].(string)
		path, _ := m["mountPath"].(string)
		if name == "" {
			return Invalidf("%s[%d].name: required", at, i)
		}
		if !strings.HasPrefix(path, "/") {
			return Invalidf("%s[%d].mountPath: want an absolute path", at, i)
		}
		p := strings.TrimRight(path, "/")
		if p == "" {
			return Invalidf("%s[%d].mountPath: not the root directory", at, i)
		}
		for _, r := range reservedMounts {
			if p == r || strings.HasPrefix(p, r+"/") {
				return Invalidf("%s[%d].mountPath %q: runplane mounts %s itself", at, i, clip(path), r)
			}
		}
	}
	return nil
}

// reservedVolumes are the names of the volumes runplane gives a job's pod.
var reservedVolumes = []string{"workspace", "tools", "tmp", "secret", "secret-src", "input", "input-src", "output", "metadata", "steps"}

// validateVolumes checks a task's kubernetes.volumes: a list of {name, <source>}, names unique and none of runplane's.
func validateVolumes(raw json.RawMessage) error {
	const at = kubePathPrefix + "volumes"
	if err := rawKind(raw, '[', at, "a list of Kubernetes volumes"); err != nil || len(raw) == 0 {
		return err
	}
	var vols []map[string]any
	if err := json.Unmarshal(raw, &vols); err != nil {
		return Invalidf("%s: want a list of Kubernetes volumes", at)
	}
	seen := map[string]bool{}
	for i, v := range vols {
		name, _ := v["name"].(string)
		if !dnsLabelRe.MatchString(name) || len(name) > 63 {
			return Invalidf("%s[%d].name %q: want a DNS label: lowercase letters, digits and '-', at most 63 characters", at, i, clip(name))
		}
		for _, r := range reservedVolumes {
			if name == r {
				return Invalidf("%s[%d].name %q: runplane names a volume of its own so", at, i, name)
			}
		}
		if seen[name] {
			return Invalidf("%s[%d].name %q: used twice", at, i, name)
		}
		seen[name] = true
	}
	return nil
}
