package kubesecret_test

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/runplane/runplane/internal/kubesecret"
	"github.com/runplane/runplane/internal/kubetest/apiserver"
)

// TestReader reads Secrets of a real API server; what is missing is an ErrNotFound naming the Secret and key,
// never a value.
func TestReader(t *testing.T) {
	kube := apiserver.Start(t)
	ctx := t.Context()
	const value = "the-Secret-value-9"
	cs := kube.Clientset(t, "platform")
	if _, err := cs.CoreV1().Secrets("platform").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "git"},
		Data: map[string][]byte{"password": []byte(value)}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := kubesecret.New(cs.CoreV1())
	if got, err := r.Key(ctx, "platform", "git", "password"); err != nil || got != value {
		t.Fatalf("Key(platform/git, password) = %q, %v; want the value", got, err)
	}
	if data, err := r.Data(ctx, "platform", "git"); err != nil || string(data["password"]) != value {
		t.Fatalf("Data(platform/git) = %v, %v; want its data", data, err)
	}
	for _, tt := range []struct {
		name, ns, secret, key, want string
	}{
		{"no such secret", "platform", "nope", "password", "secret platform/nope not found"},
		{"no such namespace", "elsewhere", "git", "password", "secret elsewhere/git not found"},
		{"no such key", "platform", "git", "token", `secret platform/git has no key "token"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.Key(ctx, tt.ns, tt.secret, tt.key)
			if err == nil || err.Error() != tt.want || !errors.Is(err, kubesecret.ErrNotFound) || strings.Contains(err.Error(), value) {
				t.Fatalf("Key(%s/%s, %s) = %v; want %q (ErrNotFound)", tt.ns, tt.secret, tt.key, err, tt.want)
			}
		})
	}
}
