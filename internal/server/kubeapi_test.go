package server

import "testing"

// TestKubeAPIEnv: RUNPLANE_KUBE_API and RUNPLANE_INSTALL_CRDS turn the Kubernetes-native API on; anything but a
// boolean is refused, naming the variable.
func TestKubeAPIEnv(t *testing.T) {
	tests := []struct {
		name             string
		env              map[string]string
		kubeAPI, install bool
		wantErr          bool
	}{
		{"unset", nil, false, false, false},
		{"kube api", map[string]string{"RUNPLANE_KUBE_API": "true"}, true, false, false},
		{"install crds", map[string]string{"RUNPLANE_INSTALL_CRDS": "1"}, false, true, false},
		{"not a boolean", map[string]string{"RUNPLANE_KUBE_API": "yes please"}, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			err := c.LoadEnv(func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			if (err != nil) != tt.wantErr {
				t.Fatalf("LoadEnv(%v) = %v, want error %v", tt.env, err, tt.wantErr)
			}
			if err == nil && (c.KubeAPI != tt.kubeAPI || c.InstallCRDs != tt.install) {
				t.Errorf("LoadEnv(%v): KubeAPI %v, InstallCRDs %v; want %v, %v", tt.env, c.KubeAPI, c.InstallCRDs, tt.kubeAPI, tt.install)
			}
		})
	}
}
