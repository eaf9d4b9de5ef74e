package api

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestContainerKubernetesValidate(t *testing.T) {
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	tests := []struct {
		name string
		k    *ContainerKubernetes
		err  string // substring; "" for valid
	}{
		{name: "none", k: nil},
		{name: "all of it", k: &ContainerKubernetes{
			Env:             []KubeEnvVar{{Name: "TOKEN", ValueFrom: raw(`{"secretKeyRef":{"name":"s","key":"k"}}`)}},
			EnvFrom:         raw(`[{"configMapRef":{"name":"c"}}]`),
			VolumeMounts:    raw(`[{"name":"templates","mountPath":"/templates","readOnly":true}]`),
			SecurityContext: raw(`{"runAsNonRoot":true}`),
			ImagePullPolicy: PullNever,
			Resources:       &ResourceRequirements{Requests: map[string]string{"cpu": "100m", "ephemeral-storage": "128Mi"}},
		}},
		{name: "valueFrom missing", k: &ContainerKubernetes{Env: []KubeEnvVar{{Name: "A"}}}, err: "containers[0].kubernetes.env[0].valueFrom: required"},
		{name: "value here", k: &ContainerKubernetes{Env: []KubeEnvVar{{Name: "A", Value: "x", ValueFrom: raw(`{}`)}}}, err: "only valueFrom"},
		{name: "valueFrom a list", k: &ContainerKubernetes{Env: []KubeEnvVar{{Name: "A", ValueFrom: raw(`[]`)}}}, err: "env[0].valueFrom: want an object"},
		{name: "name set in env too", k: &ContainerKubernetes{Env: []KubeEnvVar{{Name: "PLAIN", ValueFrom: raw(`{}`)}}}, err: "PLAIN is set twice"},
		{name: "reserved name", k: &ContainerKubernetes{Env: []KubeEnvVar{{Name: "RUNPLANE_X", ValueFrom: raw(`{}`)}}}, err: "reserved"},
		{name: "envFrom an object", k: &ContainerKubernetes{EnvFrom: raw(`{"a":1}`)}, err: "kubernetes.envFrom: want a list"},
		{name: "envFrom not JSON", k: &ContainerKubernetes{EnvFrom: raw(`[`)}, err: "kubernetes.envFrom: want a list"},
		{name: "securityContext a list", k: &ContainerKubernetes{SecurityContext: raw(`[]`)}, err: "securityContext: want an object"},
		{name: "mount without name", k: &ContainerKubernetes{VolumeMounts: raw(`[{"mountPath":"/x"}]`)}, err: "volumeMounts[0].name: required"},
		{name: "mount relative", k: &ContainerKubernetes{VolumeMounts: raw(`[{"name":"v","mountPath":"x"}]`)}, err: "volumeMounts[0].mountPath: want an absolute path"},
		{name: "mount at the root", k: &ContainerKubernetes{VolumeMounts: raw(`[{"name":"v","mountPath":"/"}]`)}, err: "not the root directory"},
		{name: "mount over /kratix/input", k: &ContainerKubernetes{VolumeMounts: raw(`[{"name":"v","mountPath":"/kratix/input/"}]`)}, err: "runplane mounts /kratix itself"},
		{name: "mount over /etc/secret", k: &ContainerKubernetes{VolumeMounts: raw(`[{"name":"v","mountPath":"/etc/secret"}]`)}, err: "runplane mounts /etc/secret itself"},
		{name: "mount beside /tmp is fine", k: &ContainerKubernetes{VolumeMounts: raw(`[{"name":"v","mountPath":"/tmpfiles"}]`)}},
		{name: "pull policy", k: &ContainerKubernetes{ImagePullPolicy: "Sometimes"}, err: "kubernetes.imagePullPolicy"},
		{name: "resources", k: &ContainerKubernetes{Resources: &ResourceRequirements{Limits: map[string]string{"cpu": "lots"}}}, err: "containers[0].kubernetes.resources.limits.cpu"},
		{name: "too large", k: &ContainerKubernetes{SecurityContext: raw(`{"a":"` + strings.Repeat("x", 70<<10) + `"}`)}, err: "more than 64 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs := []Container{{Name: "c", Image: "img", Env: EnvVars{{Name: "PLAIN", Value: "v"}}, Kubernetes: tt.k}}
			err := ValidateContainers("containers", cs)
			if tt.err == "" {
				if err != nil {
					t.Fatalf("ValidateContainers = %v, want valid", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("ValidateContainers err = %v, want %q", err, tt.err)
			}
		})
	}
}

func TestNeedsPod(t *testing.T) {
	tests := []struct {
		k    *ContainerKubernetes
		want string
	}{
		{nil, ""},
		{&ContainerKubernetes{ImagePullPolicy: PullAlways, SecurityContext: json.RawMessage(`{}`), Resources: &ResourceRequirements{}}, ""},
		{&ContainerKubernetes{Env: []KubeEnvVar{{Name: "T", ValueFrom: json.RawMessage(`{}`)}}}, "env T valueFrom"},
		{&ContainerKubernetes{EnvFrom: json.RawMessage(`[]`)}, "envFrom"},
		{&ContainerKubernetes{VolumeMounts: json.RawMessage(`[]`)}, "volumeMounts"},
	}
	for _, tt := range tests {
		if got := tt.k.NeedsPod(); got != tt.want {
			t.Errorf("NeedsPod(%+v) = %q, want %q", tt.k, got, tt.want)
		}
	}
}

func TestTaskKubernetesVolumes(t *testing.T) {
	tests := []struct {
		volumes string
		err     string
	}{
		{`[{"name":"templates","configMap":{"name":"t"}},{"name":"cache","emptyDir":{}}]`, ""},
		{`{"name":"x"}`, "kubernetes.volumes: want a list"},
		{`[{"configMap":{}}]`, `kubernetes.volumes[0].name "": want a DNS label`},
		{`[{"name":"Bad_Name"}]`, "want a DNS label"},
		{`[{"name":"input","emptyDir":{}}]`, `kubernetes.volumes[0].name "input": runplane names a volume of its own so`},
		{`[{"name":"a"},{"name":"a"}]`, `kubernetes.volumes[1].name "a": used twice`},
	}
	for _, tt := range tests {
		k := &TaskKubernetes{Volumes: json.RawMessage(tt.volumes)}
		err := k.Validate()
		if (tt.err == "" && err != nil) || (tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err))) {
			t.Errorf("Validate(volumes %s) = %v, want %q", tt.volumes, err, tt.err)
		}
		if k.IsZero() {
			t.Errorf("IsZero with volumes %s = true", tt.volumes)
		}
	}
}

func FuzzContainerKubernetes(f *testing.F) {
	f.Add([]byte(`{"env":[{"name":"T","valueFrom":{"secretKeyRef":{}}}],"envFrom":[],"volumeMounts":[{"name":"v","mountPath":"/x"}]}`))
	f.Add([]byte(`{"volumeMounts":[{"name":1,"mountPath":["/"]}],"securityContext":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var k ContainerKubernetes
		if json.Unmarshal(b, &k) != nil {
			return
		}
		err := ValidateContainers("containers", []Container{{Name: "c", Image: "i", Kubernetes: &k}})
		if err != nil && !strings.Contains(err.Error(), "containers[0]") {
			t.Fatalf("ValidateContainers(kubernetes %s) = %v: does not name the field", b, err)
		}
	})
}
