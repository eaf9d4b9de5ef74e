package helmchart_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/runplane/runplane/api"
	"github.com/runplane/runplane/internal/kubetest/apiserver"
	"github.com/runplane/runplane/internal/platform/chart/helmchart"
)

// TestSecretPassword: with a cluster, passwordRef is a Kubernetes Secret of the definition's namespace; what cannot
// be read is an error that names the Secret, never a value.
func TestSecretPassword(t *testing.T) {
	kube := apiserver.Start(t)
	ctx := t.Context()
	const secret = "the-registry-Pa55"
	cs := kube.Clientset(t, "krateo-system", "other")
	for _, ns := range []string{"krateo-system", "other"} {
		if _, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "registry"},
			Data: map[string][]byte{"password": []byte(secret)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	pw := helmchart.SecretPassword(cs)
	tests := []struct {
		name    string
		ref     api.SecretKeySelector
		want    string
		wantErr string
	}{
		{"in the definition's namespace", api.SecretKeySelector{Name: "registry", Namespace: "krateo-system", Key: "password"}, secret, ""},
		{"no namespace given", api.SecretKeySelector{Name: "registry", Key: "password"}, secret, ""},
		{"another namespace", api.SecretKeySelector{Name: "registry", Namespace: "other", Key: "password"}, "", `in namespace "other"`},
		{"no such secret", api.SecretKeySelector{Name: "nope", Key: "password"}, "", "secret krateo-system/nope not found"},
		{"no such key", api.SecretKeySelector{Name: "registry", Key: "token"}, "", `has no key "token"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pw(ctx, tt.ref, "krateo-system")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), secret) {
					t.Fatalf("password(%+v) = %v, want an error containing %q and no value", tt.ref, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("password(%+v) = %q, %v; want the Secret's value", tt.ref, got, err)
			}
		})
	}
}
