package kubeexec

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/runplane/runplane/api"
)

// applyContainerKube applies a container's pod-only settings (a Kratix pipeline container's) to c: env valueFrom
// entries after its env, envFrom, volume mounts after runplane's, its securityContext instead of the hardened
// default, its pull policy and its resources instead of the task's.
func applyContainerKube(c *corev1.Container, k *api.ContainerKubernetes) error {
	if k == nil {
		return nil
	}
	if len(k.Env) > 0 {
		env := make([]corev1.EnvVar, 0, len(c.Env)+len(k.Env))
		set := map[string]bool{}
		for _, v := range k.Env {
			set[v.Name] = true
		}
		for _, v := range c.Env {
			if !set[v.Name] {
				env = append(env, v)
			}
		}
		for _, v := range k.Env {
			var src corev1.EnvVarSource
			if err := json.Unmarshal(v.ValueFrom, &src); err != nil {
				return fmt.Errorf("kubernetes.env %s valueFrom: %w", v.Name, err)
			}
			env = append(env, corev1.EnvVar{Name: v.Name, ValueFrom: &src})
		}
		c.Env = env
	}
	if len(k.EnvFrom) > 0 {
		if err := json.Unmarshal(k.EnvFrom, &c.EnvFrom); err != nil {
			return fmt.Errorf("kubernetes.envFrom: %w", err)
		}
	}
	if len(k.VolumeMounts) > 0 {
		var mounts []corev1.VolumeMount
		if err := json.Unmarshal(k.VolumeMounts, &mounts); err != nil {
			return fmt.Errorf("kubernetes.volumeMounts: %w", err)
		}
		c.VolumeMounts = append(append([]corev1.VolumeMount(nil), c.VolumeMounts...), mounts...)
	}
	if len(k.SecurityContext) > 0 {
		var sc corev1.SecurityContext
		if err := json.Unmarshal(k.SecurityContext, &sc); err != nil {
			return fmt.Errorf("kubernetes.securityContext: %w", err)
		}
		c.SecurityContext = &sc
	}
	if k.ImagePullPolicy != "" {
		c.ImagePullPolicy = corev1.PullPolicy(k.ImagePullPolicy)
	}
	if k.Resources != nil {
		r, err := resourcesOf(k.Resources)
		if err != nil {
			return err
		}
		c.Resources = r
	}
	return nil
}

// extraVolumes are a task's kubernetes.volumes, for its containers' volume mounts.
func extraVolumes(k *api.TaskKubernetes) ([]corev1.Volume, error) {
	if k == nil || len(k.Volumes) == 0 {
		return nil, nil
	}
	var vols []corev1.Volume
	if err := json.Unmarshal(k.Volumes, &vols); err != nil {
		return nil, fmt.Errorf("kubernetes.volumes: %w", err)
	}
	return vols, nil
}
