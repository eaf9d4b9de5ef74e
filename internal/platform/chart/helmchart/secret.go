package helmchart

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/runplane/runplane/api"
)

// SecretPassword resolves passwordRef from a Kubernetes Secret, as core-provider does, when the server runs with a
// cluster: passwordRef.name the Secret, .key its key, in the definition's own namespace (a passwordRef naming
// another namespace is refused: a definition's writer chooses where the password is sent, so it must not reach
// Secrets outside the namespace it writes in). Errors name the Secret and key, never the value.
func SecretPassword(cs kubernetes.Interface) Password {
	return func(ctx context.Context, ref api.SecretKeySelector, namespace string) (string, error) {
		if ref.Namespace != "" && ref.Namespace != namespace {
			return "", fmt.Errorf("passwordRef names a Secret in namespace %q: it must be in the definition's namespace %q", ref.Namespace, namespace)
		}
		s, err := cs.CoreV1().Secrets(namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return "", fmt.Errorf("secret %s/%s not found", namespace, ref.Name)
		}
		if err != nil {
			return "", fmt.Errorf("read secret %s/%s: %w", namespace, ref.Name, err)
		}
		v, ok := s.Data[ref.Key]
		if !ok {
			return "", fmt.Errorf("secret %s/%s has no key %q", namespace, ref.Name, ref.Key)
		}
		return string(v), nil
	}
}
